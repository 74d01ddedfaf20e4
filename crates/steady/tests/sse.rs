//! Server-sent events (`RequestBuilder::send_events`): events handed over as they
//! come, a stream that ends or breaks connects again with `Last-Event-ID` after the
//! server's `retry:`, silence past the read timeout is a break, 204 says stop, and an
//! answer that is not an event stream is an error.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use steady::ErrorKind;
use steady_chaos::{Reply, ScriptServer};
use support::gated::{chunk, chunked_head, Gated, Script, LAST_CHUNK};
use support::{client, fast};

fn events(body: &str) -> Reply {
    Reply::status(200)
        .header("Content-Type", "text/event-stream")
        .body(body.to_owned())
}

#[tokio::test]
async fn each_event_is_handed_over_before_the_next_is_sent() {
    let server = Gated::start(vec![
        Script {
            parts: vec![
                [
                    chunked_head("text/event-stream"),
                    chunk(": hello\n\nretry: 5\nid: 1\nevent: add\ndata: {\"n\": 1}\n\n"),
                ]
                .concat(),
                [
                    chunk("id: 2\ndata: two\ndata: lines\n\n"),
                    LAST_CHUNK.to_vec(),
                ]
                .concat(),
            ],
            close: true,
        },
        Script {
            parts: vec![b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec()],
            close: true,
        },
    ]);
    let mut events = client()
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap();
    // The server holds event 2 back until the gate opens.
    let first = events.next().await.unwrap().unwrap();
    assert_eq!((first.id(), first.event()), ("1", "add"));
    assert_eq!(first.json::<serde_json::Value>().unwrap()["n"], 1);
    assert_eq!(first.retry(), Some(Duration::from_millis(5)));
    server.open();
    let second = events.next().await.unwrap().unwrap();
    assert_eq!((second.id(), second.event()), ("2", "message"));
    assert_eq!(second.data(), "two\nlines");
    // The stream ended: one reconnection, answered 204, and the stream is over.
    assert!(events.next().await.is_none());
    assert_eq!(events.reconnects(), 1);
    let heads = server.heads();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("accept: text/event-stream"),
        "{}",
        heads[0]
    );
    assert!(!heads[0].to_ascii_lowercase().contains("last-event-id"));
    assert!(
        heads[1].to_ascii_lowercase().contains("last-event-id: 2"),
        "{}",
        heads[1]
    );
}

#[tokio::test]
async fn a_broken_stream_connects_again_from_the_last_event_id() {
    let first = "retry: 10\nid: 5\ndata: x\n\nid: 6\ndata: half an ev";
    let server = ScriptServer::builder()
        .route(
            "/feed",
            [
                // Reset after the first event and half of the second.
                events(&format!("{first}ent\n\n")).reset_after(first.len()),
                events("id: 7\ndata: y\n\n"),
                Reply::status(204),
            ],
        )
        .start();
    let got: Vec<(String, String)> = client()
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.id().to_owned(), e.data().to_owned())
        })
        .collect()
        .await;
    // The half event is dropped, its id with it: the server resumes after id 5.
    assert_eq!(got, [("5".into(), "x".into()), ("7".into(), "y".into())]);
    let ids: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("last-event-id").map(str::to_owned))
        .collect();
    assert_eq!(ids, [None, Some("5".into()), Some("7".into())]);
}

#[tokio::test]
async fn silence_past_the_read_timeout_is_a_break_that_reconnects() {
    let server = Gated::start(vec![
        Script {
            // One event, then the connection stays open and silent.
            parts: vec![[
                chunked_head("text/event-stream"),
                chunk("retry: 0\nid: 1\ndata: a\n\n"),
            ]
            .concat()],
            close: false,
        },
        Script {
            parts: vec![b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec()],
            close: true,
        },
    ]);
    let client = fast()
        .0
        .read_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let got: Vec<String> = client
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap()
        .map(|e| e.unwrap().data().to_owned())
        .collect()
        .await;
    assert_eq!(got, ["a"]);
    let heads = server.heads();
    assert_eq!(heads.len(), 2);
    assert!(heads[1].to_ascii_lowercase().contains("last-event-id: 1"));
}

#[tokio::test]
async fn a_reconnection_that_fails_ends_the_stream_with_its_error() {
    let server = ScriptServer::builder()
        .route(
            "/feed",
            [
                events("retry: 0\ndata: a\n\n"),
                Reply::json(401, r#"{"error": "token expired"}"#),
            ],
        )
        .start();
    let mut events = client()
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap();
    assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
    let err = events.next().await.unwrap().unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.server_message(), Some("token expired"));
    assert!(events.next().await.is_none());
    assert_eq!(server.hits("/feed"), 2);
}

#[tokio::test]
async fn an_answer_that_is_not_an_event_stream_is_an_error() {
    let server = ScriptServer::builder()
        .route("/feed", [Reply::json(200, r#"{"items": []}"#)])
        .start();
    let err = client()
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedType);
    assert!(err.to_string().contains("not text/event-stream"), "{err}");
    assert_eq!(server.hits("/feed"), 1);
}

#[tokio::test]
async fn a_204_at_once_is_a_stream_with_no_events() {
    let server = ScriptServer::builder()
        .route("/feed", [Reply::status(204)])
        .start();
    let mut events = client()
        .get(server.url("/feed"))
        .send_events()
        .await
        .unwrap();
    assert!(events.next().await.is_none());
    assert_eq!(server.hits("/feed"), 1);
}
