//! `--metrics FILE`: Prometheus' text exposition, counting what the server saw.

mod support;

use std::collections::HashSet;
use std::sync::Mutex;

use steady_chaos::{Reply, ScriptServer};
use support::batch::dir;
use support::steady;

/// The file's samples: (name, labels, value), every line checked for the format.
fn samples(text: &str) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("TYPE ") || rest.starts_with("HELP "),
                "a comment that is neither TYPE nor HELP: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample: series and value");
        let value: f64 = value.parse().expect("a number");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "a Prometheus metric name: {name}"
        );
        out.push((name.to_owned(), labels.to_owned(), value));
    }
    out
}

#[test]
fn a_metrics_file_parses_as_prometheus_text_and_counts_every_attempt_of_a_batch() {
    // Every third item fails once (503), then answers.
    let seen = Mutex::new(HashSet::new());
    let server = ScriptServer::builder()
        .route_fn("/x", move |r| {
            let first = seen.lock().unwrap().insert(r.target.clone());
            let n: u32 = r
                .query()
                .and_then(|q| q.strip_prefix("n="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if first && n.is_multiple_of(3) {
                Reply::status(503)
            } else {
                Reply::json(200, "{}")
            }
        })
        .start();
    let d = dir("metrics");
    let input = d.join("in.jsonl");
    let lines: Vec<String> = (1..=30)
        .map(|n| format!(r#"{{"url": "{}"}}"#, server.url(&format!("/x?n={n}"))))
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let metrics = d.join("steady.prom");
    let out = steady(&[
        "batch",
        input.to_str().unwrap(),
        "--db",
        d.join("r.db").to_str().unwrap(),
        "--backoff",
        "1ms",
        "--quiet",
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("# TYPE http_client_request_duration_seconds histogram"),
        "{text}"
    );
    let samples = samples(&text);
    let attempts: f64 = samples
        .iter()
        .filter(|(n, _, _)| n == "http_client_request_duration_seconds_count")
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(
        attempts as usize,
        server.total_hits(),
        "every attempt counted"
    );
    assert_eq!(server.total_hits(), 40, "30 items, 10 of them twice");
    let failed: f64 = samples
        .iter()
        .filter(|(n, l, _)| {
            n == "http_client_request_duration_seconds_count"
                && l.contains("http_response_status_code=\"503\"")
        })
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(failed, 10.0);
    let retries: f64 = samples
        .iter()
        .filter(|(n, _, _)| n == "steady_client_retries_total")
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(retries, 10.0);
    // Written atomically: no temporary file left beside it.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_metrics_file_in_a_folder_that_does_not_exist_is_refused_before_sending() {
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    let out = steady(&[
        "get",
        &server.url("/x"),
        "--metrics",
        "/nonexistent-folder/steady.prom",
    ]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert_eq!(server.total_hits(), 0);
}
