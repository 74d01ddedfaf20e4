//! Bodies handed over as they arrive (`RequestBuilder::send_streaming`): the head and
//! the first chunk before the rest is even sent, retries up to the head and none
//! after, a body cut short is an error that says how much came, the read timeout per
//! chunk, the deadline over the whole body, decoding chunk by chunk, limits.

mod support;

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use steady::classify::Fault;
use steady::{ErrorKind, Layer};
use steady_chaos::{Reply, ScriptServer};
use support::gated::{chunk, chunked_head, Gated, Script, LAST_CHUNK};
use support::{client, fast};

#[tokio::test]
async fn the_head_and_the_first_chunk_arrive_before_the_rest_is_sent() {
    let server = Gated::start(vec![Script {
        parts: vec![
            [chunked_head("text/plain"), chunk("first ")].concat(),
            [chunk("second"), LAST_CHUNK.to_vec()].concat(),
        ],
        close: true,
    }]);
    let mut body = client()
        .get(server.url("/log"))
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(body.response().status(), 200);
    assert!(body.response().bytes().is_empty());
    // The server has not sent "second": it waits for the gate.
    assert_eq!(body.chunk().await.unwrap().unwrap(), "first ");
    assert_eq!(body.received(), 6);
    server.open();
    assert_eq!(body.chunk().await.unwrap().unwrap(), "second");
    assert_eq!(body.chunk().await.unwrap(), None);
    assert_eq!(body.received(), 12);
    assert_eq!(server.heads().len(), 1);
}

#[tokio::test]
async fn failures_before_the_head_are_retried_then_the_body_streams() {
    let server = ScriptServer::builder()
        .route(
            "/export",
            [
                Reply::status(503),
                Reply::reset(),
                Reply::text("line 1\nline 2\n"),
            ],
        )
        .start();
    let body = client()
        .get(server.url("/export"))
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(body.response().attempts(), 3);
    assert_eq!(body.collect().await.unwrap(), "line 1\nline 2\n");
    assert_eq!(server.hits("/export"), 3);
}

#[tokio::test]
async fn a_body_cut_short_says_how_much_came_and_is_not_retried() {
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::text("0123456789abcdefghij").reset_after(10)],
        )
        .fallback(Reply::text("never asked for"))
        .start();
    let mut body = client()
        .get(server.url("/export"))
        .send_streaming()
        .await
        .unwrap();
    let mut got = Vec::new();
    let err = loop {
        match body.chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(&chunk),
            Ok(None) => panic!("a body reset after 10 bytes ended cleanly"),
            Err(err) => break err,
        }
    };
    assert_eq!(got, b"0123456789");
    assert_eq!(err.body_received(), Some(10));
    assert_eq!(err.layer(), Layer::Transport);
    assert!(!err.is_retryable());
    let words = err.to_string();
    assert!(words.contains("after 10 B of the body"), "{words}");
    // Nothing more is read after an error, and nothing was sent again.
    assert_eq!(body.chunk().await.unwrap(), None);
    assert_eq!(server.total_hits(), 1);
}

#[tokio::test]
async fn a_body_closed_before_its_length_is_an_error_not_a_short_body() {
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::text("0123456789abcdefghij").truncate_at(4)],
        )
        .start();
    let body = client()
        .get(server.url("/export"))
        .send_streaming()
        .await
        .unwrap();
    let err = body.collect().await.unwrap_err();
    assert_eq!(err.body_received(), Some(4));
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(server.hits("/export"), 1);
}

/// A body that sends "tick" and then nothing, read up to the tick under these limits.
async fn after_one_tick(read: Duration, deadline: Duration) -> (Gated, steady::Streaming) {
    let server = Gated::start(vec![Script {
        parts: vec![[chunked_head("text/plain"), chunk("tick")].concat()],
        close: false,
    }]);
    let client = fast().0.read_timeout(read).build().unwrap();
    let mut body = client
        .get(server.url("/tail"))
        .timeout(deadline)
        .send_streaming()
        .await
        .unwrap();
    assert_eq!(body.chunk().await.unwrap().unwrap(), "tick");
    (server, body)
}

#[tokio::test]
async fn silence_between_chunks_past_the_read_timeout_ends_the_stream() {
    let (_server, mut body) =
        after_one_tick(Duration::from_millis(50), Duration::from_secs(30)).await;
    let err = body.chunk().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ReadTimeout));
    assert!(err.is_timeout());
    assert_eq!(err.body_received(), Some(4));
}

#[tokio::test]
async fn the_deadline_bounds_the_whole_body() {
    let (_server, mut body) =
        after_one_tick(Duration::from_secs(30), Duration::from_millis(100)).await;
    let err = body.chunk().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Deadline));
    assert_eq!(err.body_received(), Some(4));
}

