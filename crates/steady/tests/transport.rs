//! Faults below HTTP: refused, reset, closed, hung, trickled, truncated, oversized.

mod support;

use std::io::Write;
use std::time::Duration;

use steady::ErrorKind;
use steady::{Fault, Layer, Retry, StopReason};
use steady_chaos::{Reply, ScriptServer};
use support::{client, fast};

const BODY: &str = r#"{"items":[1,2,3,4,5,6,7,8,9,10],"next":null}"#;

#[tokio::test]
async fn refused_connection_is_a_retried_transport_failure() {
    let port = ScriptServer::builder().start().addr().port();
    let err = client()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(err.fault(), Some(Fault::Refused));
    assert!(err.is_connect());
    assert_eq!(err.attempts(), 4);
    assert!(
        err.explain().contains("Check that the service is running"),
        "{}",
        err.explain()
    );
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure_and_not_retried() {
    let (builder, _) = fast();
    let client = builder
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client
        .get("http://does-not-exist.invalid/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Dns));
    assert_eq!(
        err.kind(),
        ErrorKind::Transport(steady::classify::Fault::Dns)
    );
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.stop_reason(), Some(StopReason::NotRetryable));
}

#[tokio::test]
async fn reset_and_close_before_the_response_are_retried_for_get() {
    for (reply, fault) in [
        (Reply::reset(), Fault::Reset),
        (Reply::close(), Fault::Closed),
    ] {
        let server = ScriptServer::builder().route("/x", [reply]).start();
        let err = client().get(server.url("/x")).send().await.unwrap_err();
        assert_eq!(err.fault(), Some(fault));
        assert_eq!(server.hits("/x"), 4, "{fault:?}");
    }
}

#[tokio::test]
async fn reset_or_truncation_mid_body_is_retried_and_then_succeeds() {
    for broken in [
        Reply::json(200, BODY).reset_after(7),
        Reply::json(200, BODY).truncate_at(7),
    ] {
        let server = ScriptServer::builder()
            .route("/x", [broken, Reply::json(200, BODY)])
            .start();
        let resp = client().get(server.url("/x")).send().await.unwrap();
        assert_eq!(server.hits("/x"), 2);
        assert_eq!(resp.text(), BODY, "never a truncated success");
        let first = resp.attempt_log()[0].fault().unwrap();
        assert!(matches!(first, Fault::Reset | Fault::Closed), "{first:?}");
    }
}

#[tokio::test]
async fn a_reset_exactly_halfway_through_the_body_is_not_a_success() {
    // Half read, half left: the point where the remaining length equals what was read.
    for cut in [BODY.len() / 2, BODY.len() - 1, 1] {
        let server = ScriptServer::builder()
            .route("/x", [Reply::json(200, BODY).reset_after(cut)])
            .start();
        let (builder, _) = fast();
        let err = builder
            .retry(Retry::none())
            .build()
            .unwrap()
            .get(server.url("/x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.fault(), Some(Fault::Reset), "cut at {cut}: {err}");
    }
}

#[tokio::test]
async fn a_read_timeout_after_a_redirect_names_the_hop_that_went_silent() {
    let server = ScriptServer::builder()
        .route("/old", [Reply::redirect(302, "/silent")])
        .route("/silent", [Reply::hang()])
        .start();
    let (builder, _) = fast();
    let client = builder
        .read_timeout(Duration::from_millis(50))
        .retry(Retry::exponential().max_retries(0))
        .build()
        .unwrap();
    let err = client.get(server.url("/old")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ReadTimeout));
    assert_eq!(err.attempt_log().len(), 1);
    assert_eq!(err.attempt_log()[0].url(), server.url("/silent"));
    assert_eq!((server.hits("/old"), server.hits("/silent")), (1, 1));
}

#[tokio::test]
async fn a_server_that_accepts_and_hangs_hits_the_read_timeout_each_attempt() {
    let server = ScriptServer::builder().route("/x", [Reply::hang()]).start();
    let (builder, _) = fast();
    let client = builder
        .read_timeout(Duration::from_millis(50))
        .retry(Retry::exponential().max_retries(2))
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ReadTimeout));
    assert!(err.is_timeout());
    assert_eq!(server.hits("/x"), 3);
}

