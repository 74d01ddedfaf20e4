//! A planned branch for when an API is down: primary, then a mirror, then a default.
//!
//! Fall back only on outages (transport failures, timeouts, 5xx, 429): a 4xx or a
//! semantic failure means *our* request or *their* data is wrong, and serving a
//! fallback would hide the bug. Runs offline: `cargo run --example fallback_chain`.

use std::time::Duration;

use steady::{Client, Error, Layer, Retry};
use steady_chaos::{ChaosConfig, ChaosServer};

/// Whether a failure is an outage that a fallback may paper over.
fn is_outage(err: &Error) -> bool {
    match err.layer() {
        Layer::Transport | Layer::Guard => true,
        Layer::Http => err
            .status()
            .is_some_and(|s| s.is_server_error() || s.as_u16() == 429),
        _ => false,
    }
}

/// Tries each source in order; returns the body and which source answered.
async fn fetch(client: &Client, sources: &[(&str, String)]) -> Result<(String, String), Error> {
    let mut last = None;
    for (name, url) in sources {
        match client.get(url).send().await {
            Ok(resp) => return Ok((resp.text(), (*name).to_owned())),
            Err(err) if is_outage(&err) => {
                println!("  {name}: outage ({}), trying the next source", err.kind());
                last = Some(err);
            }
            Err(err) => return Err(err), // a bug, not an outage: surface it
        }
    }
    Err(last.expect("at least one source"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let primary = ChaosServer::start(ChaosConfig::new().fault("outage=1h")?)?;
    let mirror = ChaosServer::start(ChaosConfig::new().fault("status=503,retry-after=1")?)?;
    let healthy = ChaosServer::start(ChaosConfig::new())?;
    let client = Client::builder()
        .retry(
            Retry::exponential()
                .max_retries(1)
                .base(Duration::from_millis(20)),
        )
        .deadline(Duration::from_secs(5))
        .build()?;

    println!("primary down, mirror overloaded:");
    let sources = [
        ("primary", primary.url("/items/3")),
        ("mirror", mirror.url("/items/3")),
    ];
    let (body, source) = match fetch(&client, &sources).await {
        Ok(found) => found,
        Err(err) => {
            println!(
                "  every source failed ({}); serving the default",
                err.kind()
            );
            (
                r#"{"id":3,"name":"unknown","price":null}"#.to_owned(),
                "default".to_owned(),
            )
        }
    };
    println!("  => from {source}: {body}\n");

    println!("primary down, a healthy mirror:");
    let sources = [
        ("primary", primary.url("/items/3")),
        ("mirror", healthy.url("/items/3")),
    ];
    let (body, source) = fetch(&client, &sources).await?;
    println!("  => from {source}: {body}\n");

    println!("a 404 is not an outage: no fallback hides it");
    let sources = [
        ("mirror", healthy.url("/items/404")),
        ("primary", primary.url("/items/404")),
    ];
    match fetch(&client, &sources).await {
        Ok(_) => unreachable!("item 404 does not exist"),
        Err(err) => println!("  => {}", err.what()),
    }
    Ok(())
}
