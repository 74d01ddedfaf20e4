//! Guards against real local servers: breaker transitions, budget, rate limits, server
//! signals, hedging, bulkhead, shared state, each with the deadline. Waits run on a
//! skipping clock; the servers count what reached them.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use steady::breaker::Phase;
use steady::clock::{Clock, SkipClock};
use steady::ErrorKind;
use steady::{
    Breaker, Bulkhead, Client, ClientBuilder, GuardKind, Hedge, Layer, Retry, RetryBudget,
    StopReason,
};
use steady_chaos::{Reply, ScriptServer};
use support::fast;

/// A fast client builder with no retries, and its clock. Calls follow each other in
/// microseconds here, so a streak of failures needs no minimum span. Fail-fast, so
/// that an open circuit answers at once; [`waiting`] is the default behaviour.
fn single() -> (ClientBuilder, Arc<SkipClock>) {
    let (builder, clock) = waiting();
    (builder.fail_fast(true), clock)
}

/// As [`single`], with the default: calls wait for an open circuit's probe.
fn waiting() -> (ClientBuilder, Arc<SkipClock>) {
    let (builder, clock) = fast();
    let breaker = Breaker::new().streak_span(Duration::ZERO);
    (builder.retry(Retry::none()).breaker(breaker), clock)
}

fn guard_messages(log: &[steady::GuardEvent], guard: GuardKind) -> Vec<String> {
    log.iter()
        .filter(|e| e.guard() == guard)
        .map(|e| e.message().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------
// Circuit breaker

#[tokio::test]
async fn the_breaker_opens_after_five_failed_calls_in_a_row_and_fail_fast_refuses_at_once() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, _) = single();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        let err = client.get(server.url("/x")).send().await.unwrap_err();
        assert_eq!(err.layer(), Layer::Http);
    }
    assert_eq!(server.hits("/x"), 5);
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        server.hits("/x"),
        5,
        "an open circuit does not touch the network"
    );
    assert_eq!(err.layer(), Layer::Guard);
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(err.attempts(), 0);
    let text = err.to_string();
    assert!(
        text.contains("circuit open for http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains(" since ") && text.contains("because 5 calls in a row failed"),
        "{text}"
    );
    assert!(!text.contains("waiting"), "fail-fast does not wait: {text}");
    assert!(
        text.contains("next probe at") && text.contains("(in 2s)"),
        "{text}"
    );
    let state = client.host_state(&server.url("/")).unwrap();
    assert_eq!(state.breaker.phase(), Phase::Open);
}

#[tokio::test]
async fn a_successful_probe_closes_the_circuit_and_a_failed_one_doubles_the_wait() {
    let replies = std::iter::repeat_n(Reply::status(500), 6).chain([Reply::json(200, "{}")]);
    let server = ScriptServer::builder().route("/x", replies).start();
    let (builder, clock) = single();
    let client = builder.build().unwrap();
    let url = server.url("/x");
    for _ in 0..5 {
        client.get(&url).send().await.unwrap_err();
    }
    let open = client.host_state(&url).unwrap().breaker;
    assert_eq!(open.probe_at_ms() - open.since_ms(), 2_000);

    // After 2s, one probe: the 6th reply, a 500, reopens for 4s.
    clock.sleep(Duration::from_secs(2)).await;
    let err = client.get(&url).send().await.unwrap_err();
    assert_eq!(err.status().unwrap(), 500);
    let messages = guard_messages(err.guard_log(), GuardKind::Breaker);
    assert_eq!(messages[0], "circuit half-open: letting a probe through");
    assert!(
        messages[1].starts_with("circuit opened: the probe failed; failing fast for 4s"),
        "{messages:?}"
    );
    let reopened = client.host_state(&url).unwrap().breaker;
    assert_eq!(reopened.probe_at_ms() - reopened.since_ms(), 4_000);
    assert_eq!(
        client.get(&url).send().await.unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );

    // After 4s more, the probe gets the 200 and the circuit closes.
    clock.sleep(Duration::from_secs(4)).await;
    let resp = client.get(&url).send().await.unwrap();
    assert!(guard_messages(resp.guard_log(), GuardKind::Breaker)
        .contains(&"circuit closed: the probe succeeded".to_owned()));
    assert_eq!(
        client.host_state(&url).unwrap().breaker.phase(),
        Phase::Closed
    );
    assert_eq!(server.hits("/x"), 7);
}

