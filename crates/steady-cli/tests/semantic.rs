//! The semantic layer and fallbacks from the command line.

mod support;

use steady_chaos::{Reply, ScriptServer};
use support::steady;

#[test]
fn expect_failures_exit_7_with_expression_value_and_place() {
    let s = ScriptServer::builder()
        .route(
            "/items",
            [Reply::json(200, r#"{"items":[],"status":"ok"}"#)],
        )
        .start();
    let run = steady(&[
        "get",
        &s.url("/items"),
        "--expect",
        "$.status == \"ok\"",
        "--expect",
        "$.items count > 0",
    ]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("expected $.items count > 0, found 0 (at $['items'])"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[semantic layer"), "{}", run.stderr);
    let run = steady(&[
        "get",
        &s.url("/items"),
        "--expect",
        "$.items count > 0",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (v["layer"].as_str(), v["error"]["kind"].as_str()),
        (Some("semantic"), Some("expectation_failed"))
    );
}

#[test]
fn a_malformed_expectation_points_at_the_character() {
    let run = steady(&[
        "get",
        "http://127.0.0.1:9/",
        "--expect",
        "$.items count >> 0",
    ]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr
            .contains("--expect '$.items count >> 0': 'count' at character 9 needs an operator"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_error_in_a_200_exits_7_unless_allowed() {
    let s = ScriptServer::builder()
        .route("/x", [Reply::json(200, r#"{"error":"quota exceeded"}"#)])
        .start();
    let run = steady(&["get", &s.url("/x")]);
    assert_eq!(run.code, 7);
    assert!(
        run.stderr.contains("server said: quota exceeded"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "an error is not data");
    let run = steady(&["get", &s.url("/x"), "--allow-error-body"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, r#"{"error":"quota exceeded"}"#)
    );
}

#[test]
fn until_polls_a_job_to_completion() {
    let s = ScriptServer::builder()
        .route(
            "/job",
            [
                Reply::json(200, r#"{"state":"running"}"#),
                Reply::json(200, r#"{"state":"done"}"#),
            ],
        )
        .start();
    let run = steady(&[
        "get",
        &s.url("/job"),
        "--until",
        "$.state == \"done\"",
        "--backoff",
        "10ms",
        "-v",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, r#"{"state":"done"}"#);
    assert!(
        run.stderr
            .contains("[not yet: expected $.state == \"done\", found \"running\""),
        "{}",
        run.stderr
    );
    assert_eq!(s.hits("/job"), 2);
}

#[test]
fn expect_status_accepts_a_listed_404() {
    let s = ScriptServer::builder()
        .route("/gone", [Reply::status(404)])
        .start();
    let run = steady(&[
        "delete",
        &s.url("/gone"),
        "--expect-status",
        "204,404",
        "--status",
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "404\n"));
}

#[test]
fn a_cached_answer_is_served_with_a_warning_and_strict_keeps_the_code() {
    let dir = std::env::temp_dir().join(format!("steady-cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache = dir.join("cache.db").display().to_string();
    let s = ScriptServer::builder()
        .route(
            "/rates",
            [Reply::json(200, r#"{"eur":1.08}"#), Reply::status(503)],
        )
        .start();
    let url = s.url("/rates");
    let base = [
        "get",
        url.as_str(),
        "--fallback",
        "cache",
        "--cache",
        cache.as_str(),
        "--retries",
        "0",
    ];
    assert_eq!(steady(&base).code, 0);
    let run = steady(&base);
    assert_eq!((run.code, run.stdout.as_str()), (0, r#"{"eur":1.08}"#));
    assert!(
        run.stderr
            .starts_with("steady: warning: served the cached answer from "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("HTTP 503 Service Unavailable"),
        "{}",
        run.stderr
    );
    let run = steady(&[&base[..], &["--strict"]].concat());
    assert_eq!(run.code, 5);
    let run = steady(&[&base[..], &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (v["source"].as_str(), v["degraded_by"]["status"].as_u64()),
        (Some("cache"), Some(503))
    );
    assert!(v["stale_age_s"].is_u64());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fallbacks_run_in_the_order_given_on_the_command_line() {
    let down = ScriptServer::builder()
        .route("/x", [Reply::status(502)])
        .start();
    let mirror = ScriptServer::builder()
        .route("/x", [Reply::json(200, r#"{"from":"mirror"}"#)])
        .start();
    let mirror_url = mirror.url("/x");
    let json_first = steady(&[
        "get",
        &down.url("/x"),
        "--retries",
        "0",
        "--fallback-json",
        "{\"from\":\"default\"}",
        "--fallback-url",
        &mirror_url,
    ]);
    assert_eq!(json_first.stdout, r#"{"from":"default"}"#);
    let url_first = steady(&[
        "get",
        &down.url("/x"),
        "--retries",
        "0",
        "--fallback-url",
        &mirror_url,
        "--fallback-json",
        "{\"from\":\"default\"}",
    ]);
    assert_eq!(url_first.stdout, r#"{"from":"mirror"}"#);
    assert_eq!(mirror.hits("/x"), 1);
}

#[test]
fn a_404_is_not_an_outage_and_never_falls_back() {
    let s = ScriptServer::builder()
        .route("/x", [Reply::status(404)])
        .start();
    let run = steady(&["get", &s.url("/x"), "--fallback-json", "{}"]);
    assert_eq!((run.code, run.stdout.as_str()), (4, ""));
}

#[test]
fn bad_fallback_values_are_usage_errors() {
    let run = steady(&["get", "http://127.0.0.1:9/", "--fallback-json", "{nope"]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr.contains("--fallback-json is not valid JSON"),
        "{}",
        run.stderr
    );
    let run = steady(&[
        "get",
        "http://127.0.0.1:9/",
        "--fallback-body",
        "/nonexistent/default.json",
    ]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr
            .contains("--fallback-body: cannot read /nonexistent/default.json"),
        "{}",
        run.stderr
    );
}