#[tokio::test]
async fn a_trickling_body_cannot_defeat_the_deadline() {
    // One byte every 50ms never trips a 500ms read timeout; only the deadline ends it.
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, BODY).trickle(Duration::from_millis(50))],
        )
        .start();
    let client = steady::Client::builder()
        .read_timeout(Duration::from_millis(500))
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Deadline));
    assert_eq!(
        err.kind(),
        ErrorKind::Transport(steady::classify::Fault::Deadline)
    );
    assert_eq!(err.stop_reason(), Some(StopReason::DeadlineReached));
    // One request, ended by the deadline (the body alone would take about 2.2s).
    assert_eq!(server.hits("/x"), 1);
}

#[tokio::test]
async fn a_slow_first_attempt_leaves_the_second_only_what_is_left() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(503).delay(Duration::from_millis(150)),
                Reply::hang(),
            ],
        )
        .start();
    let client = steady::Client::builder()
        .read_timeout(Duration::from_secs(5))
        .deadline(Duration::from_millis(400))
        .retry(Retry::exponential().base(Duration::from_millis(10)))
        .build()
        .unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(server.hits("/x"), 2);
    assert_eq!(err.fault(), Some(Fault::Deadline));
    // The hung second attempt would otherwise wait for the 5s read timeout.
    assert!(
        err.elapsed() < Duration::from_secs(2),
        "{:?}",
        err.elapsed()
    );
}

#[tokio::test]
async fn a_body_over_the_limit_fails_cleanly_and_is_not_retried() {
    let big = "x".repeat(4096);
    let server = ScriptServer::builder()
        .route("/x", [Reply::text(big)])
        .start();
    let (builder, _) = fast();
    let client = builder.max_body(1024).build().unwrap();
    let err = client.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));
    assert_eq!(server.hits("/x"), 1);
}

#[tokio::test]
async fn a_body_without_length_is_cut_off_at_the_limit_while_streaming() {
    // No Content-Length: the limit must be enforced on the bytes as they arrive.
    let mut raw =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'y', 64 * 1024));
    let server = ScriptServer::builder()
        .route("/x", [Reply::raw(raw)])
        .start();
    let (builder, _) = fast();
    let err = builder
        .max_body(1000)
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));
}

#[tokio::test]
async fn the_limit_counts_decompressed_bytes() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b'0'; 1024 * 1024]).unwrap();
    let gz = encoder.finish().unwrap();
    assert!(
        gz.len() < 8 * 1024,
        "the compressed body is small: {}",
        gz.len()
    );
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::status(200)
                .header("Content-Encoding", "gzip")
                .body(gz)],
        )
        .start();
    let (builder, _) = fast();
    let err = builder
        .max_body(64 * 1024)
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BodyTooLarge));

    let resp = client().get(server.url("/x")).send().await.unwrap();
    assert_eq!(resp.bytes().len(), 1024 * 1024);
}

#[tokio::test]
async fn a_json_body_that_does_not_parse_is_a_semantic_failure() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, r#"{"items": [1, 2"#)])
        .start();
    let err = client().get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.layer(), Layer::Semantic);
    assert_eq!(err.kind(), ErrorKind::InvalidJson);
    assert_eq!(err.status().unwrap(), 200);
    assert_eq!(server.hits("/x"), 1, "semantic failures are not retried");
    assert!(
        err.what()
            .contains("Content-Type says JSON but the body does not parse"),
        "{}",
        err.what()
    );
}