#[tokio::test]
async fn a_4xx_never_counts_against_the_host() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(404)])
        .start();
    let (builder, _) = single();
    let client = builder.build().unwrap();
    for _ in 0..30 {
        assert_eq!(
            client
                .get(server.url("/x"))
                .send()
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::ClientError
        );
    }
    assert_eq!(server.hits("/x"), 30);
    assert_eq!(
        client.host_state(&server.url("/")).unwrap().breaker.phase(),
        Phase::Closed
    );
}

#[tokio::test]
async fn semantic_failures_count_only_when_asked() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{bad")])
        .start();
    for (count, want) in [(false, Phase::Closed), (true, Phase::Open)] {
        let (builder, _) = single();
        let client = builder
            .breaker(
                Breaker::new()
                    .streak_span(Duration::ZERO)
                    .count_semantic(count),
            )
            .build()
            .unwrap();
        for _ in 0..5 {
            assert_eq!(
                client
                    .get(server.url("/x"))
                    .send()
                    .await
                    .unwrap_err()
                    .layer(),
                Layer::Semantic
            );
        }
        assert_eq!(
            client.host_state(&server.url("/")).unwrap().breaker.phase(),
            want
        );
    }
}

#[tokio::test]
async fn transport_faults_and_429_count_as_failures() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::reset(),
                Reply::status(429),
                Reply::close(),
                Reply::status(502),
                Reply::reset(),
            ],
        )
        .start();
    let (builder, _) = single();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    assert_eq!(
        client.host_state(&server.url("/")).unwrap().breaker.phase(),
        Phase::Open
    );
}

#[tokio::test]
async fn one_calls_retries_are_one_failed_call_and_never_open_the_circuit() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .route("/ok", [Reply::json(200, "{}")])
        .start();
    let (builder, _) = fast();
    let client = builder
        .retry(
            Retry::exponential()
                .max_retries(10)
                .base(Duration::from_millis(10))
                .jitter(steady::Jitter::None),
        )
        .breaker(
            Breaker::new()
                .consecutive_failures(3)
                .streak_span(Duration::ZERO),
        )
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(server.hits("/x"), 11, "every retry was sent");
    assert_eq!(
        err.stop_reason(),
        Some(StopReason::RetriesExhausted { retries: 10 })
    );
    assert_eq!(err.status().unwrap(), 503);
    let breaker = client.host_state(&server.url("/")).unwrap().breaker;
    assert_eq!(breaker.phase(), Phase::Closed);
    assert_eq!(breaker.window_failures(), (1, 1), "one call, one failure");
    // The other URLs of the host are untouched; a success resets the streak.
    client.get(server.url("/ok")).send().await.unwrap();
    client.get(server.url("/x")).send().await.unwrap_err();
    client.get(server.url("/x")).send().await.unwrap_err();
    let breaker = client.host_state(&server.url("/")).unwrap().breaker;
    assert_eq!(
        (breaker.phase(), breaker.consecutive_failures()),
        (Phase::Closed, 2)
    );
    assert!(
        err.explain().contains("11 attempts in "),
        "{}",
        err.explain()
    );
}

