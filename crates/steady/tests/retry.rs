//! Which failures are retried, how often, how long steady waits, and when it stops.

mod support;

use std::time::{Duration, SystemTime};

use steady::classify::{AttemptView, Classify, DefaultClassifier, Verdict};
use steady::ErrorKind;
use steady::{Decision, Method, Retry, StopReason, WaitReason};
use steady_chaos::{Reply, ScriptServer};
use support::{client, fast};

const METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"];
const STATUSES: [u16; 14] = [
    200, 400, 401, 403, 404, 408, 409, 422, 429, 500, 501, 502, 503, 504,
];

fn expected_attempts(method: &str, status: u16, key: bool) -> usize {
    let retryable = matches!(status, 408 | 429 | 500 | 502 | 503 | 504);
    let replayable = !matches!(method, "POST" | "PATCH") || key;
    if retryable && replayable {
        4
    } else {
        1
    }
}

/// The whole status-by-method matrix: the server counts the attempts.
#[tokio::test]
async fn status_by_method_matrix_retries_exactly_what_can_succeed() {
    let client = client();
    for key in [false, true] {
        for method in METHODS {
            for status in STATUSES {
                let server = ScriptServer::builder()
                    .route("/x", [Reply::status(status)])
                    .start();
                let mut request = client.request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    server.url("/x"),
                );
                if key {
                    request = request.idempotency_key("order-42");
                }
                let result = request.send().await;
                let want = expected_attempts(method, status, key);
                assert_eq!(
                    server.hits("/x"),
                    want,
                    "{method} -> {status} (idempotency key: {key}) reached the server {} times",
                    server.hits("/x")
                );
                match result {
                    Ok(resp) => assert_eq!((status, resp.attempts()), (200, 1)),
                    Err(err) => {
                        assert_eq!(err.attempts() as usize, want, "{method} {status}");
                        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
                        let stop = err.stop_reason().unwrap();
                        let want_stop = if want == 4 {
                            StopReason::RetriesExhausted { retries: 3 }
                        } else if matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
                            StopReason::UnsafeMethod
                        } else {
                            StopReason::NotRetryable
                        };
                        assert_eq!(stop, want_stop, "{method} {status}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn the_same_idempotency_key_is_sent_on_every_attempt() {
    let server = ScriptServer::builder()
        .route(
            "/pay",
            [Reply::status(503), Reply::reset(), Reply::json(201, "{}")],
        )
        .start();
    let resp = client()
        .post(server.url("/pay"))
        .idempotency_key_auto()
        .json(&serde_json::json!({"amount": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let keys: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(keys[0].len(), 36, "a UUID");
    assert!(server
        .requests()
        .iter()
        .all(|r| &r.body[..] == br#"{"amount":10}"#));
}

#[tokio::test]
async fn post_is_not_retried_after_a_reset_but_is_after_a_refused_connection() {
    let server = ScriptServer::builder()
        .route("/order", [Reply::reset()])
        .start();
    let err = client()
        .post(server.url("/order"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.hits("/order"), 1);
    assert_eq!(err.stop_reason(), Some(StopReason::UnsafeMethod));
    assert_eq!(
        err.kind(),
        ErrorKind::Transport(steady::classify::Fault::Reset)
    );

    // Nothing listens on the port of a dropped server: refused proves nothing was sent.
    let port = ScriptServer::builder().start().addr().port();
    let err = client()
        .post(format!("http://127.0.0.1:{port}/order"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Transport(steady::classify::Fault::Refused)
    );
    assert_eq!(err.attempts(), 4);
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::RetriesExhausted { retries: 3 })
    );
}

#[tokio::test]
async fn zero_retries_means_one_attempt() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, _) = fast();
    let client = builder.retry(Retry::none()).build().unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(server.hits("/x"), 1);
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::RetriesExhausted { retries: 0 })
    );
}

#[tokio::test]
async fn backoff_doubles_from_the_base_without_jitter() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(502)])
        .start();
    let (builder, clock) = fast();
    let client = builder
        .retry(
            Retry::exponential()
                .jitter(steady::Jitter::None)
                .base(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    let waits: Vec<Decision> = err.attempt_log().iter().map(|a| a.decision()).collect();
    let backoff = |ms| Decision::Retry {
        wait: Duration::from_millis(ms),
        reason: WaitReason::Backoff,
    };
    assert_eq!(
        waits,
        [
            backoff(100),
            backoff(200),
            backoff(400),
            Decision::Stop(StopReason::RetriesExhausted { retries: 3 })
        ]
    );
    assert_eq!(clock.slept(), Duration::from_millis(700));
}

#[tokio::test]
async fn seeded_full_jitter_is_reproducible_and_within_bounds() {
    let waits = || async {
        let server = ScriptServer::builder()
            .route("/x", [Reply::status(503)])
            .start();
        let (builder, _) = fast();
        let client = builder.retry(Retry::exponential().seed(7)).build().unwrap();
        let err = client.get(server.url("/x")).send().await.unwrap_err();
        err.attempt_log()
            .iter()
            .filter_map(|a| match a.decision() {
                Decision::Retry { wait, .. } => Some(wait),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let first = waits().await;
    assert_eq!(first, waits().await);
    for (n, wait) in first.iter().enumerate() {
        assert!(
            *wait <= Duration::from_secs(1 << n),
            "retry {n} waited {wait:?}"
        );
    }
}

fn retry_after_server(value: &str) -> ScriptServer {
    ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(503).header("Retry-After", value),
                Reply::json(200, "{}"),
            ],
        )
        .start()
}

#[tokio::test]
async fn retry_after_seconds_is_a_floor_over_the_backoff() {
    let server = retry_after_server("2");
    let (builder, clock) = fast();
    let resp = builder
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.hits("/x"), 2);
    assert_eq!(
        resp.attempt_log()[0].decision(),
        Decision::Retry {
            wait: Duration::from_secs(2),
            reason: WaitReason::RetryAfter
        }
    );
    assert_eq!(clock.slept(), Duration::from_secs(2));
}

#[tokio::test]
async fn retry_after_http_date_is_honoured_on_429() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(429).header("Retry-After", at),
                Reply::json(200, "{}"),
            ],
        )
        .start();
    let (builder, clock) = fast();
    let resp = builder
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.hits("/x"), 2);
    let Decision::Retry { wait, reason } = resp.attempt_log()[0].decision() else {
        panic!("expected a retry")
    };
    assert_eq!(reason, WaitReason::RetryAfter);
    // HTTP dates have one-second precision.
    assert!(
        wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
        "{wait:?}"
    );
    assert_eq!(clock.slept(), wait);
}

