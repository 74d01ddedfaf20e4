//! Guard state shared through a real Redis (started by the test): what one client
//! learns about a host, every other client knows; a fleet shares one rate; Redis away
//! means local guards, never a failed call.

mod support;

use std::time::Duration;

use steady::breaker::Phase;
use steady::ErrorKind;
use steady::{Breaker, Client, GuardKind, Retry};
use steady_chaos::{Reply, ScriptServer};
use support::redis::Redis;

/// A client of its own (as another process would have), sharing `url`'s state.
fn member(url: &str) -> Client {
    Client::builder()
        .retry(Retry::none())
        .breaker(Breaker::new().streak_span(Duration::ZERO))
        .fail_fast(true)
        .state_file(url)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_circuit_one_client_opened_is_open_for_the_fleet() {
    let Some(redis) = Redis::start() else { return };
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let (a, b) = (member(&redis.url()), member(&redis.url()));
    for _ in 0..5 {
        a.get(server.url("/x")).send().await.unwrap_err();
    }
    assert_eq!(
        a.host_state(&server.url("/")).unwrap().breaker.phase(),
        Phase::Open
    );
    let err = b.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(server.hits("/x"), 5, "the other client sent nothing");
    // Both clients' failures count in one window.
    let other = ScriptServer::builder()
        .route("/y", [Reply::status(503)])
        .start();
    for client in [&a, &b, &a, &b, &a] {
        client.get(other.url("/y")).send().await.unwrap_err();
    }
    assert_eq!(
        b.host_state(&other.url("/")).unwrap().breaker.phase(),
        Phase::Open
    );
}

#[tokio::test]
async fn with_a_quorum_one_bad_client_cannot_trip_the_fleet() {
    let Some(redis) = Redis::start() else { return };
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let quorum = |url: &str| {
        Client::builder()
            .retry(Retry::none())
            .breaker(Breaker::new().streak_span(Duration::ZERO).quorum(2))
            .fail_fast(true)
            .state_file(url)
            .build()
            .unwrap()
    };
    let (bad, other) = (quorum(&redis.url()), quorum(&redis.url()));
    for _ in 0..10 {
        bad.get(server.url("/x")).send().await.unwrap_err();
    }
    assert_eq!(
        other.host_state(&server.url("/")).unwrap().breaker.phase(),
        Phase::Closed,
        "ten failures, all from one client"
    );
    let err = other.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    let state = bad.host_state(&server.url("/")).unwrap().breaker;
    assert_eq!(state.phase(), Phase::Open, "a second client saw it too");
    assert!(
        state.reason().ends_with("(seen by 2 clients)"),
        "{}",
        state.reason()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_shares_one_client_rate() {
    let Some(redis) = Redis::start() else { return };
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    // Three members at 50/s together: 12 calls take permits 20 ms apart, so the last
    // waits about 220 ms. Alone, each member's 4th call would wait 60 ms.
    let members: Vec<Client> = (0..3)
        .map(|_| {
            Client::builder()
                .rate_limit("50/s".parse().unwrap())
                .state_file(redis.url())
                .build()
                .unwrap()
        })
        .collect();
    let calls: Vec<_> = members
        .iter()
        .flat_map(|m| (0..4).map(move |_| m.clone()))
        .map(|m| {
            let url = server.url("/x");
            tokio::spawn(async move { m.get(&url).send().await.unwrap() })
        })
        .collect();
    let mut longest = Duration::ZERO;
    for call in calls {
        let resp = call.await.unwrap();
        for e in resp
            .guard_log()
            .iter()
            .filter(|e| e.guard() == GuardKind::RateLimit)
        {
            longest = longest.max(e.wait().unwrap_or_default());
        }
    }
    assert_eq!(server.hits("/x"), 12);
    assert!(
        longest >= Duration::from_millis(150),
        "the fleet's 12 calls were spaced as one: longest wait {longest:?}"
    );
}

#[tokio::test]
async fn redis_away_means_local_guards_and_the_call_goes_on() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = ScriptServer::builder()
        .route("/ok", [Reply::json(200, "{}")])
        .route("/x", [Reply::status(503)])
        .start();
    let client = member(&format!("redis://127.0.0.1:{port}/"));
    client.get(server.url("/ok")).send().await.unwrap();
    // The breaker still guards, locally.
    for _ in 0..5 {
        client.get(server.url("/x")).send().await.unwrap_err();
    }
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(server.hits("/x"), 5);
}

#[tokio::test]
async fn a_redis_that_never_answers_is_given_up_on_and_the_call_goes_on() {
    // A listener that accepts and never answers a Redis command: slow, not down.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let _held: Vec<_> = silent.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(30));
    });
    let server = ScriptServer::builder()
        .route("/ok", [Reply::json(200, "{}")])
        .start();
    let client = member(&format!("redis://127.0.0.1:{port}/"));
    for _ in 0..3 {
        client.get(server.url("/ok")).send().await.unwrap();
    }
    assert_eq!(server.hits("/ok"), 3);
    // The local guards counted the calls meanwhile.
    let (firsts, _) = client.host_state(&server.url("/")).unwrap().budget.counts();
    assert_eq!(firsts, 3);
}

#[tokio::test]
async fn rediss_shares_the_circuit_over_tls_trusting_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let Some((redis, ca)) = Redis::start_tls(dir.path()) else {
        return;
    };
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let member_tls = |ca: Option<&str>| {
        let store = steady::guard::RedisStore::open_with_ca(
            &redis.tls_url(),
            ca.map(|c| c.as_bytes().to_vec()),
        )
        .unwrap();
        Client::builder()
            .retry(Retry::none())
            .breaker(Breaker::new().streak_span(Duration::ZERO))
            .fail_fast(true)
            .guard_store(store)
            .build()
            .unwrap()
    };
    let (a, b) = (member_tls(Some(&ca)), member_tls(Some(&ca)));
    for _ in 0..5 {
        a.get(server.url("/x")).send().await.unwrap_err();
    }
    let err = b.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::CircuitOpen,
        "the circuit came over TLS"
    );
    assert_eq!(server.hits("/x"), 5, "the other client sent nothing");

    // Without the CA (the system's store does not know it) Redis cannot be used: this
    // client guards itself, and its call goes out.
    let untrusting = member_tls(None);
    let err = untrusting.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.hits("/x"), 6);

    // A CA is refused for a connection without TLS.
    let refused =
        steady::guard::RedisStore::open_with_ca(&redis.url(), Some(ca.into_bytes())).unwrap_err();
    assert!(
        refused.contains("a CA certificate is for TLS: use rediss://"),
        "{refused}"
    );
}