#[tokio::test]
async fn one_broken_endpoint_never_opens_the_circuit_for_the_rest_of_the_host() {
    let server = ScriptServer::builder()
        .route("/broken", [Reply::status(503)])
        .route("/also-broken", [Reply::status(503)])
        .fallback(Reply::json(200, "{}"))
        .start();
    let (builder, _) = single();
    let client = builder
        .breaker(
            Breaker::new()
                .streak_span(Duration::ZERO)
                .window(Duration::from_secs(10), 10),
        )
        .build()
        .unwrap();
    // Two calls in three to the broken endpoint: two thirds of the calls fail.
    for i in 0..60 {
        let path = if i % 3 == 2 {
            format!("/ok/{i}")
        } else {
            "/broken".into()
        };
        let _ = client.get(server.url(&path)).send().await;
    }
    assert_eq!(server.hits("/broken"), 40, "none turned away");
    let breaker = client.host_state(&server.url("/")).unwrap().breaker;
    assert_eq!(
        (breaker.phase(), breaker.window_failures()),
        (Phase::Closed, (40, 60))
    );
    // A second URL failing too is the host's trouble.
    let _ = client.get(server.url("/also-broken")).send().await;
    assert_eq!(
        client.host_state(&server.url("/")).unwrap().breaker.phase(),
        Phase::Open
    );
}

#[tokio::test]
async fn a_call_meeting_an_open_circuit_waits_for_the_probe_and_succeeds() {
    let replies = std::iter::repeat_n(Reply::status(503), 5).chain([Reply::json(200, "{}")]);
    let server = ScriptServer::builder().route("/x", replies).start();
    let (builder, clock) = waiting();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    let resp = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(server.hits("/x"), 6, "one probe, no request while open");
    // Until the probe: 2s from the opening, less the milliseconds since.
    let slept = clock.slept();
    assert!(
        slept > Duration::from_millis(1_900) && slept <= Duration::from_secs(2),
        "it waited for the probe: {slept:?}"
    );
    let events = resp.guard_log();
    assert_eq!(events[0].wait(), Some(slept));
    assert!(
        events[0]
            .message()
            .contains("because 5 calls in a row failed")
            && events[0].message().contains("; next probe at ")
            && events[0].message().contains("; waiting for it ("),
        "{}",
        events[0].message()
    );
    assert_eq!(
        guard_messages(events, GuardKind::Breaker)[1..],
        [
            "circuit half-open: letting a probe through",
            "circuit closed: the probe succeeded"
        ]
    );
}

#[tokio::test]
async fn a_failed_probe_after_a_wait_says_how_long_the_call_waited_for_it() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, clock) = waiting();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(server.hits("/x"), 6, "the probe");
    let slept = clock.slept();
    let text = err.explain();
    assert!(
        text.contains(&format!(
            "1 attempt in {} (waited {} for the circuit's probe); not retrying: retries are off",
            steady::duration::human(err.elapsed()),
            steady::duration::human(slept)
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_probe_after_the_deadline_fails_the_call_at_once() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, clock) = waiting();
    let client = builder.deadline(Duration::from_secs(1)).build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!((err.kind(), err.attempts()), (ErrorKind::CircuitOpen, 0));
    assert_eq!(
        clock.slept(),
        Duration::ZERO,
        "no wait that cannot end in time"
    );
    assert_eq!(server.hits("/x"), 5);
}

#[tokio::test]
async fn a_call_whose_retry_meets_a_failed_probe_waits_for_the_next_one() {
    // Open, then the probe fails (503) and the circuit reopens for 4s; the same call
    // waits again and its next probe gets the 200.
    let replies = std::iter::repeat_n(Reply::status(503), 6).chain([Reply::json(200, "{}")]);
    let server = ScriptServer::builder().route("/x", replies).start();
    let (builder, clock) = waiting();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    let resp = client
        .get(server.url("/x"))
        .retries(1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.attempts(), 2);
    assert_eq!(server.hits("/x"), 7);
    // 2s for the first probe, the 1s backoff, 3s more for the second (4s from the
    // failed probe), give or take the milliseconds the calls took.
    let slept = clock.slept().as_millis();
    assert!((5_950..=6_000).contains(&slept), "{slept} ms");
}

#[tokio::test]
async fn calls_waiting_on_a_half_open_circuit_go_when_its_probe_closes_it() {
    let replies = std::iter::repeat_n(Reply::status(503), 5).chain(std::iter::repeat_n(
        Reply::json(200, "{}").delay(Duration::from_millis(30)),
        20,
    ));
    let server = ScriptServer::builder().route("/x", replies).start();
    let (builder, _) = waiting();
    let client = builder.build().unwrap();
    let url = server.url("/x");
    for _ in 0..5 {
        client.get(&url).send().await.unwrap_err();
    }
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(&url).send().await })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(server.hits("/x"), 15, "each waiting call sent once");
    let probes = results
        .iter()
        .filter(|r| {
            guard_messages(r.as_ref().unwrap().guard_log(), GuardKind::Breaker)
                .contains(&"circuit half-open: letting a probe through".to_owned())
        })
        .count();
    assert_eq!(probes, 1, "one probe; the others waited for it");
}