#[tokio::test]
async fn typed_json_that_does_not_fit_names_the_problem() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Page {
        items: Vec<String>,
    }
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, BODY)])
        .start();
    let resp = client().get(server.url("/x")).send().await.unwrap();
    let err = resp.json::<Page>().unwrap_err();
    assert_eq!(err.layer(), Layer::Semantic);
    assert!(
        err.what()
            .contains("the body does not fit the expected type at items[0]: invalid type: integer `1`, expected a string"),
        "{}",
        err.what()
    );
}

#[tokio::test]
async fn a_304_is_a_final_answer_not_a_redirect_failure() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(304)])
        .start();
    let resp = client().get(server.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 304);
}

#[tokio::test]
async fn tls_to_a_plain_http_server_is_a_tls_failure_and_not_retried() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let url = format!("https://{}/x", server.addr());
    let err = client().get(&url).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Tls), "{err:?}");
    assert_eq!(
        err.kind(),
        ErrorKind::Transport(steady::classify::Fault::Tls)
    );
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn a_full_accept_queue_is_a_connect_timeout() {
    // A listener that never accepts, with a backlog of one, filled by two idle
    // connections: the kernel drops further SYNs, as a black-holed host does.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    let (builder, _) = fast();
    let client = builder
        .connect_timeout(Duration::from_millis(100))
        .retry(Retry::exponential().max_retries(1))
        .build()
        .unwrap();
    let err = client
        .post(format!("http://{addr}/x"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ConnectTimeout), "{err:?}");
    assert!(err.is_timeout() && err.is_connect());
    // Nothing was sent, so even a POST is retried.
    assert_eq!(err.attempts(), 2);
    drop(listener);
}

#[tokio::test]
async fn a_parsed_url_is_sent_as_it_is_and_checked_like_a_string() {
    let server = ScriptServer::builder()
        .route("/items/1", [Reply::json(200, r#"{"id": 1}"#)])
        .start();
    let c = client();
    let url = steady::Url::parse(&server.url("/items/1?a=b")).unwrap();
    let resp = c
        .request_url(steady::Method::GET, url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text(), r#"{"id": 1}"#);
    assert_eq!(server.requests()[0].query(), Some("a=b"));
    let ftp = steady::Url::parse("ftp://127.0.0.1/x").unwrap();
    let err = c
        .request_url(steady::Method::GET, ftp)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), steady::Layer::Usage);
    assert!(
        err.what().contains("unsupported URL scheme 'ftp'"),
        "{}",
        err.what()
    );
}

#[tokio::test]
async fn the_connect_timeout_covers_a_tls_handshake_that_never_answers() {
    // Accepts (the kernel's backlog) and never speaks: TCP connects, TLS stalls.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let err = support::fast()
        .0
        .connect_timeout(std::time::Duration::from_millis(50))
        .read_timeout(std::time::Duration::from_secs(30))
        .retry(steady::Retry::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(steady::Fault::ConnectTimeout), "{err:?}");
    drop(listener);
}

#[tokio::test(start_paused = true)]
async fn under_paused_time_the_deadline_and_the_read_timeout_keep_one_clock() {
    // A server that never answers: the read timeout ends each attempt, on tokio's
    // paused clock, and the call's elapsed time is that clock's too.
    let server = ScriptServer::builder().fallback(Reply::hang()).start();
    let client = steady::Client::builder()
        .read_timeout(Duration::from_secs(5))
        .retry(
            Retry::exponential()
                .max_retries(2)
                .base(Duration::from_secs(1))
                .jitter(steady::Jitter::None),
        )
        .build()
        .unwrap();
    let err = client.get(server.url("/slow")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ReadTimeout), "{err:?}");
    assert_eq!(err.attempts(), 3);
    // Three read timeouts of 5s and backoffs of 1s and 2s, as the paused clock counts.
    assert!(
        err.elapsed() >= Duration::from_secs(18),
        "{:?}",
        err.elapsed()
    );
    assert!(
        err.elapsed() < Duration::from_secs(19),
        "{:?}",
        err.elapsed()
    );
    let log = err.attempt_log();
    assert!(log[2].started() >= Duration::from_secs(18) - Duration::from_secs(5));
}
