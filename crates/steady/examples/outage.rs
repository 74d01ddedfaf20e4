//! How many requests reach a service that is down, with steady's guards on and off.
//!
//! 16 workers call one host back to back (20ms apart) for `--healthy` seconds, then the
//! host answers 503 to everything for `--outage` seconds, then it is healthy again for
//! `--after` seconds. Printed: requests that reached the host during the outage, calls
//! that succeeded, and whether every call started after the circuit closed again
//! succeeded. Defaults are the measurement of the guards issue: a 10-second outage.
//!
//! `cargo run --release --example outage [-- OUTAGE_SECS]`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady::{Client, Layer};
use steady_chaos::{ChaosConfig, ChaosServer};

const WORKERS: usize = 16;

struct Run {
    outage_requests: u64,
    total_requests: u64,
    ok: u64,
    failed: u64,
    failed_fast: u64,
    late_failures: u64,
}

async fn run(guards: bool, healthy: u64, outage: u64, after: u64) -> Run {
    let fault = format!("status=503,at={healthy}s,for={outage}s");
    let server = ChaosServer::start(ChaosConfig::new().fault(&fault).unwrap()).unwrap();
    let mut builder = Client::builder().deadline(Duration::from_secs(30));
    if !guards {
        builder = builder.no_guards();
    }
    let client = builder.build().unwrap();
    let end = Instant::now() + Duration::from_secs(healthy + outage + after);
    let recovered_at = Instant::now() + Duration::from_secs(healthy + outage);
    let (ok, failed, failed_fast, late) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let closed_again = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let client = client.clone();
        let url = server.url(&format!("/items/{}", w + 1));
        let (ok, failed, failed_fast, late, closed_again) = (
            Arc::clone(&ok),
            Arc::clone(&failed),
            Arc::clone(&failed_fast),
            Arc::clone(&late),
            Arc::clone(&closed_again),
        );
        workers.spawn(async move {
            while Instant::now() < end {
                let started_after_close = closed_again.load(Ordering::SeqCst);
                match client.get(&url).send().await {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        if Instant::now() > recovered_at {
                            closed_again.store(true, Ordering::SeqCst);
                        }
                    }
                    Err(err) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if err.layer() == Layer::Guard {
                            failed_fast.fetch_add(1, Ordering::Relaxed);
                        }
                        if started_after_close {
                            late.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    Run {
        outage_requests: server.stats().injected_count("status-503"),
        total_requests: server.stats().requests(),
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        failed_fast: failed_fast.load(Ordering::Relaxed),
        late_failures: late.load(Ordering::Relaxed),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let outage: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let (healthy, after) = (2, 6);
    println!(
        "{WORKERS} workers, 20ms between calls; healthy {healthy}s, then 503 for {outage}s, then healthy {after}s\n"
    );
    println!(
        "{:<12} {:>22} {:>15} {:>9} {:>9} {:>12} {:>26}",
        "guards",
        "requests during outage",
        "requests total",
        "calls ok",
        "failed",
        "failed fast",
        "failures after re-close"
    );
    for guards in [false, true] {
        let r = run(guards, healthy, outage, after).await;
        println!(
            "{:<12} {:>22} {:>15} {:>9} {:>9} {:>12} {:>26}",
            if guards { "on (default)" } else { "off" },
            r.outage_requests,
            r.total_requests,
            r.ok,
            r.failed,
            r.failed_fast,
            r.late_failures
        );
    }
}