#[tokio::test]
async fn hosts_are_keyed_by_scheme_host_and_port() {
    let sick = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let healthy = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let (builder, _) = single();
    let client = builder.build().unwrap();
    for _ in 0..5 {
        client.get(sick.url("/x")).send().await.unwrap_err();
    }
    assert_eq!(
        client.get(sick.url("/x")).send().await.unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
    client.get(healthy.url("/x")).send().await.unwrap();
}

// ---------------------------------------------------------------------------------
// Retry budget

#[tokio::test]
async fn an_empty_budget_returns_the_failure_at_once_and_says_so() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (builder, clock) = fast();
    let client = builder
        .no_breaker()
        .retry_budget(RetryBudget::new().min_retries(2).ratio(0.0))
        .fail_fast(true)
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        server.hits("/x"),
        3,
        "one first attempt and the two retries the budget allows"
    );
    assert_eq!(err.stop_reason(), Some(StopReason::BudgetExhausted));
    let text = err.explain();
    assert!(
        text.contains("not retrying: the retry budget for this host is spent"),
        "{text}"
    );
    assert!(
        text.contains(
            "guard: the retry budget is spent: 2 retries in the last 10s against 1 first attempts"
        ),
        "{text}"
    );
    // The refused retry did not wait: only the two allowed backoffs were slept.
    assert_eq!(clock.slept(), Duration::from_secs(3));
}

#[tokio::test]
async fn a_spent_budget_makes_the_retry_wait_for_it_within_the_deadline() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            std::iter::repeat_n(Reply::status(503), 3).chain([Reply::json(200, "{}")]),
        )
        .start();
    let (builder, clock) = fast();
    let client = builder
        .no_breaker()
        .retry_budget(RetryBudget::new().min_retries(2).ratio(0.0))
        .build()
        .unwrap();
    let resp = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(
        server.hits("/x"),
        4,
        "the third retry waited for the budget"
    );
    let budget = guard_messages(resp.guard_log(), GuardKind::Budget);
    assert_eq!(budget.len(), 1, "{budget:?}");
    assert!(
        budget[0].contains("the retry budget is spent: 2 retries in the last 10s")
            && budget[0].contains("; the retry waits"),
        "{budget:?}"
    );
    // Backoffs of 1s and 2s, then the third retry waits until the first one's second
    // leaves the 10s window: between 8 and 10s after the call began.
    let slept = clock.slept();
    assert!(
        slept > Duration::from_secs(7) && slept <= Duration::from_secs(10),
        "{slept:?}"
    );
    // With an 8s deadline the same wait cannot end in time: the call stops at once.
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::status(503), Reply::status(503), Reply::status(503)],
        )
        .start();
    let (builder, clock) = fast();
    let client = builder
        .no_breaker()
        .deadline(Duration::from_secs(8))
        .retry_budget(RetryBudget::new().min_retries(2).ratio(0.0))
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(server.hits("/x"), 3);
    assert_eq!(err.stop_reason(), Some(StopReason::BudgetExhausted));
    assert_eq!(
        clock.slept(),
        Duration::from_secs(3),
        "only the two backoffs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_waiting_for_the_budget_goes_on_once_the_host_answers_another_call() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(503),
                Reply::status(503),
                Reply::json(200, "{}"),
            ],
        )
        .route(
            "/ok",
            [Reply::json(200, "{}").delay(Duration::from_millis(300))],
        )
        .start();
    // One retry per 10s window: the second retry of /x would wait about 10s.
    let client = Client::builder()
        .no_breaker()
        .retry(Retry::exponential().base(Duration::from_millis(10)))
        .retry_budget(RetryBudget::new().min_retries(1).ratio(0.0))
        .build()
        .unwrap();
    let waiting = {
        let (client, url) = (client.clone(), server.url("/x"));
        tokio::spawn(async move { client.get(&url).send().await })
    };
    // Another call succeeds (after 300 ms): the host is back.
    client.get(server.url("/ok")).send().await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting retry went on well before the 10s window")
        .unwrap()
        .unwrap();
    assert_eq!(resp.attempts(), 3);
    assert!(
        guard_messages(resp.guard_log(), GuardKind::Budget)
            .iter()
            .any(|m| m.contains("the host answered another call meanwhile")),
        "{:?}",
        resp.guard_log()
    );
}

