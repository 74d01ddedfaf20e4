//! Many calls through one client, bounded in concurrency, every result written out
//! atomically: the shape of a sync job.
//!
//! 100 items are fetched from a flaky API (503s, resets, slow answers) with at most 8
//! in flight. Each result, success or classified failure, becomes one JSON line; the
//! file is written to a temporary name and renamed, so a crash never leaves half a
//! file. Runs offline: `cargo run --example batch`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady::{Client, Retry};
use steady_chaos::{ChaosConfig, ChaosServer};
use tokio::sync::Semaphore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = ChaosServer::start(
        ChaosConfig::new()
            .fault("status=503,rate=0.15")?
            .fault("reset,rate=0.05")?
            .fault("latency=20ms..100ms,rate=0.2")?
            .seed(11),
    )?;
    let client = Client::builder()
        .retry(Retry::exponential().base(Duration::from_millis(50)))
        .build()?;
    let limit = Arc::new(Semaphore::new(8));
    let started = Instant::now();

    let mut tasks = tokio::task::JoinSet::new();
    for id in 1..=100u32 {
        let client = client.clone();
        let limit = Arc::clone(&limit);
        let url = api.url(&format!("/items/{id}"));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            let result = client.get(&url).send().await;
            (id, steady::report::outcome_json(result.as_ref()))
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        results.push(done?);
    }
    results.sort_by_key(|(id, _)| *id);

    let path = std::env::temp_dir().join("steady-batch-example.jsonl");
    let partial = path.with_extension("jsonl.partial");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    for (id, outcome) in &results {
        writeln!(
            file,
            "{}",
            serde_json::json!({"id": id, "outcome": outcome})
        )?;
    }
    file.into_inner()?.sync_all()?;
    std::fs::rename(&partial, &path)?;

    let ok = results.iter().filter(|(_, o)| o["ok"] == true).count();
    let retried = results
        .iter()
        .filter(|(_, o)| o["attempts"].as_u64() > Some(1))
        .count();
    println!(
        "{ok}/100 ok ({retried} needed retries) in {}; the server saw {} requests; results in {}",
        steady::duration::human(started.elapsed()),
        api.stats().requests(),
        path.display()
    );
    Ok(())
}
