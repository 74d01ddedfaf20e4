//! Bodies streamed to a writer as they arrive (`RequestBuilder::stream_to`, what
//! `steady get URL | tool` uses): the bytes reach the writer before the body ends, a
//! body cut after some were written is not retried, and a body a check needs whole
//! is read into memory instead.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steady_chaos::{Reply, ScriptServer};
use support::client;

/// A writer the test can read while the call runs.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn taken(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_reach_the_writer_while_the_body_is_still_arriving() {
    // 40 lines, one every 10 ms.
    let body: String = (0..40).map(|i| format!("line {i}\n")).collect();
    let server = ScriptServer::builder()
        .route(
            "/log",
            [Reply::text(body.clone()).trickle(Duration::from_millis(2))],
        )
        .start();
    let out = Shared::default();
    let call = {
        let (client, url, out) = (client(), server.url("/log"), out.clone());
        tokio::spawn(async move { client.get(&url).stream_to(out).send().await })
    };
    // Some of it is out before the call is over.
    let mut seen_early = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let n = out.taken().len();
        if n > 0 && n < body.len() {
            seen_early = true;
            break;
        }
    }
    let resp = call.await.unwrap().unwrap();
    assert!(seen_early, "nothing was written before the end");
    assert_eq!(out.taken(), body.as_bytes());
    assert!(resp.bytes().is_empty(), "not kept in memory as well");
    assert_eq!(resp.saved_bytes(), Some(body.len() as u64));
}

#[tokio::test]
async fn a_body_cut_after_bytes_were_written_is_not_retried() {
    let server = ScriptServer::builder()
        .route("/cut", [Reply::text("x".repeat(4000)).reset_after(1500)])
        .start();
    let out = Shared::default();
    let err = client()
        .get(server.url("/cut"))
        .stream_to(out.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        server.hits("/cut"),
        1,
        "a retry would write the start again"
    );
    assert!(!out.taken().is_empty());
    let note = err.attempt_log()[0].note().unwrap_or_default().to_owned();
    assert!(
        note.contains("already written to the output: not retried"),
        "{note}"
    );
}

#[tokio::test]
async fn a_body_a_check_needs_is_read_into_memory_not_streamed() {
    let server = ScriptServer::builder()
        .route("/j", [Reply::json(200, r#"{"id": 1}"#)])
        .route("/e", [Reply::status(503), Reply::text("fine")])
        .start();
    let out = Shared::default();
    let resp = client()
        .get(server.url("/j"))
        .stream_to(out.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text(), r#"{"id": 1}"#);
    assert!(
        out.taken().is_empty(),
        "the error-in-200 check reads JSON whole"
    );
    // An error answer is never written; the retry's 200 is.
    let resp = client()
        .get(server.url("/e"))
        .stream_to(out.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.taken(), b"fine");
    assert_eq!(resp.attempts(), 2);
}