#[tokio::test]
async fn the_budget_grows_with_first_attempts() {
    let server = ScriptServer::builder()
        .route("/ok", [Reply::json(200, "{}")])
        .route("/bad", [Reply::status(503)])
        .start();
    let (builder, _) = fast();
    let client = builder
        .no_breaker()
        .retry(
            Retry::exponential()
                .max_retries(50)
                .base(Duration::from_millis(1)),
        )
        .retry_budget(RetryBudget::new().min_retries(0).ratio(0.2))
        .build()
        .unwrap();
    for _ in 0..49 {
        client.get(server.url("/ok")).send().await.unwrap();
    }
    let err = client.get(server.url("/bad")).send().await.unwrap_err();
    // 50 first attempts in the window allow 10 retries.
    assert_eq!(server.hits("/bad"), 11);
    assert_eq!(err.stop_reason(), Some(StopReason::BudgetExhausted));
}

#[tokio::test]
async fn low_traffic_keeps_its_retries_under_the_default_budget() {
    // A service calling three paths of one host, each failing once before it answers:
    // under a floor of 10 retries per 10s, the 11th retry was refused. The default
    // floor is 10 a second (Finagle's), so the budget bites only under load.
    let server = ScriptServer::builder()
        .route_fn("/a", flaky_once())
        .route_fn("/b", flaky_once())
        .route_fn("/c", flaky_once())
        .start();
    let (builder, _) = fast();
    let client = builder.no_breaker().build().unwrap();
    for round in 0..10 {
        for path in ["/a", "/b", "/c"] {
            let url = server.url(&format!("{path}?round={round}"));
            let resp = client.get(&url).send().await.unwrap();
            assert_eq!(resp.attempts(), 2, "{url}");
        }
    }
    // 30 first attempts and 30 retries, all in one window.
    assert_eq!(server.total_hits(), 60);
}

/// A handler that answers each target's first request 503 and later ones 200.
fn flaky_once() -> impl Fn(&steady_chaos::Recorded) -> Reply + Send + Sync + 'static {
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    move |r| {
        if seen.lock().unwrap().insert(r.target.clone()) {
            Reply::status(503)
        } else {
            Reply::json(200, "{}")
        }
    }
}

// ---------------------------------------------------------------------------------
// Rate limits

#[tokio::test]
async fn the_client_rate_spaces_requests_evenly() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let (builder, clock) = single();
    let client = builder.rate_limit("10/s".parse().unwrap()).build().unwrap();
    let mut waits = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..4 {
        let resp = client.get(server.url("/x")).send().await.unwrap();
        waits.extend(resp.guard_log().iter().filter_map(|e| e.wait()));
    }
    // The clock skips the waits but real time passes between calls (more on a busy
    // machine), and the limiter counts it: waits plus real time make the 300ms.
    let real = started.elapsed();
    assert_eq!(server.hits("/x"), 4);
    assert!(waits.len() >= 3, "{waits:?}");
    assert!(
        clock.slept() <= Duration::from_millis(300),
        "{:?}",
        clock.slept()
    );
    assert!(
        clock.slept() + real >= Duration::from_millis(295),
        "{:?} + {real:?}",
        clock.slept()
    );
}