#[tokio::test]
async fn a_gzip_body_is_decoded_as_it_streams() {
    let text: String = (0..2000).map(|i| format!("row {i}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let server = ScriptServer::builder()
        .route(
            "/rows",
            [Reply::status(200)
                .header("Content-Type", "text/plain")
                .header("Content-Encoding", "gzip")
                .body(gz.finish().unwrap())],
        )
        .start();
    let body = client()
        .get(server.url("/rows"))
        .send_streaming()
        .await
        .unwrap();
    assert!(body.response().headers().get("content-encoding").is_none());
    let pieces: Vec<_> = body.map(|chunk| chunk.unwrap()).collect().await;
    assert_eq!(pieces.concat(), text.as_bytes());
    assert!(server.requests()[0]
        .header("accept-encoding")
        .unwrap()
        .contains("gzip"));
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_an_error_when_the_decoder_finds_it() {
    let server = ScriptServer::builder()
        .route(
            "/rows",
            [Reply::status(200)
                .header("Content-Encoding", "gzip")
                .body(&b"\x1f\x8b\x08\x00not gzip at all"[..])],
        )
        .start();
    let body = client()
        .get(server.url("/rows"))
        .send_streaming()
        .await
        .unwrap();
    let err = body.collect().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Protocol));
    assert!(err.what().contains("cannot be decoded"), "{}", err.what());
    assert_eq!(err.body_received(), Some(0));
}

#[tokio::test]
async fn max_body_bounds_the_stream_counted_after_decoding() {
    let server = ScriptServer::builder()
        .route("/big", [Reply::huge(1 << 20)])
        .start();
    let body = client()
        .get(server.url("/big"))
        .max_body(1000)
        .send_streaming()
        .await;
    // A Content-Length past the limit is refused before the body: an error at once.
    let err = body.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));
    // 5000 bytes that gzip to a few dozen: the limit counts what they decode to.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[b'x'; 5000]).unwrap();
    let server = ScriptServer::builder()
        .route(
            "/big",
            [Reply::status(200)
                .header("Content-Encoding", "gzip")
                .body(gz.finish().unwrap())],
        )
        .start();
    let mut got = 0;
    let mut body = client()
        .get(server.url("/big"))
        .max_body(1000)
        .send_streaming()
        .await
        .unwrap();
    let err = loop {
        match body.chunk().await {
            Ok(Some(chunk)) => got += chunk.len(),
            Ok(None) => panic!("5000 bytes passed a limit of 1000"),
            Err(err) => break err,
        }
    };
    assert!(got <= 1000, "{got} bytes handed over");
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));
}

#[tokio::test]
async fn an_error_answer_is_read_whole_and_explained() {
    let server = ScriptServer::builder()
        .route(
            "/gone",
            [Reply::json(404, r#"{"error": "no such export"}"#)],
        )
        .start();
    let err = client()
        .get(server.url("/gone"))
        .send_streaming()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.server_message(), Some("no such export"));
    assert_eq!(server.hits("/gone"), 1);
}

#[tokio::test]
async fn checks_that_read_the_whole_body_are_refused_before_sending() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::text("x")])
        .start();
    let err = client()
        .get(server.url("/x"))
        .validate(|_| Ok(()))
        .send_streaming()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("use send()"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = client()
        .get(server.url("/x"))
        .save_to(dir.path().join("x"))
        .send_streaming()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn an_empty_body_labelled_gzip_is_an_empty_stream_not_an_error() {
    // nginx labels the empty body of a HEAD (and a 304) with its coding.
    let server = ScriptServer::builder()
        .route(
            "/empty",
            [Reply::status(200).header("Content-Encoding", "gzip")],
        )
        .start();
    for method in [steady::Method::GET, steady::Method::HEAD] {
        let body = client()
            .request(method, server.url("/empty"))
            .send_streaming()
            .await
            .unwrap();
        assert!(body.collect().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_broken_body_is_counted_after_the_call_counted_its_head() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let server = ScriptServer::builder()
        .route(
            "/export",
            [Reply::text("0123456789abcdefghij").reset_after(10)],
        )
        .start();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let body = client()
        .get(server.url("/export"))
        .send_streaming()
        .await
        .unwrap();
    body.collect().await.unwrap_err();
    let broken: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, _, _, _)| key.key().name() == "steady.client.streams.broken")
        .map(|(key, _, _, value)| {
            let fault = key
                .key()
                .labels()
                .find(|l| l.key() == "error.type")
                .map(|l| l.value().to_owned())
                .unwrap_or_default();
            let DebugValue::Counter(n) = value else {
                panic!("a counter")
            };
            (fault, n)
        })
        .collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0].1, 1);
    assert!(!broken[0].0.is_empty());
}
