//! Listeners hear every decision of a call as a typed event, in order.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use steady::breaker::Phase;
use steady::event::{CallInfo, Event, Listener, WaitCause};
use steady::guard::GuardKind;
use steady::{Breaker, ErrorKind, Fallback, Retry};
use steady_chaos::{Reply, ScriptServer};
use support::fast;

/// Every event heard, as a line of text naming what matters.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Listener for Recorder {
    fn on_event(&self, call: &CallInfo<'_>, event: &Event<'_>) {
        let line = match event {
            Event::AttemptStarted {
                attempt,
                resend_count,
            } => format!("start {attempt} resend {resend_count}"),
            Event::AttemptEnded(a) => format!(
                "end {} {}",
                a.number(),
                a.status().map_or("-".into(), |s| s.as_u16().to_string())
            ),
            Event::RetryScheduled {
                attempt,
                cause,
                status,
                ..
            } => format!(
                "retry {attempt} after {} ({})",
                status.map_or(0, |s| s.as_u16()),
                cause.name()
            ),
            Event::Waited { cause, .. } => format!("wait {}", cause.name()),
            Event::GuardRefused { guard, .. } => format!("refused {}", guard.name()),
            Event::BreakerTransition { from, to, .. } => {
                format!("breaker {} -> {}", from.name(), to.name())
            }
            Event::FallbackUsed { source } => format!("fallback {source}"),
            Event::CallEnded {
                status,
                error,
                attempts,
                ..
            } => format!(
                "call {} {} {attempts}",
                status.map_or(0, |s| s.as_u16()),
                error.map_or("ok", |e| e.name())
            ),
            _ => return,
        };
        assert!(call.url.starts_with("http://127.0.0.1:"), "{}", call.url);
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test]
async fn a_listener_hears_attempts_retries_and_the_end_in_order() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(503),
                Reply::status(503).header("Retry-After", "5"),
                Reply::json(200, "{}"),
            ],
        )
        .start();
    let recorder = Arc::new(Recorder::default());
    let (builder, _) = fast();
    let client = builder.listener(recorder.clone()).build().unwrap();
    client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(
        recorder.lines(),
        [
            "start 1 resend 0",
            "end 1 503",
            "retry 2 after 503 (backoff)",
            "start 2 resend 1",
            "end 2 503",
            "retry 3 after 503 (retry_after)",
            "start 3 resend 2",
            "end 3 200",
            "call 200 ok 3",
        ]
    );
}

#[tokio::test]
async fn a_listener_sees_a_breaker_open_half_open_and_close_in_order() {
    let replies = std::iter::repeat_n(Reply::status(503), 5).chain([Reply::json(200, "{}")]);
    let server = ScriptServer::builder().route("/x", replies).start();
    let recorder = Arc::new(Recorder::default());
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::none())
        .breaker(Breaker::new().streak_span(Duration::ZERO))
        .listener(recorder.clone())
        .build()
        .unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    client.get(server.url("/x")).send().await.unwrap();
    let breaker: Vec<String> = recorder
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("breaker") || l.starts_with("wait"))
        .collect();
    assert_eq!(
        breaker,
        [
            "breaker closed -> open",
            "wait breaker_probe",
            "breaker open -> half_open",
            "breaker half_open -> closed",
        ]
    );
}

#[tokio::test]
async fn several_listeners_each_hear_every_event_and_a_refusal_is_typed() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (first, second) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::none())
        .breaker(Breaker::new().streak_span(Duration::ZERO))
        .fail_fast(true)
        .listener(first.clone())
        .listener(second.clone())
        .build()
        .unwrap();
    for _ in 0..6 {
        let _ = client.get(server.url("/x")).send().await;
    }
    assert_eq!(first.lines(), second.lines());
    let lines = first.lines();
    assert_eq!(lines.last().unwrap(), "call 0 circuit_open 0");
    assert!(lines.contains(&"refused breaker".to_owned()), "{lines:?}");
    assert_eq!(server.hits("/x"), 5);
}

#[tokio::test]
async fn a_fallback_answer_is_an_event() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let recorder = Arc::new(Recorder::default());
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::none())
        .listener(recorder.clone())
        .build()
        .unwrap();
    let outcome = client
        .get(server.url("/x"))
        .fallback(Fallback::json(serde_json::json!({"items": []})))
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.response().text(), r#"{"items":[]}"#);
    let lines = recorder.lines();
    assert_eq!(
        lines[lines.len() - 2..],
        ["call 503 server_error 1", "fallback default"]
    );
    // Nothing else heard: the kinds are typed.
    let _ = (
        ErrorKind::ServerError,
        GuardKind::Breaker,
        WaitCause::Backoff,
        Phase::Open,
    );
}