#[tokio::test]
async fn a_permit_past_the_deadline_fails_at_once_as_a_guard() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let (builder, clock) = single();
    let client = builder
        .rate_limit("1/m".parse().unwrap())
        .deadline(Duration::from_secs(10))
        .build()
        .unwrap();
    client.get(server.url("/x")).send().await.unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Guard, ErrorKind::RateLimited)
    );
    // 60s less the moments between the two calls: "60s", or "1m" when none passed.
    let text = err.to_string();
    assert!(
        ["60s", "1m"].iter().any(|wait| text.contains(&format!(
            "client rate limit 1/m: the next permit is in {wait}, 10s before the deadline"
        ))),
        "{err}"
    );
    assert_eq!(server.hits("/x"), 1);
    assert_eq!(clock.slept(), Duration::ZERO);
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_whole_host() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::status(429).header("Retry-After", "30")])
        .route("/b", [Reply::json(200, "{}")])
        .start();
    let (builder, clock) = single();
    let client = builder.build().unwrap();
    let err = client.get(server.url("/a")).send().await.unwrap_err();
    assert_eq!(err.status().unwrap(), 429);
    let before = clock.slept();
    let resp = client.get(server.url("/b")).send().await.unwrap();
    let paused = clock.slept() - before;
    assert!(
        paused > Duration::from_millis(29_900) && paused <= Duration::from_secs(30),
        "the other path waited for the pause: {paused:?}"
    );
    assert_eq!(
        guard_messages(resp.guard_log(), GuardKind::ServerLimit),
        ["paused 30s because the server answered 429 with Retry-After: 30s"]
    );
}

#[tokio::test]
async fn a_server_pause_longer_than_the_deadline_fails_the_next_call_at_once() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::status(429).header("Retry-After", "120")])
        .route("/b", [Reply::json(200, "{}")])
        .start();
    let (builder, clock) = single();
    let client = builder.build().unwrap();
    client.get(server.url("/a")).send().await.unwrap_err();
    let err = client.get(server.url("/b")).send().await.unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Guard, ErrorKind::RateLimited)
    );
    assert!(
        err.to_string()
            .contains("the server answered 429 with Retry-After: 2m: the next permit is in"),
        "{err}"
    );
    assert_eq!(server.hits("/b"), 0);
    assert_eq!(clock.slept(), Duration::ZERO);
}

#[tokio::test]
async fn a_hedge_is_not_sent_when_its_delay_is_past_the_deadline() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, "{}").delay(Duration::from_millis(300))],
        )
        .start();
    let client = Client::builder()
        .hedge(Hedge::After(Duration::from_secs(5)))
        .deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let resp = client.get(server.url("/x")).send().await.unwrap();
    assert!(resp.guard_log().is_empty());
    assert_eq!(server.hits("/x"), 1);
}

#[tokio::test]
async fn server_limits_can_be_ignored() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::status(429).header("Retry-After", "30")])
        .route("/b", [Reply::json(200, "{}")])
        .start();
    let (builder, clock) = single();
    let client = builder.server_rate_limits(false).build().unwrap();
    client.get(server.url("/a")).send().await.unwrap_err();
    client.get(server.url("/b")).send().await.unwrap();
    assert_eq!(clock.slept(), Duration::ZERO);
}

#[tokio::test]
async fn zero_remaining_pauses_until_the_reset_in_both_header_styles() {
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 20;
    let styles = [
        Reply::json(200, "{}")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", reset.to_string()),
        Reply::json(200, "{}").header("RateLimit", "\"default\";r=0;t=20"),
    ];
    for first in styles {
        let server = ScriptServer::builder()
            .route("/x", [first, Reply::json(200, "{}")])
            .start();
        let (builder, clock) = single();
        let client = builder.build().unwrap();
        let resp = client.get(server.url("/x")).send().await.unwrap();
        assert!(
            guard_messages(resp.guard_log(), GuardKind::ServerLimit)[0].starts_with("host paused")
        );
        client.get(server.url("/x")).send().await.unwrap();
        let slept = clock.slept();
        assert!(
            slept > Duration::from_secs(18) && slept <= Duration::from_secs(21),
            "{slept:?}"
        );
    }
}

