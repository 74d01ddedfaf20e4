//! `steady demo --scenario capacity`: a server with room for 8 requests in flight, and
//! 64 sent at once, through a client with a fixed concurrency and through steady with
//! adaptive concurrency.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady::{AdaptiveConcurrency, Client, Jitter, Retry};
use steady_chaos::{ChaosConfig, ChaosServer};
use tokio::sync::Semaphore;

use crate::exit;

/// Room for this many requests in flight; each answer takes `LATENCY`.
const ROOM: u32 = 8;
const LATENCY: Duration = Duration::from_millis(20);

struct Tally {
    ok: usize,
    sent: u64,
    turned_away: u64,
    peak: u64,
    wall: Duration,
}

fn server() -> anyhow::Result<ChaosServer> {
    let config = ChaosConfig::new()
        .fault(&format!("latency={}ms", LATENCY.as_millis()))
        .and_then(|c| c.fault(&format!("capacity={ROOM}")))
        .map_err(anyhow::Error::msg)?;
    Ok(ChaosServer::start(config)?)
}

/// Every request, at most `concurrency` at once, through `client`.
async fn drive(client: Client, requests: usize, concurrency: usize) -> anyhow::Result<Tally> {
    let server = server()?;
    let room = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..requests {
        let (client, room) = (client.clone(), Arc::clone(&room));
        let url = server.url(&format!("/items/{}", i % 100 + 1));
        tasks.spawn(async move {
            let _slot = room.acquire_owned().await.expect("semaphore");
            client.get(&url).send().await.is_ok()
        });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        ok += usize::from(done.unwrap_or(false));
    }
    let stats = server.stats();
    Ok(Tally {
        ok,
        sent: stats.requests(),
        turned_away: stats.injected_count("capacity"),
        peak: stats.peak_in_flight(),
        wall: started.elapsed(),
    })
}

pub async fn run(n: usize, conc: usize) -> anyhow::Result<ExitCode> {
    println!(
        "steady demo --scenario capacity: {n} requests, {conc} at a time, to an API with room for {ROOM} in flight"
    );
    println!(
        "(`steady chaos --fault latency={}ms --fault capacity={ROOM}`: one more gets 503 at once). The capacity bound: {:.1}s.\n",
        LATENCY.as_millis(),
        n as f64 * LATENCY.as_secs_f64() / f64::from(ROOM)
    );
    let retry = Retry::exponential()
        .base(Duration::from_millis(100))
        .jitter(Jitter::Full);
    eprint!("  running steady with a fixed {conc} in flight (its other guards on) ...");
    let fixed = drive(Client::builder().retry(retry.clone()).build()?, n, conc).await?;
    eprintln!(" {}", steady::duration::human(fixed.wall));
    eprint!("  running steady with adaptive concurrency (at most {conc}) ...");
    let adaptive_client = Client::builder()
        .retry(retry)
        .adaptive_concurrency(AdaptiveConcurrency::new(
            u32::try_from(conc).unwrap_or(u32::MAX),
        ))
        .build()?;
    let adaptive = drive(adaptive_client.clone(), n, conc).await?;
    eprintln!(" {}\n", steady::duration::human(adaptive.wall));

    let row = |label: &str, a: String, b: String| println!("  {label:<40} {a:>16}  {b:>16}");
    let pct = |k: u64, of: u64| format!("{k} ({:.1}%)", 100.0 * k as f64 / of.max(1) as f64);
    row("", format!("fixed {conc}"), "adaptive".into());
    row(
        "answered",
        pct(fixed.ok as u64, n as u64),
        pct(adaptive.ok as u64, n as u64),
    );
    row(
        "requests that reached the server",
        fixed.sent.to_string(),
        adaptive.sent.to_string(),
    );
    row(
        "turned away (503, no room)",
        pct(fixed.turned_away, fixed.sent),
        pct(adaptive.turned_away, adaptive.sent),
    );
    row(
        "most in flight at the server",
        fixed.peak.to_string(),
        adaptive.peak.to_string(),
    );
    row(
        "wall time",
        steady::duration::human(fixed.wall),
        steady::duration::human(adaptive.wall),
    );
    if let Some((_, limit)) = adaptive_client.concurrency_limits().first() {
        println!(
            "\nsteady's limit moved between {} and {} in flight ({} cuts on signs of overload) and ended at {}.",
            limit.lowest, limit.highest, limit.decreases, limit.limit
        );
    }
    println!("`steady batch` adapts the same way by default (--fixed-concurrency turns it off).");
    println!("(Timings and counts vary by run and machine.)");
    Ok(exit::exit(exit::SUCCESS))
}
