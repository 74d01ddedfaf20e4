//! Request bodies streamed from the caller (`RequestBuilder::body_stream`): sent
//! whole, chunk by chunk; retried when an attempt failed before a byte of the stream
//! left, never once one had.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use steady_chaos::{Reply, ScriptServer};
use support::client;

fn chunks(
    parts: &[&'static str],
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let parts: Vec<&'static str> = parts.to_vec();
    futures_util::stream::iter(
        parts
            .into_iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes()))),
    )
}

#[tokio::test]
async fn a_streamed_body_arrives_whole() {
    let server = ScriptServer::builder()
        .route("/upload", [Reply::status(201)])
        .start();
    let resp = client()
        .put(server.url("/upload"))
        .header("Content-Type", "text/csv")
        .body_stream(chunks(&["a,b\n", "1,2\n", "3,4\n"]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let seen = &server.requests()[0];
    assert_eq!(seen.method, "PUT");
    assert_eq!(&seen.body[..], b"a,b\n1,2\n3,4\n");
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    assert_eq!(seen.header("content-type"), Some("text/csv"));
}

#[tokio::test]
async fn once_a_byte_has_left_the_call_is_not_retried() {
    let server = ScriptServer::builder()
        .route("/upload", [Reply::status(503), Reply::status(201)])
        .start();
    let err = client()
        .put(server.url("/upload"))
        .body_stream(chunks(&["part one, ", "part two"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.hits("/upload"), 1, "the stream was sent once");
    let note = err.attempt_log()[0].note().unwrap_or_default().to_owned();
    assert!(
        note.contains("18 B of the streamed request body already sent"),
        "{note}"
    );
}

/// A server that answers its first connection 503 as soon as the head is in, without
/// reading the body, and records the body of the second.
struct EarlyAnswer {
    addr: std::net::SocketAddr,
    second_body: Arc<Mutex<Vec<u8>>>,
}

impl EarlyAnswer {
    /// `keep_alive`: the 503 leaves its connection open (and unread), as a server that
    /// answers before the body is in may.
    fn start(second_head_seen: tokio::sync::oneshot::Sender<()>, keep_alive: bool) -> EarlyAnswer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let second_body = Arc::new(Mutex::new(Vec::new()));
        let body = second_body.clone();
        std::thread::spawn(move || {
            let (mut first, _) = listener.accept().unwrap();
            read_until(&mut first, b"\r\n\r\n");
            if keep_alive {
                let _ = first
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
            } else {
                let _ = first.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let _ = first.shutdown(std::net::Shutdown::Both);
            }
            let (mut second, _) = listener.accept().unwrap();
            read_until(&mut second, b"\r\n\r\n");
            let _ = second_head_seen.send(());
            *body.lock().unwrap() = read_until(&mut second, b"0\r\n\r\n");
            let _ = second.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
            // The first connection stays open until the test is over.
            std::thread::sleep(std::time::Duration::from_secs(5));
            drop(first);
        });
        EarlyAnswer { addr, second_body }
    }
}

fn read_until(conn: &mut std::net::TcpStream, end: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(end) {
        match conn.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => break,
        }
    }
    got
}

/// An upload whose first attempt is answered 503 before a byte of its stream left.
async fn answered_early(keep_alive: bool) {
    let (seen, second_head) = tokio::sync::oneshot::channel();
    let server = EarlyAnswer::start(seen, keep_alive);
    // The stream yields nothing until the server has the second attempt's head: the
    // first attempt cannot have sent a byte of it.
    let gated = futures_util::stream::once(async move {
        let _ = second_head.await;
        Ok::<_, std::io::Error>(Bytes::from_static(b"the whole body"))
    })
    .chain(chunks(&[", and more"]));
    let resp = client()
        .put(format!("http://{}/upload", server.addr))
        .body_stream(gated)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.attempts(), 2);
    let body = server.second_body.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("the whole body") && text.contains(", and more"),
        "{text}"
    );
}

#[tokio::test]
async fn an_attempt_that_failed_before_a_byte_left_gives_the_stream_to_the_next() {
    answered_early(false).await;
}

#[tokio::test]
async fn an_early_answer_on_a_kept_alive_connection_does_not_keep_the_stream() {
    // hyper goes on polling the first attempt's body after the 503: the second
    // attempt's lease stops it, so the stream goes whole to the second.
    answered_early(true).await;
}

#[tokio::test]
async fn a_stream_that_fails_ends_the_call_and_is_not_retried() {
    let server = ScriptServer::builder()
        .route("/upload", [Reply::status(201)])
        .start();
    let failing = futures_util::stream::iter([Err::<Bytes, _>(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the source went away",
    ))]);
    let err = client()
        .put(server.url("/upload"))
        .body_stream(failing)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.what().contains("the source went away"),
        "{}",
        err.what()
    );
    assert_eq!(
        err.attempts(),
        1,
        "the caller's stream failed: nothing to retry"
    );
}

#[tokio::test]
async fn an_empty_stream_answered_503_is_not_sent_again() {
    let server = ScriptServer::builder()
        .route("/upload", [Reply::status(503), Reply::status(201)])
        .start();
    let err = client()
        .put(server.url("/upload"))
        .body_stream(chunks(&[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.hits("/upload"), 1);
}

#[tokio::test]
async fn a_307_after_the_stream_left_is_refused_not_followed() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::redirect(307, "/b")])
        .route("/b", [Reply::status(201)])
        .start();
    let err = client()
        .put(server.url("/a"))
        .body_stream(chunks(&["the body"]))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    assert!(err.to_string().contains("cannot be sent twice"), "{err}");
    assert_eq!((server.hits("/a"), server.hits("/b")), (1, 0));
    assert_eq!(&server.requests()[0].body[..], b"the body");
}

#[tokio::test]
async fn an_event_stream_refuses_a_streamed_body() {
    let err = client()
        .post("http://127.0.0.1:9/feed")
        .body_stream(chunks(&["x"]))
        .send_events()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), steady::ErrorKind::Usage);
}

#[tokio::test]
async fn a_streamed_body_cannot_be_cloned_and_a_later_body_replaces_it() {
    let c = client();
    let builder = c.post("http://127.0.0.1:9/").body_stream(chunks(&["x"]));
    assert!(builder.try_clone().is_none());
    let server = ScriptServer::builder()
        .route("/upload", [Reply::status(200)])
        .start();
    c.post(server.url("/upload"))
        .body_stream(chunks(&["streamed"]))
        .body("bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(&server.requests()[0].body[..], b"bytes");
}
