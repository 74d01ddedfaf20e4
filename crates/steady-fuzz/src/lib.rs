//! One entry point per parser that reads input from people, scripts or servers.
//!
//! Each `fn(&[u8])` feeds arbitrary bytes to one parser and asserts what must hold for
//! any input: no panic, a result within its documented bounds, and an error message
//! that says what is wrong. The same functions run under three drivers:
//! - `fuzz/fuzz_targets/*.rs`: cargo fuzz (libFuzzer), to explore;
//! - `tests/corpus.rs`: every file of `fuzz/corpus/<target>/` replayed as a plain
//!   test, so a regression is caught in CI without a fuzzer;
//! - `tests/properties.rs`: proptest, for structured inputs.
//!
//! The request-item parser lives in the `steady` binary; it is included here by path
//! (it depends on nothing but serde_json), so the fuzzer tests the very same code.

use std::time::{Duration, SystemTime};

#[allow(dead_code)]
#[path = "../../steady-cli/src/items.rs"]
mod items;

/// One target: arbitrary bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets, by name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus
/// folders).
pub const TARGETS: &[(&str, Target)] = &[
    ("duration", duration),
    ("size", size),
    ("rate", rate),
    ("retry_after", retry_after),
    ("rate_limit_headers", rate_limit_headers),
    ("expectation", expectation),
    ("batch_line", batch_line),
    ("request_item", request_item),
    ("chaos_config", chaos_config),
    ("content_decoding", content_decoding),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn explained(message: &str) {
    assert!(!message.trim().is_empty(), "an error without a message");
}

/// `--timeout 2m`, per-line `timeout`, chaos durations.
pub fn duration(data: &[u8]) {
    let Some(s) = text(data) else { return };
    match steady::duration::parse_duration(s) {
        Ok(d) => assert!(
            d <= Duration::from_secs(10 * 365 * 86_400),
            "{s:?} -> {d:?}"
        ),
        Err(e) => explained(&e),
    }
    if let Err(e) = steady_chaos::fault::parse_duration(s) {
        explained(&e);
    }
}

/// `--max-body 100MiB`.
pub fn size(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Err(e) = steady::duration::parse_size(s) {
        explained(&e);
    }
}

/// `--rate 10/s`.
pub fn rate(data: &[u8]) {
    let Some(s) = text(data) else { return };
    match s.parse::<steady::Rate>() {
        Ok(r) => {
            let shown = r.to_string();
            let again: steady::Rate = shown.parse().expect("a rate prints as it parses");
            assert_eq!(again.to_string(), shown);
        }
        Err(e) => explained(&e),
    }
}

/// `Retry-After` from a server: seconds, HTTP dates, and garbage.
pub fn retry_after(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_354_380);
    match steady::retry::parse_retry_after(s, now) {
        steady::retry::RetryAfter::Wait(_) => {}
        steady::retry::RetryAfter::Invalid(why) => explained(&why),
    }
}

/// `X-RateLimit-*`, `RateLimit`, `RateLimit-Policy` from a server: the input is
/// `name: value` lines and a status.
pub fn rate_limit_headers(data: &[u8]) {
    let Some((&status, rest)) = data.split_first() else {
        return;
    };
    let status = if status % 2 == 0 { 429 } else { 200 };
    let mut headers = reqwest::header::HeaderMap::new();
    for line in rest.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(&line[..colon]),
            reqwest::header::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let now_ms = 1_795_354_380_000;
    let _ = steady::rate::parse_rate_limit_headers(status, &headers, now_ms, None);
    let _ = steady::rate::parse_rate_limit_headers(
        status,
        &headers,
        now_ms,
        Some(Duration::from_secs(2)),
    );
}

/// `--expect '$.items count >= 1'`: parsed, then checked against a few documents.
pub fn expectation(data: &[u8]) {
    let Some(s) = text(data) else { return };
    match steady::semantic::Expectation::parse(s) {
        Ok(e) => {
            for doc in [
                serde_json::json!({"items": [1, 2, 3], "name": "anvil", "ok": true}),
                serde_json::json!([{"a": null}, "x", 1.5]),
                serde_json::json!(null),
            ] {
                if let Err(why) = e.check(&doc) {
                    explained(&why);
                }
            }
        }
        Err(e) => explained(&e),
    }
}

/// One JSONL line of `steady batch`.
pub fn batch_line(data: &[u8]) {
    let Some(s) = text(data) else { return };
    match steady_batch::input::parse_line(s, 7) {
        Ok(Some(item)) => {
            assert!(!item.url.is_empty());
            assert!(!item.method.is_empty());
        }
        Ok(None) => assert!(
            s.trim().is_empty() || s.trim().starts_with('#'),
            "only blank and comment lines are skipped: {s:?}"
        ),
        Err(e) => explained(&e),
    }
}

/// `Name:Value`, `q==v`, `f=v`, `f:=json` after the URL.
pub fn request_item(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Err(e) = items::parse(s) {
        explained(&e);
    }
}

/// `steady chaos --config FILE` (TOML) and `--fault SPEC`.
pub fn chaos_config(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Err(e) = steady_chaos::ChaosConfig::from_toml(s) {
        explained(&e);
    }
    if let Err(e) = steady_chaos::fault::parse(s) {
        explained(&e);
    }
}

/// A response body with a `Content-Encoding`: the first line is the header value,
/// the rest the body; the decoded size never passes the limit.
pub fn content_decoding(data: &[u8]) {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Some(encoding) = text(&data[..split]) else {
        return;
    };
    let body = data.get(split + 1..).unwrap_or(&[]);
    for coding in [encoding, "gzip", "deflate", "br", "zstd", "gzip, br"] {
        match steady::decode::decode(coding, body, 64 * 1024) {
            Ok(out) => assert!(out.len() <= 64 * 1024),
            Err(e) => explained(&e),
        }
    }
}
