//! The `steady` binary end to end: exit codes, output modes, request items,
//! credentials and what the server received.

use std::process::Stdio;
use std::time::Duration;

use steady_chaos::{Reply, ScriptServer};

const TOKEN: &str = "tok_9f8e7d6c5b";

mod support;

use support::{command as steady, run};

fn fast(args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--backoff", "1ms", "--read-timeout", "300ms"].map(String::from));
    all
}

fn server(path: &str, replies: impl IntoIterator<Item = Reply>) -> ScriptServer {
    ScriptServer::builder().route(path, replies).start()
}

// ---------------------------------------------------------------------------------
// Exit codes, one per row of the table.

#[test]
fn exit_0_prints_the_body_of_a_2xx() {
    let s = server("/items", [Reply::json(200, r#"{"items":[1]}"#)]);
    let r = run(steady().args(["get", &s.url("/items")]));
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, r#"{"items":[1]}"#, "")
    );
}

#[test]
fn exit_1_for_a_refused_connection_after_retries() {
    let port = ScriptServer::builder().start().addr().port();
    let r = run(steady().args(fast(&["get", &format!("http://127.0.0.1:{port}/")])));
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with("steady: connection refused"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[transport layer"), "{}", r.stderr);
    assert!(r.stderr.contains("4 attempts"), "{}", r.stderr);
    assert!(
        r.stderr.contains("Check that the service is running"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_2_for_a_server_that_never_answers() {
    let s = server("/hang", [Reply::hang()]);
    let r = run(steady().args([
        "get",
        &s.url("/hang"),
        "--read-timeout",
        "100ms",
        "--retries",
        "1",
        "--backoff",
        "1ms",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(s.hits("/hang"), 2);
    assert!(r.stderr.contains("read timeout"), "{}", r.stderr);
}

#[test]
fn exit_2_when_the_deadline_ends_a_trickle() {
    let s = server(
        "/slow",
        [Reply::json(200, r#"{"a":"0123456789"}"#).trickle(Duration::from_millis(50))],
    );
    let r = run(steady().args(["get", &s.url("/slow"), "--timeout", "200ms"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("deadline exceeded"), "{}", r.stderr);
}

#[test]
fn exit_3_for_a_redirect_not_followed() {
    let s = server("/old", [Reply::redirect(301, "/new")]);
    let r = run(steady().args(["get", &s.url("/old"), "--no-follow", "--status"]));
    assert_eq!((r.code, r.stdout.as_str()), (3, "301\n"));
    assert!(
        r.stderr.contains("redirect not followed (Location: /new)"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_4_for_a_4xx_with_what_the_server_said_and_no_retry() {
    let s = server(
        "/me",
        [Reply::json(401, r#"{"error":{"message":"token expired"}}"#)],
    );
    let r = run(steady().args(fast(&["get", &s.url("/me")])));
    assert_eq!(r.code, 4);
    assert_eq!(s.hits("/me"), 1);
    assert_eq!(r.stdout, "", "an error body is not data");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stderr);
    assert!(
        lines[0].starts_with("steady: HTTP 401 Unauthorized (GET http://127.0.0.1:"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("[http layer: the server refused the request]"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "  server said: token expired");
    assert!(
        lines[2].contains("1 attempt in") && lines[2].contains("Check the credentials"),
        "{}",
        lines[2]
    );
}

#[test]
fn exit_4_lists_the_fields_of_a_422() {
    let s = server(
        "/users",
        [Reply::json(
            422,
            r#"{"message":"Validation Failed","errors":[{"field":"email","message":"is invalid"}]}"#,
        )],
    );
    let r = run(steady().args(["post", &s.url("/users"), "email=nope"]));
    assert_eq!(r.code, 4);
    assert!(
        r.stderr
            .contains("server said: Validation Failed (email: is invalid)"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_5_for_a_5xx_after_every_retry() {
    let s = server("/x", [Reply::status(503)]);
    let r = run(steady().args(fast(&["get", &s.url("/x"), "--retries", "2"])));
    assert_eq!(r.code, 5);
    assert_eq!(s.hits("/x"), 3);
    assert!(r.stderr.contains("their server failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("3 attempts") && r.stderr.contains("all 2 retries used"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_6_for_too_many_redirects() {
    let s = server("/loop", [Reply::redirect(302, "/loop")]);
    let r = run(steady().args(["get", &s.url("/loop"), "--max-redirects", "3"]));
    assert_eq!(r.code, 6);
    assert_eq!(s.hits("/loop"), 4);
}

#[test]
fn exit_7_for_json_that_does_not_parse() {
    let s = server("/x", [Reply::json(200, "{\"items\": [")]);
    let r = run(steady().args(["get", &s.url("/x")]));
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("semantic layer"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Content-Type says JSON but the body does not parse"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_64_for_usage_errors_with_nothing_sent() {
    let s = server("/x", [Reply::json(200, "{}")]);
    let url = s.url("/x");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["get", &url, "--timeout", "3x"], "unknown unit 'x'"),
        (vec!["get", &url, "nonsense"], "has no separator"),
        (vec!["get", &url, "n:={bad"], "not valid JSON"),
        (
            vec!["get", &url, "--bearer-env", "API_TOKEN"],
            "--bearer-env: environment variable API_TOKEN is not set",
        ),
        (
            vec!["get", &url, "--header-env", "X-Api-Key"],
            "expected NAME=VAR",
        ),
        (
            vec!["get", &url, "@/nonexistent/body.json"],
            "cannot read /nonexistent/body.json",
        ),
        (
            vec!["get", "ftp://127.0.0.1/x"],
            "unsupported URL scheme 'ftp'",
        ),
        (
            vec!["request", "BAD METHOD", &url],
            "not a valid HTTP method",
        ),
        (vec!["get", &url, "a=1", "@-"], "cannot be combined"),
        (
            vec!["get", &url, "--backoff", "5s", "--backoff-max", "1s"],
            "longer than --backoff-max",
        ),
        (vec!["get"], "required"),
    ];
    for (args, message) in cases {
        let r = run(steady().args(&args));
        assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
    }
    assert_eq!(s.total_hits(), 0);
}

#[test]
fn help_lists_the_exit_codes_and_exits_0() {
    for args in [vec!["--help"], vec!["get", "--help"]] {
        let r = run(steady().args(&args));
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("64  usage error"), "{}", r.stdout);
        assert!(r.stdout.contains("7   semantic failure"), "{}", r.stdout);
    }
}

// ---------------------------------------------------------------------------------
// Output modes.

#[test]
fn status_prints_only_the_code() {
    let s = server("/x", [Reply::json(201, "{}")]);
    let r = run(steady().args(["put", &s.url("/x"), "--status"]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "201\n"));
    let s = server("/x", [Reply::status(404)]);
    let r = run(steady().args(["get", &s.url("/x"), "--status"]));
    assert_eq!((r.code, r.stdout.as_str()), (4, "404\n"));
}

#[test]
fn include_prints_the_status_line_and_headers() {
    let s = server(
        "/x",
        [Reply::json(200, r#"{"a":1}"#).header("X-Request-Id", "r-1")],
    );
    let r = run(steady().args(["get", &s.url("/x"), "--include"]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("HTTP/1.1 200 OK\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\nx-request-id: r-1\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\n\n{\"a\":1}"), "{}", r.stdout);
}

#[test]
fn head_with_status_prints_only_the_code() {
    let s = server("/x", [Reply::json(200, r#"{"a":1}"#)]);
    let r = run(steady().args(["head", &s.url("/x"), "--status"]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "200\n"));
    assert_eq!(s.requests()[0].method, "HEAD");
}

#[test]
fn format_json_describes_a_success() {
    let s = server(
        "/x",
        [Reply::status(503), Reply::json(200, r#"{"items":[1,2]}"#)],
    );
    let r = run(steady().args(fast(&["get", &s.url("/x"), "--format", "json"])));
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["layer"], serde_json::Value::Null);
    assert_eq!(v["status"], 200);
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["body"]["items"][1], 2);
    assert_eq!(v["attempt_log"][0]["status"], 503);
    assert_eq!(v["attempt_log"][0]["decision"], "retry");
    assert_eq!(v["attempt_log"][0]["wait_reason"], "backoff");
    assert_eq!(v["attempt_log"][1]["decision"], "done");
    assert!(v["elapsed_ms"].is_u64());
}

#[test]
fn format_json_describes_a_failure() {
    let s = server("/x", [Reply::json(404, r#"{"message":"no such order"}"#)]);
    let r = run(steady().args(["get", &s.url("/x"), "--format", "json"]));
    assert_eq!(r.code, 4);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["layer"], "http");
    assert_eq!(v["status"], 404);
    assert_eq!(v["error"]["kind"], "client_error");
    assert_eq!(v["error"]["server_message"], "no such order");
    assert_eq!(v["attempt_log"][0]["stop_reason"], "not_retryable");
    assert_eq!(
        v["attempt_log"][0]["why"],
        "not retrying: a 4xx will not change on retry"
    );
    assert_eq!(v["body"]["message"], "no such order");

    let port = ScriptServer::builder().start().addr().port();
    let r = run(steady().args(fast(&[
        "get",
        &format!("http://127.0.0.1:{port}/"),
        "--format",
        "json",
        "--retries",
        "0",
    ])));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (v["layer"].as_str(), v["error"]["kind"].as_str(), r.code),
        (Some("transport"), Some("connection_refused"), 1)
    );
    assert_eq!(v["status"], serde_json::Value::Null);
}

#[test]
fn verbose_logs_every_attempt_and_decision() {
    let s = server(
        "/x",
        [
            Reply::status(503).header("Retry-After", "0"),
            Reply::status(400),
        ],
    );
    let r = run(steady().args(fast(&["get", &s.url("/x"), "-v", "--jitter", "none"])));
    assert_eq!(r.code, 4);
    let attempts: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains(" attempt "))
        .collect();
    assert_eq!(attempts.len(), 2, "{}", r.stderr);
    assert!(
        attempts[0].contains("attempt 1/4 GET http://127.0.0.1:"),
        "{}",
        attempts[0]
    );
    assert!(
        attempts[0].contains("-> 503 Service Unavailable (http) in "),
        "{}",
        attempts[0]
    );
    assert!(
        attempts[0].contains("; retrying after 1ms backoff"),
        "{}",
        attempts[0]
    );
    assert!(
        attempts[1].contains("-> 400 Bad Request (http)"),
        "{}",
        attempts[1]
    );
    assert!(
        attempts[1].ends_with("not retrying: a 4xx will not change on retry"),
        "{}",
        attempts[1]
    );
}

#[test]
fn retry_after_past_the_deadline_fails_fast_and_says_so() {
    let s = server(
        "/x",
        [Reply::status(503).header("Retry-After", "999999999")],
    );
    let r = run(steady().args(["get", &s.url("/x")]));
    assert_eq!(r.code, 5);
    assert_eq!(s.hits("/x"), 1);
    assert!(
        r.stderr.contains("not retrying: the server asked to wait 11574 days (Retry-After); 1m left of the 1m deadline")
            || r.stderr.contains("not retrying: the server asked to wait 11574 days (Retry-After); 60s left of the 1m deadline"),
        "{}",
        r.stderr
    );
}

#[test]
fn post_without_idempotency_key_is_not_retried_and_says_why() {
    let s = server("/orders", [Reply::status(503)]);
    let r = run(steady().args(fast(&["post", &s.url("/orders"), "item=book"])));
    assert_eq!((r.code, s.hits("/orders")), (5, 1));
    assert!(
        r.stderr
            .contains("not idempotent and has no Idempotency-Key"),
        "{}",
        r.stderr
    );

    let s = server("/orders", [Reply::status(503), Reply::json(201, "{}")]);
    let r = run(steady().args(fast(&[
        "post",
        &s.url("/orders"),
        "item=book",
        "--idempotency-key",
        "auto",
    ])));
    assert_eq!((r.code, s.hits("/orders")), (0, 2));
    let keys: Vec<_> = s
        .requests()
        .iter()
        .map(|q| q.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let s = server("/big", [Reply::text("x".repeat(1 << 20))]);
    let mut child = steady()
        .args(["get", &s.url("/big")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------
// Request items: asserted on what the server received.

#[test]
fn request_items_become_headers_query_and_a_json_body() {
    let s = server("/search", [Reply::json(200, "{}")]);
    let r = run(steady().args([
        "post",
        &s.url("/search"),
        "X-Trace:abc 123",
        "q==rust lang",
        "page==2",
        "name=Ada",
        "age:=36",
        "tags:=[\"x\",true]",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = &s.requests()[0];
    assert_eq!(got.target, "/search?q=rust+lang&page=2");
    assert_eq!(got.header("x-trace"), Some("abc 123"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("accept"), Some("application/json, */*;q=0.5"));
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": "Ada", "age": 36, "tags": ["x", true]})
    );
}

#[test]
fn a_body_comes_from_a_file_or_stdin() {
    let dir = std::env::temp_dir().join(format!("steady-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.xml");
    std::fs::write(&file, "<a>1</a>").unwrap();
    let s = server("/x", [Reply::json(200, "{}")]);
    let r = run(steady().args([
        "put",
        &s.url("/x"),
        &format!("@{}", file.display()),
        "Content-Type:application/xml",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(&s.requests()[0].body[..], b"<a>1</a>");
    assert_eq!(
        s.requests()[0].header("content-type"),
        Some("application/xml")
    );

    let mut child = steady()
        .args(["post", &s.url("/x"), "@-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(&s.requests()[1].body[..], b"from stdin");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn urls_without_a_scheme_default_to_http() {
    let s = server("/x", [Reply::json(200, "{}")]);
    let r = run(steady().args(["get", &format!("127.0.0.1:{}/x", s.addr().port())]));
    assert_eq!(r.code, 0);
    let r = run(steady().args(["get", &format!(":{}/x", s.addr().port())]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s.hits("/x"), 2);
}

// ---------------------------------------------------------------------------------
// Credentials: sent, never shown.

#[test]
fn credentials_from_env_and_files_are_sent() {
    let s = server("/x", [Reply::json(200, "{}")]);
    let token_file = std::env::temp_dir().join(format!("steady-token-{}", std::process::id()));
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let r = run(steady()
        .args([
            "get",
            &s.url("/x"),
            "--bearer-file",
            token_file.to_str().unwrap(),
            "--header-env",
            "X-Api-Key=API_TOKEN",
        ])
        .env("API_TOKEN", "key-123456"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = &s.requests()[0];
    assert_eq!(
        got.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(got.header("x-api-key"), Some("key-123456"));
    std::fs::remove_file(token_file).unwrap();

    let r = run(steady()
        .args(["get", &s.url("/x"), "--basic-env", "CREDS"])
        .env("CREDS", "alice:pw-secret"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        s.requests()[1].header("authorization"),
        Some("Basic YWxpY2U6cHctc2VjcmV0")
    );
}

#[test]
fn empty_or_injected_credentials_are_refused_naming_the_variable_not_the_value() {
    let s = server("/x", [Reply::json(200, "{}")]);
    let r = run(steady()
        .args(["get", &s.url("/x"), "--bearer-env", "API_TOKEN"])
        .env("API_TOKEN", ""));
    assert_eq!(r.code, 64);
    assert!(
        r.stderr.contains("environment variable API_TOKEN is empty"),
        "{}",
        r.stderr
    );

    let evil = "abc\r\nX-Injected: yes";
    for flag in ["--bearer-env", "--basic-env"] {
        let r = run(steady()
            .args(["get", &s.url("/x"), flag, "API_TOKEN"])
            .env("API_TOKEN", evil));
        assert_eq!(r.code, 64, "{flag}");
        assert!(
            r.stderr
                .contains("API_TOKEN contains a CR, LF or NUL character"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("abc") && !r.stderr.contains("Injected"),
            "{}",
            r.stderr
        );
    }
    let r = run(steady()
        .args(["get", &s.url("/x"), "--basic-env", "API_TOKEN"])
        .env("API_TOKEN", "no-colon-here"));
    assert_eq!(r.code, 64);
    assert!(
        r.stderr.contains("must hold user:password") && !r.stderr.contains("no-colon-here"),
        "{}",
        r.stderr
    );
    assert_eq!(s.total_hits(), 0);
}

#[test]
fn secrets_never_appear_in_stderr_or_json_even_when_the_server_echoes_them() {
    let s = ScriptServer::builder()
        .route_fn("/x", |r| {
            Reply::json(
                500,
                format!(
                    r#"{{"message":"rejected {} / {}"}}"#,
                    r.header("authorization").unwrap_or(""),
                    r.header("x-api-key").unwrap_or("")
                ),
            )
        })
        .start();
    for extra in [
        vec!["-vv"],
        vec!["--format", "json", "-v"],
        vec!["--include"],
    ] {
        let mut args = fast(&[
            "get",
            &s.url("/x?token=qs-secret-1"),
            "--bearer-env",
            "API_TOKEN",
            "--header-env",
            "X-Api-Key=KEY",
            "--retries",
            "1",
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let r = run(steady()
            .args(&args)
            .env("API_TOKEN", TOKEN)
            .env("KEY", "key-abcdef"));
        assert_eq!(r.code, 5);
        let json_or_logs = if extra.contains(&"--include") {
            r.stderr.clone()
        } else {
            format!("{}{}", r.stdout, r.stderr)
        };
        for secret in [TOKEN, "key-abcdef", "qs-secret-1"] {
            assert!(
                !json_or_logs.contains(secret),
                "{secret} leaked with {extra:?}:\n{json_or_logs}"
            );
        }
        assert!(r.stderr.contains("****"), "{}", r.stderr);
    }
}

#[test]
fn credentials_are_stripped_when_a_redirect_changes_port() {
    let other = server("/landing", [Reply::json(200, "{}")]);
    let s = server("/start", [Reply::redirect(302, other.url("/landing"))]);
    let r = run(steady()
        .args([
            "get",
            &s.url("/start"),
            "--bearer-env",
            "API_TOKEN",
            "--header-env",
            "X-Api-Key=KEY",
            "Cookie:a=b",
        ])
        .env("API_TOKEN", TOKEN)
        .env("KEY", "key-abcdef"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = &s.requests()[0];
    assert!(first.header("authorization").is_some() && first.header("x-api-key").is_some());
    let landed = &other.requests()[0];
    for h in ["authorization", "x-api-key", "cookie"] {
        assert_eq!(landed.header(h), None, "{h} leaked across origins");
    }
}

// ---------------------------------------------------------------------------------
// Downloads: -o FILE.

#[test]
fn output_file_gets_the_body_and_stdout_nothing() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let s = server(
        "/export",
        [
            Reply::status(200).body(body.clone()).reset_after(1000),
            Reply::status(200).body(body.clone()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    let r = run(steady().args(fast(&[
        "get",
        &s.url("/export"),
        "-o",
        dest.to_str().unwrap(),
        "--format",
        "json",
    ])));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(s.hits("/export"), 2, "the cut download was sent again");
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["saved_to"], dest.to_str().unwrap());
    assert_eq!(out["saved_bytes"], 300_000);
    assert_eq!(out["attempts"], 2);
    assert!(out["body"].is_null());

    let r = run(steady().args(["get", &s.url("/export"), "-o", dest.to_str().unwrap()]));
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}

#[test]
fn output_file_that_cannot_be_written_is_exit_73_before_sending() {
    let s = server("/export", [Reply::json(200, "{}")]);
    let r = run(steady().args(["get", &s.url("/export"), "-o", "/no/such/folder/x.json"]));
    assert_eq!(r.code, 73, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "steady: cannot write the body to /no/such/folder/x.json: the folder does not exist"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(s.hits("/export"), 0);
}

#[test]
fn output_file_is_untouched_by_an_error_answer() {
    let s = server("/export", [Reply::json(403, r#"{"message": "forbidden"}"#)]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.json");
    std::fs::write(&dest, "old").unwrap();
    let r = run(steady().args(["get", &s.url("/export"), "-o", dest.to_str().unwrap()]));
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("server said: forbidden"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn output_dash_is_standard_output_not_a_file_named_dash() {
    let s = server("/export", [Reply::json(200, r#"{"rows": 3}"#)]);
    let dir = tempfile::tempdir().unwrap();
    let r = run(steady()
        .current_dir(dir.path())
        .args(["get", &s.url("/export"), "-o", "-"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim_end(), r#"{"rows": 3}"#);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_url_without_scheme_may_carry_another_url_in_its_query() {
    let s = server("/go", [Reply::json(200, r#"{"ok": true}"#)]);
    let port = s.addr().port();
    let r = run(steady().args(["get", &format!("127.0.0.1:{port}/go?u=http://x")]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s.hits("/go"), 1);
}

#[test]
fn negative_retries_get_a_message_about_retries() {
    let r = run(steady().args(["get", "http://127.0.0.1:9/", "--retries", "-1"]));
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("-1 is not a number of retries: use 0 for none"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("-- -1"), "{}", r.stderr);
}

#[test]
fn output_file_mode_follows_the_umask_and_an_existing_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let s = server("/export", [Reply::json(200, "{}")]);
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("steady");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let get = |umask: &str, dest: &std::path::Path| {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" get \"$1\" -o \"$2\""))
            .arg(&bin)
            .arg(s.url("/export"))
            .arg(dest)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let public = dir.path().join("public.json");
    get("022", &public);
    assert_eq!(mode(&public), 0o644);
    let private = dir.path().join("private.json");
    get("077", &private);
    assert_eq!(mode(&private), 0o600);
    let shared = dir.path().join("shared.json");
    std::fs::write(&shared, "old").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    get("077", &shared);
    assert_eq!(mode(&shared), 0o640, "an existing file keeps its mode");
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), "{}");
}

#[test]
fn ctrl_c_during_a_download_leaves_no_part_file() {
    // A body that trickles: the download is under way when Ctrl-C comes.
    let s = server(
        "/export",
        [Reply::status(200)
            .body(vec![b'x'; 10_000])
            .trickle(Duration::from_millis(20))],
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("export.bin");
    let child = steady()
        .args(["get", &s.url("/export"), "-o", dest.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    support::wait_until(|| std::fs::read_dir(dir.path()).unwrap().count() > 0);
    std::thread::sleep(Duration::from_millis(100));
    support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "neither the destination nor a .part file"
    );
}

#[test]
fn head_prints_the_status_line_and_the_headers() {
    let s = server(
        "/item",
        [Reply::json(200, r#"{"id": 1}"#).header("ETag", "\"v7\"")],
    );
    let r = run(steady().args(["head", &s.url("/item")]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"), "{}", r.stdout);
    assert!(
        r.stdout.lines().any(|l| l == "etag: \"v7\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "content-type: application/json"),
        "{}",
        r.stdout
    );
    assert_eq!(s.requests()[0].method, "HEAD");
}

#[test]
fn completions_for_each_shell_and_a_man_page() {
    for (shell, marks) in [
        ("bash", "complete -F _steady"),
        ("zsh", "#compdef steady"),
        ("fish", "complete -c steady"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = run(steady().args(["completions", shell]));
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marks), "{shell}");
        assert!(
            r.stdout.contains("max-wait"),
            "{shell}: batch flags are there"
        );
    }
    let r = run(steady().args(["completions", "tcsh"]));
    assert_eq!(r.code, 64, "{}", r.stderr);
    let man = run(steady().args(["man"]));
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.contains(".TH steady 1"),
        "{}",
        &man.stdout[..200]
    );
    assert!(man.stdout.contains("batch"));
    // Every redirect into a folder the help shows comes after a mkdir -p of it.
    for args in [
        &["--help"][..],
        &["completions", "--help"],
        &["man", "--help"],
    ] {
        let help = run(steady().args(args));
        assert_eq!(help.code, 0, "{args:?}: {}", help.stderr);
        // Words, as a wrapped line reads.
        let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        for (at, _) in text.match_indices(" > ~/") {
            let path = text[at + 3..].split(' ').next().unwrap();
            let folder = &path[..path.rfind('/').unwrap()];
            assert!(
                text[..at].contains(&format!("mkdir -p {folder}")),
                "{args:?}: no mkdir -p {folder} before the redirect into it:\n{}",
                help.stdout
            );
        }
    }
    let completions = run(steady().args(["completions", "--help"]));
    assert!(
        completions.stdout.contains(
            "steady completions bash > ~/.local/share/bash-completion/completions/steady"
        ),
        "{}",
        completions.stdout
    );
}

#[test]
fn a_422_shows_the_fields_the_server_rejected() {
    let s = server(
        "/issues",
        [Reply::json(
            422,
            r#"{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field"},{"field":"labels","code":"invalid"}]}"#,
        )],
    );
    let r = run(steady().args(["post", &s.url("/issues"), "body=x"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("server said: Validation Failed (title: missing_field; labels: invalid)"),
        "{}",
        r.stderr
    );
    assert_eq!(s.hits("/issues"), 1, "a 422 is never retried");
}

#[test]
fn a_binary_body_is_not_dumped_to_a_terminal_but_is_piped_as_it_is() {
    let body: Vec<u8> = (0..=255u8).collect();
    let s = ScriptServer::builder()
        .route("/bin", [Reply::status(200).body(body.clone())])
        .route("/text", [Reply::json(200, r#"{"name": "café"}"#)])
        .start();
    let bin = assert_cmd::cargo::cargo_bin("steady");
    // On a terminal: `script` gives the command a pseudo-terminal.
    let on_terminal = |path: &str| {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{} get {}", bin.display(), s.url(path)),
                "/dev/null",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_terminal("/bin");
    assert!(
        shown
            .contains("[binary body, 256 bytes, not shown on a terminal: use -o FILE, or pipe it]"),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{1}'), "{shown:?}");
    assert!(on_terminal("/text").contains(r#"{"name": "café"}"#));
    // Piped: the bytes themselves.
    let out = steady().args(["get", &s.url("/bin")]).output().unwrap();
    assert_eq!(out.stdout, body);
}

#[test]
fn verbose_shows_request_and_response_headers_with_credentials_hidden() {
    let s = server(
        "/me",
        [Reply::json(200, r#"{"id": 1}"#).header("Set-Cookie", "session=s3cr3t-cookie")],
    );
    let r = run(steady().env("API_TOKEN", "tok-5566778899").args([
        "get",
        &s.url("/me?api_key=k-12345&page=1"),
        "X-Trace:abc",
        "--bearer-env",
        "API_TOKEN",
        "-v",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let port = s.addr().port();
    for line in [
        format!("> GET http://127.0.0.1:{port}/me?api_key=****&page=1"),
        "> x-trace: abc".to_owned(),
        "> authorization: ****".to_owned(),
        "< HTTP/1.1 200 OK".to_owned(),
        "< content-type: application/json".to_owned(),
        "< set-cookie: ****".to_owned(),
    ] {
        assert!(
            r.stderr.lines().any(|l| l.ends_with(&line)),
            "{line}\n{}",
            r.stderr
        );
    }
    for secret in ["tok-5566778899", "k-12345", "s3cr3t-cookie"] {
        assert!(!r.stderr.contains(secret), "{secret} leaked:\n{}", r.stderr);
    }
    assert_eq!(
        s.requests()[0].header("authorization"),
        Some("Bearer tok-5566778899")
    );
}

#[test]
fn form_fields_go_urlencoded_and_a_file_field_makes_a_multipart_upload() {
    let srv = server("/up", [Reply::json(200, "{}")]);
    let url = srv.url("/up");
    let out = run(steady().args(["post", &url, "-f", "name=Ada Lovelace", "lang=en&fr"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[0];
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(&seen.body[..], b"name=Ada+Lovelace&lang=en%26fr");

    let dir = std::env::temp_dir().join(format!("steady-form-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("beach.png");
    std::fs::write(&photo, b"\x89PNG fake").unwrap();
    let item = format!("photo@{}", photo.display());
    let out = run(steady().args(["post", &url, "-f", "title=Holidays", &item]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[1];
    let content_type = seen.header("content-type").unwrap().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{content_type}"));
    let body = String::from_utf8_lossy(&seen.body);
    assert_eq!(
        body,
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHolidays\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"beach.png\"\r\nContent-Type: image/png\r\n\r\n\u{fffd}PNG fake\r\n--{boundary}--\r\n"
        )
    );
    // A raw JSON field in a form, a missing file and fields plus a file without -f:
    // refused before anything is sent.
    for (args, says) in [
        (
            vec!["-f", "n:=1"],
            "a raw JSON field (name:=json) cannot go in a form",
        ),
        (
            vec!["-f", "doc@/nonexistent/file.txt"],
            "cannot read /nonexistent/file.txt",
        ),
        (
            vec!["n=1", item.as_str()],
            "JSON fields and file fields (name@path) cannot be combined",
        ),
    ] {
        let out = run(steady().args(["post", &url]).args(&args));
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn auth_user_password_sends_basic_auth_with_a_warning_and_never_prints_it() {
    let srv = server("/me", [Reply::json(200, "{}")]);
    let url = srv.url("/me");
    for flag in ["-a", "-u", "--auth", "--user"] {
        let out = run(steady().args(["get", &url, flag, "ada:s3cr3t-pw", "-v"]));
        assert_eq!(out.code, 0, "{flag}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "warning: a password on the command line (-a ada:...) is visible to other users"
            ),
            "{flag}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("s3cr3t-pw") && !out.stdout.contains("s3cr3t-pw"));
    }
    // base64("ada:s3cr3t-pw")
    for seen in srv.requests() {
        assert_eq!(
            seen.header("authorization"),
            Some("Basic YWRhOnMzY3IzdC1wdw==")
        );
    }
    assert_eq!(srv.requests().len(), 4);
}

#[test]
fn auth_user_alone_asks_on_the_terminal_and_refuses_without_one() {
    let srv = server("/me", [Reply::json(200, "{}")]);
    let url = srv.url("/me");
    // No terminal (as under cron; setsid leaves the process without one): a clear
    // error, nothing sent.
    let bin = env!("CARGO_BIN_EXE_steady");
    let out = std::process::Command::new("setsid")
        .args(["-w", bin, "get", &url, "-a", "ada"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("-a/-u ada: no password given and none could be asked for on a terminal (this process has no terminal)"),
        "{stderr}"
    );
    assert!(srv.requests().is_empty());
    // Under a pseudo-terminal (`script`), the password typed is read without echo.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} get {url} -a ada"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Type the password once the prompt is up (echo is off by then).
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let (mut shown, mut buf) = (Vec::new(), [0u8; 256]);
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            shown.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&shown).contains("password for ada: ") {
                let _ = tx.send(());
            }
        }
        String::from_utf8_lossy(&shown).into_owned()
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the prompt");
    {
        use std::io::Write;
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"typed-pw\n")
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    let shown = reader.join().unwrap();
    assert!(shown.contains("steady: password for ada: "), "{shown}");
    assert!(
        !shown.contains("typed-pw"),
        "the password is not echoed: {shown}"
    );
    let seen = srv.requests();
    assert_eq!(
        seen.last().unwrap().header("authorization"),
        Some("Basic YWRhOnR5cGVkLXB3")
    );
}

#[test]
fn a_session_file_keeps_cookies_between_runs_privately() {
    let srv = ScriptServer::builder()
        .route(
            "/login",
            [Reply::json(200, "{}").header("Set-Cookie", "sid=c00kie-value; Path=/; HttpOnly")],
        )
        .route("/me", [Reply::json(200, r#"{"me": 1}"#)])
        .start();
    let dir = std::env::temp_dir().join(format!("steady-session-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let session = dir.join("api.session");
    let session = session.to_str().unwrap();
    let login = run(steady().args(["post", &srv.url("/login"), "--session", session]));
    assert_eq!(login.code, 0, "{}", login.stderr);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(session).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "cookies are credentials");
    }
    let me = run(steady().args(["get", &srv.url("/me"), "--session", session, "-v"]));
    assert_eq!(me.code, 0, "{}", me.stderr);
    assert!(me.stderr.contains("> cookie: ****"), "{}", me.stderr);
    assert!(!me.stderr.contains("c00kie-value") && !me.stdout.contains("c00kie-value"));
    let seen = srv.requests();
    assert_eq!(seen[0].header("cookie"), None);
    assert_eq!(seen[1].header("cookie"), Some("sid=c00kie-value"));
    // Without the session, no cookie; a file that is not a session is refused.
    run(steady().args(["get", &srv.url("/me")]));
    assert_eq!(srv.requests()[2].header("cookie"), None);
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, "not json").unwrap();
    let bad = run(steady().args([
        "get",
        &srv.url("/me"),
        "--session",
        garbage.to_str().unwrap(),
    ]));
    assert_eq!(bad.code, 64, "{}", bad.stderr);
    assert!(
        bad.stderr.contains(&format!(
            "--session: the session file {} is not a cookie file",
            garbage.display()
        )),
        "{}",
        bad.stderr
    );
    assert_eq!(srv.requests().len(), 3);
}
