//! A load test on loopback: 16 workers against a host that goes down for a few seconds
//! in the middle of the run, once with the guards and once without (side by side, on
//! two servers). The guards must bound what reaches the dead host, and every call
//! after it recovers (and the circuit closes) must succeed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady::{Breaker, Client, Retry};
use steady_chaos::{ChaosConfig, ChaosServer};

const HEALTHY: u64 = 1;
const OUTAGE: u64 = 2;
const AFTER: u64 = 2;

struct Outcome {
    during_outage: u64,
    calls_after_close: u64,
    failures_after_close: u64,
}

async fn run(client: Client) -> Outcome {
    let server = ChaosServer::start(
        ChaosConfig::new()
            .fault(&format!("status=503,at={HEALTHY}s,for={OUTAGE}s"))
            .unwrap(),
    )
    .unwrap();
    let start = Instant::now();
    let end = start + Duration::from_secs(HEALTHY + OUTAGE + AFTER);
    let recovered = start + Duration::from_secs(HEALTHY + OUTAGE);
    let closed_again = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..16 {
        let client = client.clone();
        let url = server.url(&format!("/items/{}", w + 1));
        let (closed_again, failures, calls) = (
            Arc::clone(&closed_again),
            Arc::clone(&failures),
            Arc::clone(&calls),
        );
        workers.spawn(async move {
            while Instant::now() < end {
                let after_close = closed_again.load(Ordering::SeqCst);
                let result = client.get(&url).send().await;
                if after_close {
                    calls.fetch_add(1, Ordering::Relaxed);
                    failures.fetch_add(u64::from(result.is_err()), Ordering::Relaxed);
                }
                if result.is_ok() && Instant::now() > recovered {
                    closed_again.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    Outcome {
        during_outage: server.stats().injected_count("status-503"),
        calls_after_close: calls.load(Ordering::Relaxed),
        failures_after_close: failures.load(Ordering::Relaxed),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_at_concurrency_16_reaches_the_host_a_bounded_number_of_times() {
    let retry = Retry::exponential().base(Duration::from_millis(100));
    // The defaults, scaled down so the test stays short: a one-second breaker window,
    // open for 500ms at first and at most 1s.
    let guarded = Client::builder()
        .retry(retry.clone())
        .breaker(
            Breaker::new()
                .window(Duration::from_secs(1), 20)
                .open_for(Duration::from_millis(500), Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    let unguarded = Client::builder().retry(retry).no_guards().build().unwrap();
    let (on, off) = tokio::join!(run(guarded), run(unguarded));
    eprintln!(
        "requests that reached the host during the {OUTAGE}s outage: {} with guards, {} without",
        on.during_outage, off.during_outage
    );
    assert!(on.during_outage >= 16, "the outage was seen");
    assert!(
        on.during_outage <= 16 * 15,
        "a few attempts per worker before the breaker opened, then probes: {}",
        on.during_outage
    );
    assert!(
        on.during_outage < off.during_outage,
        "the guards lower the load on the dead host: {} vs {}",
        on.during_outage,
        off.during_outage
    );
    assert!(
        on.calls_after_close > 50,
        "the run went on after the circuit closed"
    );
    assert_eq!(
        on.failures_after_close, 0,
        "every call after the circuit closed succeeded"
    );
    assert_eq!(off.failures_after_close, 0);
}
