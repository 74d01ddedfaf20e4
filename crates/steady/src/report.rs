//! The outcome of a call as one JSON object: the stable schema of `steady --format json`,
//! reused for batch results.
//!
//! ```json
//! {
//!   "ok": false,
//!   "layer": "http",
//!   "method": "GET",
//!   "url": "http://127.0.0.1:8080/items?api_key=****",
//!   "status": 503,
//!   "attempts": 4,
//!   "elapsed_ms": 7012,
//!   "source": "network",
//!   "error": {"kind": "server_error", "message": "HTTP 503 Service Unavailable",
//!             "server_message": "overloaded", "hint": "...", "stop_reason": "retries_exhausted",
//!             "stop": "all 3 retries used", "retryable": true},
//!   "attempt_log": [{"attempt": 1, "started_ms": 0, "duration_ms": 3, "outcome": "503 Service Unavailable",
//!                    "status": 503, "fault": null, "layer": "http", "decision": "retry",
//!                    "wait_ms": 1000, "wait_reason": "backoff", "stop_reason": null, "note": null}],
//!   "guard_log": [{"at_ms": 3, "guard": "server_limit", "wait_ms": null,
//!                  "message": "host paused: the server answered 429 with Retry-After: 2s"}],
//!   "content_type": "application/json",
//!   "body": {"error": "overloaded"}
//! }
//! ```
//!
//! `layer` is `null` on success, else `transport`, `http`, `semantic`, `guard` or
//! `usage`. `body` is the parsed JSON when the body is JSON, a string when it is
//! text, and `null` when there is none (or it is binary: `body_bytes` gives its size).
//! Every credential the request carried is replaced by `****` throughout.

use serde_json::{json, Map, Value};

use crate::attempt::{Attempt, Decision, WaitReason};
use crate::redact::Scrubber;
use crate::{Error, Response};

/// The outcome of a call as a JSON value; see the [module docs](self) for the schema.
pub fn outcome_json(result: Result<&Response, &Error>) -> Value {
    let mut out = Map::new();
    match result {
        Ok(resp) => {
            let scrubber = resp.scrubber();
            out.insert("ok".into(), json!(true));
            out.insert("layer".into(), Value::Null);
            out.insert("method".into(), json!(resp.method().as_str()));
            out.insert("url".into(), json!(scrubber.url(resp.url())));
            out.insert("status".into(), json!(resp.status().as_u16()));
            out.insert("attempts".into(), json!(resp.attempts()));
            out.insert(
                "elapsed_ms".into(),
                json!(resp.elapsed().as_millis() as u64),
            );
            out.insert("source".into(), json!("network"));
            out.insert("error".into(), Value::Null);
            out.insert("attempt_log".into(), attempt_log(resp.attempt_log()));
            out.insert("guard_log".into(), guard_log(resp.guard_log()));
            insert_body(&mut out, resp.content_type(), resp.bytes(), scrubber);
        }
        Err(err) => {
            let scrubber = err.scrubber();
            out.insert("ok".into(), json!(false));
            out.insert("layer".into(), json!(err.layer().name()));
            out.insert("method".into(), json!(err.method().map(|m| m.as_str())));
            out.insert("url".into(), json!(err.url()));
            out.insert("status".into(), json!(err.status().map(|s| s.as_u16())));
            out.insert("attempts".into(), json!(err.attempts()));
            out.insert("elapsed_ms".into(), json!(err.elapsed().as_millis() as u64));
            out.insert("source".into(), json!("network"));
            out.insert(
                "error".into(),
                json!({
                    "kind": err.kind(),
                    "message": err.what(),
                    "server_message": err.server_message(),
                    "hint": err.hint(),
                    "stop_reason": err.stop_reason().map(|r| r.name()),
                    "stop": err.stop_reason().map(|r| r.to_string()),
                    "retryable": err.is_retryable(),
                }),
            );
            out.insert("attempt_log".into(), attempt_log(err.attempt_log()));
            out.insert("guard_log".into(), guard_log(err.guard_log()));
            let content_type = err
                .headers()
                .and_then(|h| h.get(reqwest::header::CONTENT_TYPE))
                .and_then(|v| v.to_str().ok());
            match err.body() {
                Some(body) => insert_body(&mut out, content_type, body, scrubber),
                None => {
                    out.insert("content_type".into(), Value::Null);
                    out.insert("body".into(), Value::Null);
                }
            }
        }
    }
    Value::Object(out)
}