#[tokio::test]
async fn few_requests_left_are_spread_until_the_reset() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, "{}")
                .header("X-RateLimit-Limit", "100")
                .header("X-RateLimit-Remaining", "4")
                .header("X-RateLimit-Reset", "20")],
        )
        .start();
    let (builder, clock) = single();
    let client = builder.build().unwrap();
    for _ in 0..3 {
        client.get(server.url("/x")).send().await.unwrap();
    }
    // 4 left for 20s: one every 5s (the first paced call goes at once).
    let slept = clock.slept();
    assert!(
        slept > Duration::from_millis(4_900) && slept <= Duration::from_secs(5),
        "{slept:?}"
    );
}

// ---------------------------------------------------------------------------------
// Hedging and the bulkhead (real time: they race real responses)

#[tokio::test]
async fn a_hedge_wins_when_the_first_request_is_slow_and_the_loser_is_cancelled() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::json(200, r#"{"leg":1}"#).delay(Duration::from_secs(3)),
                Reply::json(200, r#"{"leg":2}"#),
            ],
        )
        .start();
    let client = Client::builder()
        .hedge(Hedge::After(Duration::from_millis(50)))
        .build()
        .unwrap();
    let resp = client.get(server.url("/x")).send().await.unwrap();
    // The second leg's answer: the call did not wait for the slow first one.
    assert_eq!(resp.text(), r#"{"leg":2}"#);
    assert_eq!(server.hits("/x"), 2);
    assert_eq!(
        guard_messages(resp.guard_log(), GuardKind::Hedge),
        [
            "no answer after 50ms: sent a second request",
            "the second request answered first; the first was cancelled"
        ]
    );
}

#[tokio::test]
async fn a_fast_first_request_is_never_hedged_and_post_never_is() {
    let server = ScriptServer::builder()
        .route("/fast", [Reply::json(200, "{}")])
        .route(
            "/slow",
            [Reply::json(201, "{}").delay(Duration::from_millis(200))],
        )
        .start();
    let client = Client::builder()
        .hedge(Hedge::After(Duration::from_millis(50)))
        .build()
        .unwrap();
    client.get(server.url("/fast")).send().await.unwrap();
    let resp = client
        .post(server.url("/slow"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(resp.guard_log().is_empty());
    assert_eq!((server.hits("/fast"), server.hits("/slow")), (1, 1));
}

#[tokio::test]
async fn hedges_spend_the_retry_budget() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, "{}").delay(Duration::from_millis(150))],
        )
        .start();
    let client = Client::builder()
        .hedge(Hedge::After(Duration::from_millis(20)))
        .retry_budget(RetryBudget::new().min_retries(1).ratio(0.0))
        .build()
        .unwrap();
    let first = client.get(server.url("/x")).send().await.unwrap();
    let second = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(guard_messages(first.guard_log(), GuardKind::Hedge).len(), 2);
    let refused = guard_messages(second.guard_log(), GuardKind::Hedge);
    assert!(
        refused[0].starts_with("not hedged after 20ms: the retry budget is spent"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_bulkhead_bounds_calls_in_flight() {
    let server = ScriptServer::builder()
        .route(
            "/slow",
            [Reply::json(200, "{}").delay(Duration::from_millis(400))],
        )
        .start();
    let client = Client::builder()
        .bulkhead(Bulkhead::new(1, Duration::from_millis(50)))
        .build()
        .unwrap();
    let url = server.url("/slow");
    let (a, b) = tokio::join!(client.get(&url).send(), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.get(&url).send().await
    });
    a.unwrap();
    let err = b.unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Guard, ErrorKind::BulkheadFull)
    );
    assert_eq!(server.hits("/slow"), 1);
}

// ---------------------------------------------------------------------------------
// State shared by processes

fn state_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("steady-guards-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.db")
}

