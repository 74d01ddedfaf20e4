//! A flaky API, called the optimistic way and the steady way.
//!
//! Starts a local server that fails the way real APIs do (a 503, a reset connection, a
//! 429 with `Retry-After`) before it answers, then calls it with steady's defaults and
//! prints what happened on each attempt. Runs offline: `cargo run --example basic`.

use std::time::Duration;

use steady::{Client, Decision, Retry};
use steady_chaos::{Reply, ScriptServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), steady::Error> {
    let api = ScriptServer::builder()
        .route(
            "/orders",
            [
                Reply::json(503, r#"{"error":"overloaded, try again"}"#),
                Reply::reset(),
                Reply::status(429).header("Retry-After", "1"),
                Reply::json(200, r#"{"orders":[{"id":1,"total":42.5}]}"#),
            ],
        )
        .route(
            "/orders/999",
            [Reply::json(
                404,
                r#"{"message":"order 999 does not exist"}"#,
            )],
        )
        .start();

    // The defaults: 3.05s connect timeout, 27s read timeout, 60s deadline, 3 retries
    // with jittered exponential backoff. The backoff base is shortened for the demo.
    let client = Client::builder()
        .retry(Retry::exponential().base(Duration::from_millis(200)))
        .build()?;

    println!(
        "GET {} (the server fails three times first)",
        api.url("/orders")
    );
    let resp = client.get(api.url("/orders")).send().await?;
    for attempt in resp.attempt_log() {
        let decision = match attempt.decision() {
            Decision::Done => "done".to_owned(),
            _ => attempt.why(),
        };
        println!(
            "  attempt {}: {:<44} at {:>6} -> {decision}",
            attempt.number(),
            attempt.outcome(),
            format!("{}ms", attempt.started().as_millis()),
        );
    }
    println!(
        "  => {} in {} attempts: {}\n",
        resp.status(),
        resp.attempts(),
        resp.text()
    );

    println!(
        "GET {} (a 4xx: retrying will not help)",
        api.url("/orders/999")
    );
    let err = client
        .get(api.url("/orders/999"))
        .send()
        .await
        .expect_err("a 404");
    for line in err.explain().lines() {
        println!("  {line}");
    }
    println!(
        "\nThe server saw {} requests for /orders and {} for /orders/999.",
        api.hits("/orders"),
        api.hits("/orders/999")
    );
    Ok(())
}
