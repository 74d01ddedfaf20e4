//! Teaching steady that a `409 Conflict` from this API is worth another try.
//!
//! Some APIs answer `409` while a resource is locked by another writer: the same
//! request succeeds a moment later. steady does not retry a 4xx by default (a wrong
//! request stays wrong), so wrap the default classifier and say so for 409 only.
//! Runs offline against a local chaos server: `cargo run --example custom_classifier`.

use std::time::Duration;

use steady::classify::{AttemptView, Classify, DefaultClassifier, Verdict};
use steady::{Client, Retry};
use steady_chaos::{ChaosConfig, ChaosServer};

/// The default classification, plus: 409 is retryable.
struct RetryConflicts;

impl Classify for RetryConflicts {
    fn classify(&self, attempt: &AttemptView<'_>) -> Verdict {
        if attempt.status().map(|s| s.as_u16()) == Some(409) {
            return Verdict::Retryable;
        }
        DefaultClassifier.classify(attempt)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Half of all requests meet a 409; with this seed, the first two. Each client gets
    // a fresh server so both meet the same dice.
    let api = || -> Result<ChaosServer, Box<dyn std::error::Error>> {
        Ok(ChaosServer::start(
            ChaosConfig::new().fault("status=409,rate=0.5")?.seed(5),
        )?)
    };
    let retry = Retry::exponential().base(Duration::from_millis(50));

    let first = api()?;
    let default = Client::builder().retry(retry.clone()).build()?;
    match default.get(first.url("/items/1")).send().await {
        Ok(resp) => println!(
            "default classifier: {} after {} attempt(s)",
            resp.status(),
            resp.attempts()
        ),
        Err(err) => println!("default classifier: {} (not retried: a 4xx)", err.what()),
    }

    let tolerant = Client::builder()
        .retry(retry)
        .classifier(RetryConflicts)
        .build()?;
    let second = api()?;
    let resp = tolerant.get(second.url("/items/1")).send().await?;
    println!(
        "with RetryConflicts: {} after {} attempt(s): {}",
        resp.status(),
        resp.attempts(),
        resp.attempt_log()
            .iter()
            .map(|a| a.outcome())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
    Ok(())
}
