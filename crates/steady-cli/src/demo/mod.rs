//! `steady demo`: the same requests against the same flaky API, through a naive client
//! and through steady with its defaults, side by side.
//!
//! It starts a chaos server in-process (twice, with the same seed, so both clients meet
//! the same schedule of faults), paces the requests like a real workload so both live
//! through the same outage, and counts what each client got and what the server saw.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady::{Decision, Layer, StopReason, WaitReason};
use steady_chaos::{ChaosConfig, ChaosServer};
use tokio::sync::Semaphore;

use crate::cli::{DemoArgs, DemoScenario};
use crate::exit;

mod capacity;

/// The fault mix: what real APIs do on a bad day.
const FAULTS: [&str; 7] = [
    "bad-json,rate=0.02",
    "error-200,rate=0.02",
    "status=503,rate=0.08",
    "status=429,retry-after=1,rate=0.03",
    "reset,rate=0.03",
    "latency=100ms..400ms,rate=0.1",
    "outage=1500ms,at=4s",
];

/// Time between two request starts: 25 requests per second.
const PACE: Duration = Duration::from_millis(40);

/// What one logical request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A 2xx with a body that parses.
    Valid,
    /// A 404 for an id that does not exist: the right answer to report.
    NotFound,
    /// A 2xx whose body does not parse, caught (steady) ...
    BadDataCaught,
    /// ... or taken as data (naive).
    BadDataAccepted,
    /// Anything else: outage, 5xx, 429, reset.
    Failed,
}

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    not_found: usize,
    bad_caught: usize,
    bad_accepted: usize,
    failed: usize,
    reached_server: u64,
    wall: Duration,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Valid => self.valid += 1,
            Outcome::NotFound => self.not_found += 1,
            Outcome::BadDataCaught => self.bad_caught += 1,
            Outcome::BadDataAccepted => self.bad_accepted += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// How steady handled what went wrong, from the attempt logs.
#[derive(Debug, Default)]
struct Handling {
    retried_5xx: usize,
    waited_retry_after: usize,
    retried_transport: usize,
    recovered: usize,
    not_retried_4xx: usize,
    semantic_caught: usize,
    gave_up: usize,
    budget_spent: usize,
    failed_fast: usize,
    breaker_opened: usize,
}

/// The paths: items that exist, and every 33rd an id that does not (a 404).
fn paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 33 == 32 {
                format!("/items/{}", 1000 + i)
            } else {
                format!("/items/{}", 1 + (i * 37) % 100)
            }
        })
        .collect()
}

fn chaos(seed: u64) -> anyhow::Result<ChaosServer> {
    let mut config = ChaosConfig::new().seed(seed);
    for fault in FAULTS {
        config = config.fault(fault).map_err(anyhow::Error::msg)?;
    }
    Ok(ChaosServer::start(config)?)
}

/// Runs `call` for every path, paced and bounded in concurrency; returns the outcomes
/// in order and the wall time.
async fn drive<F, Fut, T>(paths: &[String], concurrency: usize, call: F) -> (Vec<T>, Duration)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = T> + 'static,
    T: 'static,
{
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(paths.len());
    let local = tokio::task::LocalSet::new();
    for (i, path) in paths.iter().enumerate() {
        let fut = call(path.clone());
        let limit = Arc::clone(&limit);
        let start_at = started + PACE * i as u32;
        tasks.push(local.spawn_local(async move {
            tokio::time::sleep_until(start_at.into()).await;
            let _permit = limit.acquire_owned().await.expect("semaphore");
            fut.await
        }));
    }
    let results = local
        .run_until(async {
            let mut out = Vec::with_capacity(tasks.len());
            for task in tasks {
                out.push(task.await.expect("demo task"));
            }
            out
        })
        .await;
    (results, started.elapsed())
}

async fn naive_run(args: &DemoArgs, paths: &[String]) -> anyhow::Result<Tally> {
    let concurrency = args.concurrency.unwrap_or(16);
    let server = chaos(args.seed)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One attempt, one generous timeout, no checks beyond the status.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = server.url("");
    let (outcomes, wall) = drive(paths, concurrency, |path| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let Ok(resp) = client.get(&url).send().await else {
                return Outcome::Failed;
            };
            let status = resp.status();
            let Ok(body) = resp.bytes().await else {
                return Outcome::Failed;
            };
            if status == 404 {
                Outcome::NotFound
            } else if !status.is_success() {
                Outcome::Failed
            } else if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
                // The naive client takes any JSON as data; the demo knows better.
                if value.get("error").is_some_and(|e| !e.is_null()) {
                    Outcome::BadDataAccepted
                } else {
                    Outcome::Valid
                }
            } else {
                // The naive client checked the status and moved on with this body.
                Outcome::BadDataAccepted
            }
        }
    })
    .await;
    let mut tally = Tally::default();
    outcomes.into_iter().for_each(|o| tally.add(o));
    tally.reached_server = server.stats().requests();
    tally.wall = wall;
    Ok(tally)
}

