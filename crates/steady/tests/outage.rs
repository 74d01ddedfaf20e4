//! A load test on loopback: 16 workers against a host that goes down in the middle of
//! the run, once with the guards and once without (side by side, on two servers). The
//! guards must bound what reaches the dead host, and every call once the circuit has
//! closed again must succeed.
//!
//! The phases are driven by counts, not by the wall clock: the test switches the
//! server down, lets every worker make its calls, and switches it up again, so a busy
//! machine changes how long the test takes, never what it sees.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use steady::breaker::Phase;
use steady::{Breaker, Client, Retry};
use steady_chaos::{Reply, ScriptServer};

const WORKERS: u64 = 16;
/// Calls per worker while the host is down.
const OUTAGE_CALLS: u64 = 10;
/// Calls per worker once the circuit has closed again.
const AFTER_CALLS: u64 = 10;

/// A host the test switches down (503 to everything) and up.
struct Host {
    server: ScriptServer,
    down: Arc<AtomicBool>,
    /// Requests answered 503.
    refused: Arc<AtomicU64>,
}

impl Host {
    fn start() -> Host {
        let down = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let (d, r) = (Arc::clone(&down), Arc::clone(&refused));
        let mut builder = ScriptServer::builder();
        for w in 0..WORKERS {
            let (d, r) = (Arc::clone(&d), Arc::clone(&r));
            builder = builder.route_fn(&format!("/items/{w}"), move |_| {
                if d.load(Ordering::SeqCst) {
                    r.fetch_add(1, Ordering::SeqCst);
                    Reply::status(503)
                } else {
                    Reply::json(200, r#"{"ok": true}"#)
                }
            });
        }
        let server = builder.start();
        Host {
            server,
            down,
            refused,
        }
    }
}

struct Outcome {
    during_outage: u64,
    calls_after_close: u64,
    failures_after_close: u64,
}

/// `calls` calls by each of the workers at once, each to its own URL; what each call
/// returned.
async fn wave(client: &Client, host: &Host, calls: u64) -> Vec<bool> {
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (client, url) = (client.clone(), host.server.url(&format!("/items/{w}")));
        workers.spawn(async move {
            let mut ok = Vec::new();
            for _ in 0..calls {
                ok.push(client.get(&url).send().await.is_ok());
            }
            ok
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done.unwrap());
    }
    all
}

async fn run(client: Client) -> Outcome {
    let host = Host::start();
    // Healthy: every call succeeds.
    assert!(wave(&client, &host, 5).await.iter().all(|ok| *ok));
    // Down.
    host.down.store(true, Ordering::SeqCst);
    let outage = wave(&client, &host, OUTAGE_CALLS).await;
    assert!(
        outage.iter().all(|ok| !ok),
        "nothing succeeds during the outage"
    );
    let during_outage = host.refused.load(Ordering::SeqCst);
    // Up again: each worker calls until the circuit is closed (its probe succeeded),
    // then makes its calls, every one of which must succeed.
    host.down.store(false, Ordering::SeqCst);
    let calls = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (client, url) = (client.clone(), host.server.url(&format!("/items/{w}")));
        let (calls, failures) = (Arc::clone(&calls), Arc::clone(&failures));
        workers.spawn(async move {
            loop {
                let ok = client.get(&url).send().await.is_ok();
                let closed = client.host_state(&url).unwrap().breaker.phase() == Phase::Closed;
                if ok && closed {
                    break;
                }
                // The circuit waits out its open time before the probe: real time.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for _ in 0..AFTER_CALLS {
                let ok = client.get(&url).send().await.is_ok();
                calls.fetch_add(1, Ordering::SeqCst);
                failures.fetch_add(u64::from(!ok), Ordering::SeqCst);
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    Outcome {
        during_outage,
        calls_after_close: calls.load(Ordering::SeqCst),
        failures_after_close: failures.load(Ordering::SeqCst),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_at_concurrency_16_reaches_the_host_a_bounded_number_of_times() {
    let retry = Retry::exponential().base(Duration::from_millis(10));
    // The defaults, scaled down so the test stays short: five failed calls in a row
    // open the circuit however fast they come (no minimum span), open for 100ms at
    // first and at most 400ms; fail-fast, so that a call meeting the open circuit is
    // refused at once instead of waiting for its probe.
    let guarded = Client::builder()
        .retry(retry.clone())
        .breaker(
            Breaker::new()
                .streak_span(Duration::ZERO)
                .window(Duration::from_secs(1), 20)
                .open_for(Duration::from_millis(100), Duration::from_millis(400)),
        )
        .fail_fast(true)
        .build()
        .unwrap();
    let unguarded = Client::builder().retry(retry).no_guards().build().unwrap();
    let (on, off) = tokio::join!(run(guarded), run(unguarded));
    eprintln!(
        "requests that reached the host during the outage: {} with guards, {} without",
        on.during_outage, off.during_outage
    );
    // Without guards, every call makes its 4 attempts.
    assert_eq!(off.during_outage, WORKERS * OUTAGE_CALLS * 4);
    assert!(on.during_outage >= WORKERS, "the outage was seen");
    // With them, about the calls in flight when the circuit opened (16 x 4 attempts)
    // and a probe now and then: bounded well below.
    assert!(
        on.during_outage <= WORKERS * 10,
        "the guards bound the load on the dead host: {} vs {}",
        on.during_outage,
        off.during_outage
    );
    assert_eq!(on.calls_after_close, WORKERS * AFTER_CALLS);
    assert_eq!(
        on.failures_after_close, 0,
        "every call after the circuit closed succeeded"
    );
    assert_eq!(off.failures_after_close, 0);
}