#[tokio::test]
async fn retry_after_in_the_past_means_retry_after_the_backoff() {
    let server = retry_after_server("Thu, 01 Jan 1970 00:00:00 GMT");
    let resp = client().get(server.url("/x")).send().await.unwrap();
    assert_eq!(server.hits("/x"), 2);
    assert_eq!(
        resp.attempt_log()[0].decision(),
        Decision::Retry {
            wait: Duration::from_secs(1),
            reason: WaitReason::Backoff
        }
    );
}

#[tokio::test]
async fn negative_and_garbage_retry_after_are_ignored_with_a_note() {
    for value in ["-5", "soon", "1.5", "Thu, 99 Foo 2026"] {
        let server = retry_after_server(value);
        let resp = client().get(server.url("/x")).send().await.unwrap();
        assert_eq!(server.hits("/x"), 2, "{value}");
        let first = &resp.attempt_log()[0];
        assert_eq!(
            first.decision(),
            Decision::Retry {
                wait: Duration::from_secs(1),
                reason: WaitReason::Backoff
            },
            "{value}"
        );
        assert!(
            first.note().unwrap().starts_with("Retry-After ignored"),
            "{value}: {:?}",
            first.note()
        );
    }
}

#[tokio::test]
async fn absurd_retry_after_fails_at_once_instead_of_sleeping_for_years() {
    for value in ["999999999", "99999999999999999999999999"] {
        let server = retry_after_server(value);
        let (builder, clock) = fast();
        let err = builder
            .build()
            .unwrap()
            .get(server.url("/x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(server.hits("/x"), 1, "{value}");
        assert!(
            matches!(
                err.stop_reason(),
                Some(StopReason::RetryAfterPastDeadline { .. })
            ),
            "{value}"
        );
        assert_eq!(clock.slept(), Duration::ZERO);
        assert_eq!(err.status().unwrap(), 503);
    }
}

#[tokio::test]
async fn retry_after_longer_than_the_deadline_fails_fast_and_says_so() {
    let server = retry_after_server("120");
    let (builder, clock) = fast();
    let err = builder
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.hits("/x"), 1);
    assert_eq!(clock.slept(), Duration::ZERO);
    let Some(StopReason::RetryAfterPastDeadline { asked, total, .. }) = err.stop_reason() else {
        panic!("{:?}", err.stop_reason())
    };
    assert_eq!(
        (asked, total),
        (Duration::from_secs(120), Duration::from_secs(60))
    );
    let text = err.explain();
    assert!(
        text.contains("the server asked to wait 2m (Retry-After)"),
        "{text}"
    );
    assert!(text.contains("left of the 1m deadline"), "{text}");
}

#[tokio::test]
async fn retry_after_above_the_configured_maximum_stops() {
    let server = retry_after_server("30");
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::exponential().retry_after_max(Duration::from_secs(10)))
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::RetryAfterTooLong {
            asked: Duration::from_secs(30),
            max: Duration::from_secs(10)
        })
    );
    assert!(
        err.explain()
            .contains("the server asked to wait 30s (Retry-After), more than the 10s allowed"),
        "{}",
        err.explain()
    );
}

