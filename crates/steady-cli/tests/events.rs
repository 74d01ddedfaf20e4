//! `steady events URL`: a server-sent-events stream printed as it comes, followed
//! through breaks with Last-Event-ID, ended by a 204, N events, or a failure.

mod support;

use steady_chaos::{Reply, ScriptServer};
use support::steady;

fn feed(body: &str) -> Reply {
    Reply::status(200)
        .header("Content-Type", "text/event-stream")
        .body(body.to_owned())
}

#[test]
fn events_are_printed_and_a_broken_stream_resumes_from_the_last_id() {
    let first = "retry: 1\nid: 1\ndata: order 1 shipped\n\nid: 2\ndata: half";
    let srv = ScriptServer::builder()
        .route(
            "/feed",
            [
                feed(&format!("{first} an event\n\n")).reset_after(first.len()),
                feed("id: 2\ndata: order 2 shipped\ndata: (two lines)\n\n"),
                Reply::status(204),
            ],
        )
        .start();
    let out = steady(&["events", &srv.url("/feed")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "order 1 shipped\norder 2 shipped\n(two lines)\n"
    );
    let seen = srv.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    assert_eq!(seen[0].header("last-event-id"), None);
    assert_eq!(seen[1].header("last-event-id"), Some("1"));
    assert_eq!(seen[2].header("last-event-id"), Some("2"));
}

#[test]
fn json_lines_and_max_events() {
    let srv = ScriptServer::builder()
        .route(
            "/feed",
            [feed(
                "id: 7\nevent: price\ndata: {\"p\": 1}\n\nid: 8\ndata: two\n\n",
            )],
        )
        .start();
    let out = steady(&[
        "events",
        &srv.url("/feed"),
        "--format",
        "json",
        "--max-events",
        "1",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        line,
        serde_json::json!({"id": "7", "event": "price", "data": "{\"p\": 1}"})
    );
    assert_eq!(srv.hits("/feed"), 1);
}

#[test]
fn a_failed_reconnection_ends_with_its_exit_code_and_words() {
    let srv = ScriptServer::builder()
        .route(
            "/feed",
            [
                feed("retry: 1\ndata: a\n\n"),
                Reply::json(401, r#"{"error": "token expired"}"#),
            ],
        )
        .start();
    let out = steady(&["events", &srv.url("/feed")]);
    assert_eq!(out.stdout, "a\n");
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("token expired"), "{}", out.stderr);
    assert_eq!(srv.hits("/feed"), 2);
}

#[test]
fn an_answer_that_is_not_an_event_stream_is_refused() {
    let srv = ScriptServer::builder()
        .route("/feed", [Reply::json(200, r#"{"items": []}"#)])
        .start();
    let out = steady(&["events", &srv.url("/feed")]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr.contains("not text/event-stream"),
        "{}",
        out.stderr
    );
}