/// The outcome of a call with fallbacks: the response's JSON with `source`,
/// `stale_age_s` (from the cache), `fallback_url` and `degraded_by` (the failure that
/// made the fallback necessary: `layer`, `status`, `kind`, `message`, `server_message`,
/// `attempts`).
pub fn fallback_outcome_json(outcome: &crate::fallback::Outcome) -> Value {
    let mut value = outcome_json(Ok(outcome.response()));
    let Value::Object(map) = &mut value else {
        return value;
    };
    map.insert("source".into(), json!(outcome.source().name()));
    if let crate::fallback::Source::Cache { age } = outcome.source() {
        map.insert("stale_age_s".into(), json!(age.as_secs()));
    }
    if let crate::fallback::Source::Alternative { url } = outcome.source() {
        map.insert("fallback_url".into(), json!(url));
    }
    if let Some(err) = outcome.degraded_by() {
        map.insert("attempts".into(), json!(err.attempts()));
        map.insert("attempt_log".into(), attempt_log(err.attempt_log()));
        map.insert(
            "degraded_by".into(),
            json!({
                "layer": err.layer().name(),
                "status": err.status().map(|s| s.as_u16()),
                "kind": err.kind(),
                "message": err.what(),
                "server_message": err.server_message(),
                "attempts": err.attempts(),
            }),
        );
    }
    value
}

fn attempt_log(attempts: &[Attempt]) -> Value {
    Value::Array(
        attempts
            .iter()
            .map(|a| {
                let (decision, wait_ms, wait_reason, stop_reason) = match a.decision() {
                    Decision::Done => ("done", None, None, None),
                    Decision::Retry { wait, reason } => (
                        "retry",
                        Some(wait.as_millis() as u64),
                        Some(match reason {
                            WaitReason::Backoff => "backoff",
                            WaitReason::RetryAfter => "retry_after",
                        }),
                        None,
                    ),
                    Decision::Stop(reason) => ("stop", None, None, Some(reason.name())),
                };
                json!({
                    "attempt": a.number(),
                    "started_ms": a.started().as_millis() as u64,
                    "duration_ms": a.duration().as_millis() as u64,
                    "outcome": a.outcome(),
                    "status": a.status().map(|s| s.as_u16()),
                    "fault": a.fault().map(|f| f.name()),
                    "layer": a.layer().map(|l| l.name()),
                    "url": a.url(),
                    "decision": decision,
                    "why": a.why(),
                    "wait_ms": wait_ms,
                    "wait_reason": wait_reason,
                    "stop_reason": stop_reason,
                    "note": a.note(),
                })
            })
            .collect(),
    )
}

fn guard_log(events: &[crate::guard::GuardEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                json!({
                    "at_ms": e.at().as_millis() as u64,
                    "guard": e.guard().name(),
                    "wait_ms": e.wait().map(|w| w.as_millis() as u64),
                    "message": e.message(),
                })
            })
            .collect(),
    )
}

fn insert_body(
    out: &mut Map<String, Value>,
    content_type: Option<&str>,
    body: &[u8],
    scrubber: &Scrubber,
) {
    out.insert("content_type".into(), json!(content_type));
    let value = if body.is_empty() {
        Value::Null
    } else if let Ok(mut value) = serde_json::from_slice::<Value>(body) {
        scrub_value(&mut value, scrubber);
        value
    } else if let Ok(text) = std::str::from_utf8(body) {
        json!(scrubber.scrub(text))
    } else {
        out.insert("body_bytes".into(), json!(body.len()));
        Value::Null
    };
    out.insert("body".into(), value);
}

fn scrub_value(value: &mut Value, scrubber: &Scrubber) {
    match value {
        Value::String(s) => {
            let clean = scrubber.scrub(s);
            if clean != *s {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, scrubber)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_value(v, scrubber)),
        _ => {}
    }
}