#[tokio::test]
async fn no_wait_starts_that_would_end_past_the_deadline() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, clock) = fast();
    let client = builder
        .deadline(Duration::from_secs(10))
        .retry(
            Retry::exponential()
                .max_retries(10)
                .jitter(steady::Jitter::None),
        )
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    // Waits of 1s, 2s and 4s fit in 10s; the next 8s would not.
    assert_eq!(server.hits("/x"), 4);
    assert!(matches!(
        err.stop_reason(),
        Some(StopReason::BackoffPastDeadline { wait, .. }) if wait == Duration::from_secs(8)
    ));
    assert_eq!(clock.slept(), Duration::from_secs(7));
    assert!(err.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_wrapped_classifier_also_retries_conflicts() {
    struct AlsoConflict;
    impl Classify for AlsoConflict {
        fn classify(&self, attempt: &AttemptView<'_>) -> Verdict {
            if attempt.status().map(|s| s.as_u16()) == Some(409) {
                return Verdict::Retryable;
            }
            DefaultClassifier.classify(attempt)
        }
    }
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(409),
                Reply::status(409),
                Reply::json(200, "{}"),
            ],
        )
        .start();
    let (builder, _) = fast();
    let resp = builder
        .classifier(AlsoConflict)
        .build()
        .unwrap()
        .put(server.url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.hits("/x"), 3);
    assert_eq!(resp.attempts(), 3);
}

#[tokio::test]
async fn the_attempt_log_is_there_on_success() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(500),
                Reply::reset(),
                Reply::json(200, r#"{"ok":true}"#),
            ],
        )
        .start();
    let resp = client().get(server.url("/x")).send().await.unwrap();
    let log = resp.attempt_log();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].outcome(), "500 Internal Server Error");
    assert_eq!(log[0].layer(), Some(steady::Layer::Http));
    assert_eq!(log[1].fault(), Some(steady::Fault::Reset));
    assert_eq!(log[1].layer(), Some(steady::Layer::Transport));
    assert_eq!(log[2].decision(), Decision::Done);
    assert_eq!(log[2].layer(), None);
    assert!(log[1].started() >= log[0].started() + Duration::from_secs(1));
}