#[tokio::test]
async fn a_state_file_carries_an_open_circuit_to_the_next_process() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let path = state_path("carry");
    // Five "cron runs" of 4 attempts each, five failed calls: the fifth trips the
    // breaker. (Real runs are a minute apart; these follow each other at once, so no
    // minimum span.)
    for _ in 0..5 {
        let (builder, _) = fast();
        let client = builder
            .retry(Retry::exponential().base(Duration::from_millis(1)))
            .breaker(Breaker::new().streak_span(Duration::ZERO))
            .fail_fast(true)
            .no_retry_budget()
            .state_file(&path)
            .build()
            .unwrap();
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    assert_eq!(
        server.hits("/x"),
        20,
        "every run sent its four attempts: one run's retries are one failed call"
    );
    let (builder, _) = fast();
    let sixth = builder.state_file(&path).fail_fast(true).build().unwrap();
    let err = sixth.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(server.hits("/x"), 20);
}

#[test]
fn concurrent_processes_never_lose_an_update() {
    // Four clients, each with its own connection to the file, as four processes would.
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let path = state_path("concurrent");
    let url = server.url("/x");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (path, url) = (path.clone(), url.clone());
            std::thread::spawn(move || {
                support::block_on(async {
                    let client = Client::builder().state_file(&path).build().unwrap();
                    for _ in 0..25 {
                        client.get(&url).send().await.unwrap();
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let client = Client::builder().state_file(&path).build().unwrap();
    let state = client.host_state(&url).unwrap();
    assert_eq!(
        state.budget.counts().0,
        100,
        "every first attempt was counted once"
    );
    assert_eq!(server.hits("/x"), 100);
}

#[tokio::test]
async fn a_file_that_is_not_a_state_file_is_a_clear_error() {
    let path = state_path("garbage");
    std::fs::write(
        &path,
        b"this is not sqlite, just some text that is long enough to matter",
    )
    .unwrap();
    let err = Client::builder().state_file(&path).build().unwrap_err();
    assert_eq!(err.layer(), Layer::Usage);
    assert!(
        err.to_string()
            .contains(&format!("state file {}", path.display())),
        "{err}"
    );
}

#[tokio::test]
async fn a_scope_s_circuit_opens_alone_and_the_rest_of_the_host_goes_on() {
    let server = ScriptServer::builder()
        .route("/search", [Reply::status(503)])
        .route("/orders", [Reply::json(200, "[]")])
        .route("/misc", [Reply::status(503)])
        .start();
    let (builder, _) = single();
    let client = builder.scope_path("/search", "search").build().unwrap();
    for _ in 0..5 {
        client.get(server.url("/search")).send().await.unwrap_err();
    }
    let err = client.get(server.url("/search")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert!(err.to_string().contains("(search)"), "{err}");
    assert_eq!(server.hits("/search"), 5, "the open circuit sent nothing");
    // The host's other paths are another scope: their circuit is closed.
    for _ in 0..3 {
        client.get(server.url("/orders")).send().await.unwrap();
    }
    assert_eq!(server.hits("/orders"), 3);
    assert_eq!(
        client
            .host_state(&server.url("/search?q=x"))
            .unwrap()
            .breaker
            .phase(),
        Phase::Open
    );
    assert_eq!(
        client
            .host_state(&server.url("/orders"))
            .unwrap()
            .breaker
            .phase(),
        Phase::Closed
    );

    // A scope named on the request: its own circuit too.
    for _ in 0..5 {
        client
            .get(server.url("/misc"))
            .scope("reports")
            .send()
            .await
            .unwrap_err();
    }
    let err = client
        .get(server.url("/misc"))
        .scope("reports")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(
        client
            .scope_state(&server.url("/misc"), Some("reports"))
            .unwrap()
            .breaker
            .phase(),
        Phase::Open
    );
    // ... while the host's own scope has seen none of those failures.
    client.get(server.url("/orders")).send().await.unwrap();
    assert_eq!(
        client
            .host_state(&server.url("/misc"))
            .unwrap()
            .breaker
            .phase(),
        Phase::Closed
    );
}
