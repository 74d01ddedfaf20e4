//! Adaptive concurrency against real local servers: a server with room for a few
//! requests (`steady chaos` capacity, shedding with 503 or queueing), a healthy one,
//! and the places of calls that time out. The servers count what they saw.

use std::time::Duration;

use steady::ErrorKind;
use steady::{AdaptiveConcurrency, Client, GuardKind, Jitter, Layer, Retry};
use steady_chaos::{ChaosConfig, ChaosServer, Reply, ScriptServer};

fn chaos(faults: &[&str]) -> ChaosServer {
    let mut config = ChaosConfig::new().seed(3);
    for f in faults {
        config = config.fault(f).unwrap();
    }
    ChaosServer::start(config).unwrap()
}

fn make(adaptive: Option<AdaptiveConcurrency>) -> Client {
    let mut builder = Client::builder()
        .retry(
            Retry::exponential()
                .max_retries(6)
                .base(Duration::from_millis(20))
                .jitter(Jitter::Full),
        )
        // This test is about load, not outages.
        .no_retry_budget()
        .no_breaker();
    if let Some(limit) = adaptive {
        builder = builder.adaptive_concurrency(limit);
    }
    builder.build().unwrap()
}

/// `n` calls at once; how many succeeded.
async fn at_once(client: &Client, server: &ChaosServer, n: usize) -> usize {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let (client, url) = (
                client.clone(),
                server.url(&format!("/items/{}", i % 100 + 1)),
            );
            tokio::spawn(async move { client.get(&url).send().await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        ok += usize::from(call.await.unwrap());
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_finds_a_servers_capacity_and_sheds_almost_nothing() {
    let server = chaos(&["latency=20ms", "capacity=8"]);
    let client = make(Some(AdaptiveConcurrency::new(64)));
    assert_eq!(at_once(&client, &server, 400).await, 400);
    let stats = server.stats();
    let (sent, shed) = (stats.requests(), stats.injected_count("capacity"));
    assert!(
        shed * 20 <= sent,
        "{shed} of {sent} requests turned away (> 5%)"
    );
    let limit = client.concurrency_limit(&server.url("/")).unwrap().unwrap();
    assert!(limit.decreases >= 1, "{limit:?}");
    // Slow start overshoots once (a round of successes lands before the first 503),
    // then the limit stays near the server's 8.
    assert!(limit.highest <= 24, "{limit:?}");
    assert!((4..=12).contains(&limit.limit), "{limit:?}");
    assert_eq!(limit.in_flight, 0, "every place was given back");

    // The same load with every call at once: most requests are turned away.
    let server = chaos(&["latency=20ms", "capacity=8"]);
    let fixed = make(None);
    at_once(&fixed, &server, 400).await;
    let stats = server.stats();
    assert!(
        stats.injected_count("capacity") * 2 > stats.requests(),
        "{} of {}",
        stats.injected_count("capacity"),
        stats.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rising_latency_keeps_the_limit_near_a_queueing_servers_capacity() {
    let server = chaos(&["latency=20ms", "capacity=4,queue"]);
    let client = make(Some(AdaptiveConcurrency::new(64)));
    assert_eq!(at_once(&client, &server, 200).await, 200);
    let limit = client.concurrency_limit(&server.url("/")).unwrap().unwrap();
    assert!(limit.decreases >= 1, "{limit:?}");
    assert!(limit.highest <= 24 && limit.limit <= 12, "{limit:?}");
    // Without the limit, the server's backlog would hold all 200 at once.
    let peak = server.stats().peak_in_flight();
    assert!(peak <= 24, "{peak} in flight at the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_host_gets_the_whole_maximum() {
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    // Without the latency signal: the test server answers on one thread, and on a
    // machine busy with other tests its queue is real (the signal is tested above).
    let client = make(Some(
        AdaptiveConcurrency::new(32).latency(0.0, Duration::ZERO),
    ));
    let calls: Vec<_> = (0..600)
        .map(|_| {
            let (client, url) = (client.clone(), server.url("/x"));
            tokio::spawn(async move { client.get(&url).send().await.unwrap() })
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    let limit = client.concurrency_limit(&server.url("/")).unwrap().unwrap();
    assert_eq!(
        (limit.lowest, limit.highest, limit.limit),
        (4, 32, 32),
        "{limit:?}"
    );
    assert_eq!(limit.decreases, 0);
    assert_eq!(client.concurrency_limits().len(), 1);
}

#[tokio::test]
async fn a_call_waits_for_a_place_within_its_deadline_and_a_timed_out_one_gives_its_place_back() {
    let server = ScriptServer::builder()
        .route(
            "/slow",
            [Reply::json(200, "{}").delay(Duration::from_millis(300))],
        )
        .route("/ok", [Reply::json(200, "{}")])
        .start();
    let client = Client::builder()
        .retry(Retry::none())
        .adaptive_concurrency(AdaptiveConcurrency::new(1))
        .build()
        .unwrap();
    let slow = {
        let (client, url) = (client.clone(), server.url("/slow"));
        tokio::spawn(async move { client.get(&url).send().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = client
        .get(server.url("/ok"))
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Guard, ErrorKind::ConcurrencyLimit)
    );
    assert_eq!(err.guard_log()[0].guard(), GuardKind::Concurrency);
    assert!(
        err.to_string()
            .contains("1 calls in flight to http://127.0.0.1:"),
        "{err}"
    );
    assert_eq!(server.hits("/ok"), 0, "nothing sent");
    slow.await.unwrap().unwrap();
    // A call cut by its deadline gives its place back.
    let cut = client
        .get(server.url("/slow"))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(cut.is_err());
    client.get(server.url("/ok")).send().await.unwrap();
    let limit = client.concurrency_limit(&server.url("/")).unwrap().unwrap();
    assert_eq!(limit.in_flight, 0);
}
