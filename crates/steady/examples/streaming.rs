//! Bodies as they arrive: an export read chunk by chunk, an upload streamed from a
//! producer, and a server-sent-events feed that breaks and resumes from its last id.
//!
//! Starts a local server that answers each of them (the feed is reset halfway
//! through, once), so it runs offline: `cargo run -p steady --example streaming`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use steady::Client;
use steady_chaos::{Reply, ScriptServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), steady::Error> {
    let export: String = (1..=5).map(|i| format!("{{\"row\": {i}}}\n")).collect();
    let first_feed = "retry: 100\nid: 1\ndata: order 1 shipped\n\nid: 2\ndata: order 2 shi";
    let api = ScriptServer::builder()
        // One 503 first: retried, as any call is, until the head of an answer.
        .route(
            "/export.ndjson",
            [
                Reply::status(503),
                Reply::text(export).header("Content-Type", "application/x-ndjson"),
            ],
        )
        .route("/upload", [Reply::status(201)])
        .route(
            "/feed",
            [
                Reply::status(200)
                    .header("Content-Type", "text/event-stream")
                    .body(format!("{first_feed}pped\n\n"))
                    .reset_after(first_feed.len()),
                Reply::status(200)
                    .header("Content-Type", "text/event-stream")
                    .body("id: 2\ndata: order 2 shipped\n\nid: 3\ndata: order 3 shipped\n\n"),
                Reply::status(204),
            ],
        )
        .start();
    let client = Client::builder()
        .read_timeout(Duration::from_secs(5))
        .build()?;

    // 1. An export, chunk by chunk: the head at once, the body as it comes.
    let mut export = client
        .get(api.url("/export.ndjson"))
        .send_streaming()
        .await?;
    println!(
        "export: {} after {} attempts",
        export.response().status(),
        export.response().attempts()
    );
    while let Some(chunk) = export.chunk().await? {
        print!("{}", String::from_utf8_lossy(&chunk));
    }

    // 2. An upload from a producer: never held whole in memory.
    let rows = futures_util::stream::iter(
        (1..=3).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("{i},value {i}\n")))),
    );
    let uploaded = client
        .put(api.url("/upload"))
        .header("Content-Type", "text/csv")
        .body_stream(rows)
        .send()
        .await?;
    println!(
        "upload: {}, the server read {} bytes",
        uploaded.status(),
        api.requests().last().map_or(0, |r| r.body.len())
    );

    // 3. Server-sent events: the first connection breaks mid-event; steady connects
    // again with Last-Event-ID: 1 and the server resumes from there.
    let mut feed = client.get(api.url("/feed")).send_events().await?;
    while let Some(event) = feed.next().await {
        let event = event?;
        println!("event {}: {}", event.id(), event.data());
    }
    println!("feed: ended after {} reconnections", feed.reconnects());
    Ok(())
}