async fn steady_run(args: &DemoArgs, paths: &[String]) -> anyhow::Result<(Tally, Handling)> {
    let concurrency = args.concurrency.unwrap_or(16);
    let server = chaos(args.seed)?;
    let client = steady::Client::new()?;
    let base = server.url("");
    let (results, wall) = drive(paths, concurrency, |path| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move { client.get(&url).send().await }
    })
    .await;
    let mut tally = Tally::default();
    let mut handling = Handling::default();
    for result in &results {
        let log = match result {
            Ok(resp) => resp.attempt_log(),
            Err(err) => err.attempt_log(),
        };
        for attempt in log {
            if let Decision::Retry { reason, .. } = attempt.decision() {
                match (reason, attempt.status(), attempt.layer()) {
                    (WaitReason::RetryAfter, _, _) => handling.waited_retry_after += 1,
                    (_, Some(s), _) if s.is_server_error() => handling.retried_5xx += 1,
                    (_, _, Some(Layer::Transport)) => handling.retried_transport += 1,
                    _ => handling.retried_5xx += 1,
                }
            }
        }
        let guards = match result {
            Ok(resp) => resp.guard_log(),
            Err(err) => err.guard_log(),
        };
        handling.breaker_opened += guards
            .iter()
            .filter(|e| e.message().starts_with("circuit opened"))
            .count();
        let outcome = match result {
            Ok(resp) => {
                if resp.attempts() > 1 {
                    handling.recovered += 1;
                }
                Outcome::Valid
            }
            Err(err) if err.layer() == Layer::Semantic => {
                handling.semantic_caught += 1;
                Outcome::BadDataCaught
            }
            Err(err)
                if err.stop_reason() == Some(StopReason::NotRetryable)
                    && err.status().is_some_and(|s| s.is_client_error()) =>
            {
                handling.not_retried_4xx += 1;
                if err.status().is_some_and(|s| s == 404) {
                    Outcome::NotFound
                } else {
                    Outcome::Failed
                }
            }
            Err(err)
                if err.layer() == Layer::Guard
                    || err.stop_reason() == Some(StopReason::CircuitOpen) =>
            {
                handling.failed_fast += 1;
                Outcome::Failed
            }
            Err(err) if err.stop_reason() == Some(StopReason::BudgetExhausted) => {
                handling.budget_spent += 1;
                Outcome::Failed
            }
            Err(_) => {
                handling.gave_up += 1;
                Outcome::Failed
            }
        };
        tally.add(outcome);
    }
    tally.reached_server = server.stats().requests();
    tally.wall = wall;
    Ok((tally, handling))
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.scenario == DemoScenario::Capacity {
        return capacity::run(
            args.requests.unwrap_or(1200),
            args.concurrency.unwrap_or(64),
        )
        .await;
    }
    let requests = args.requests.unwrap_or(200);
    let concurrency = args.concurrency.unwrap_or(16);
    let paths = paths(requests);
    println!(
        "steady demo: the same {} requests against the same flaky API, twice ({} at a time, 25 started per second).",
        requests, concurrency
    );
    println!(
        "The API is `steady chaos` on 127.0.0.1 (seed {}) with:",
        args.seed
    );
    println!("  503 for 8% of requests, 429 with Retry-After: 1 for 3%, connection resets 3%,");
    println!(
        "  slow answers (100-400ms) 10%, invalid JSON in a 200 for 2%, {{\"error\": ...}} in a 200 for 2%,\n  an outage from 4s to 5.5s,"
    );
    println!("  and ids that do not exist (404) for 3%.\n");

    eprint!("  running the naive client (one attempt, 30s timeout, status check) ...");
    let naive = naive_run(&args, &paths).await?;
    eprintln!(" {}", steady::duration::human(naive.wall));
    eprint!("  running steady with its defaults ...");
    let (steady, handling) = steady_run(&args, &paths).await?;
    eprintln!(" {}\n", steady::duration::human(steady.wall));

    let n = requests.max(1) as f64;
    let pct = |k: usize| format!("{k} ({:.1}%)", 100.0 * k as f64 / n);
    let row = |label: &str, a: String, b: String| println!("  {label:<44} {a:>14}  {b:>14}");
    row("", "naive client".into(), "steady".into());
    row(
        "answered with valid data",
        pct(naive.valid),
        pct(steady.valid),
    );
    row(
        "404 reported (the id does not exist)",
        naive.not_found.to_string(),
        steady.not_found.to_string(),
    );
    row(
        "bad 200 caught (invalid JSON, error body)",
        naive.bad_caught.to_string(),
        steady.bad_caught.to_string(),
    );
    row(
        "bad 200 taken as data (a silent bug)",
        naive.bad_accepted.to_string(),
        steady.bad_accepted.to_string(),
    );
    row(
        "failed: outage, 5xx, 429 or reset",
        naive.failed.to_string(),
        steady.failed.to_string(),
    );
    row(
        "requests that reached the server",
        naive.reached_server.to_string(),
        steady.reached_server.to_string(),
    );
    row(
        "wall time",
        steady::duration::human(naive.wall),
        steady::duration::human(steady.wall),
    );

    println!("\nHow steady handled what went wrong:");
    let line = |label: &str, k: usize| println!("  {label:<58} {k:>5}");
    line(
        "retries after a 5xx (backoff with jitter)",
        handling.retried_5xx,
    );
    line(
        "waits for the server's Retry-After (429)",
        handling.waited_retry_after,
    );
    line(
        "retries after a reset or refused connection (outage)",
        handling.retried_transport,
    );
    line("calls that succeeded after retrying", handling.recovered);
    line(
        "correctly not retried: 4xx (retrying cannot help)",
        handling.not_retried_4xx,
    );
    line(
        "bad 200s caught instead of used (semantic layer)",
        handling.semantic_caught,
    );
    line(
        "circuit breaker opened (the host looked down)",
        handling.breaker_opened,
    );
    line(
        "failed fast while the circuit was open (nothing sent)",
        handling.failed_fast,
    );
    line(
        "not retried: the retry budget was spent (load capped)",
        handling.budget_spent,
    );
    line(
        "gave up: every retry used or the deadline reached",
        handling.gave_up,
    );
    println!(
        "\nEvery wait stayed within the 60s deadline; no call was retried past a 4xx. (The faults are drawn from --seed; timings and counts vary a little by run and machine.)\nTry it on your own API:\n  steady chaos --upstream https://your.api --fault status=503,rate=0.2   then point your client at it."
    );
    Ok(exit::exit(exit::SUCCESS))
}
