//! The builders as reqwest users expect them: URLs and headers as text or typed, a
//! header map, default headers, a request cloned to send again, a classifier closure,
//! and an error whose Display leaves its causes to `source()`.

mod support;

use std::error::Error as _;

use steady::header::{HeaderMap, HeaderName, HeaderValue};
use steady::{Url, Verdict};
use steady_chaos::{Reply, ScriptServer};
use support::{client, fast};

fn ok_server() -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start()
}

#[tokio::test]
async fn a_url_may_be_a_str_a_string_or_a_parsed_url() {
    let server = ok_server();
    let client = client();
    let text: String = server.url("/a");
    let parsed = Url::parse(&server.url("/c")).unwrap();
    client.get(&text).send().await.unwrap();
    client.get(server.url("/b")).send().await.unwrap();
    client.get(&parsed).send().await.unwrap();
    client.get(parsed).send().await.unwrap();
    client.post(text.as_str()).send().await.unwrap();
    let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/a", "/b", "/c", "/c", "/a"]);

    let err = client.get("ftp://example.com/x").send().await.unwrap_err();
    assert_eq!(
        err.what(),
        "unsupported URL scheme 'ftp': steady speaks http and https"
    );
}

#[tokio::test]
async fn typed_headers_and_a_header_map_reach_the_server_as_given() {
    let server = ok_server();
    let mut map = HeaderMap::new();
    map.append("x-list", HeaderValue::from_static("one"));
    map.append("x-list", HeaderValue::from_static("two"));
    client()
        .get(server.url("/h"))
        .header(
            HeaderName::from_static("x-bytes"),
            // Not UTF-8: passes as it is.
            HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        )
        .header(
            HeaderName::from_static("x-ref"),
            HeaderValue::from_static("r"),
        )
        .header(String::from("X-Owned"), String::from("  trimmed  "))
        .headers(map)
        .send()
        .await
        .unwrap();
    let seen = &server.requests()[0];
    assert_eq!(seen.header("x-bytes"), Some("caf\u{fffd}"));
    assert_eq!(seen.header("x-ref"), Some("r"));
    assert_eq!(seen.header("x-owned"), Some("trimmed"));
    let list: Vec<_> = seen
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-list"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(list, ["one", "two"]);
}

#[tokio::test]
async fn a_bad_header_given_as_text_is_named_and_nothing_is_sent() {
    let server = ok_server();
    let err = client()
        .get(server.url("/h"))
        .header("bad name", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.what(), "'bad name' is not a valid header name");
    let err = client()
        .get(server.url("/h"))
        .header("X-Note", "a\r\nInjected: yes")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.what(),
        "the value of header x-note contains a CR, LF or NUL character; refused before sending"
    );
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn default_headers_go_with_every_request_that_does_not_set_its_own() {
    let server = ScriptServer::builder()
        .route(
            "/denied",
            [Reply::json(
                401,
                r#"{"error": "key s3cret-key is revoked"}"#,
            )],
        )
        .fallback(Reply::json(200, "{}"))
        .start();
    let mut defaults = HeaderMap::new();
    defaults.insert("accept-language", HeaderValue::from_static("en"));
    defaults.insert("x-api-key", HeaderValue::from_static("s3cret-key"));
    let client = fast().0.default_headers(defaults).build().unwrap();
    client.get(server.url("/a")).send().await.unwrap();
    client
        .get(server.url("/b"))
        .header("Accept-Language", "fr")
        .send()
        .await
        .unwrap();
    let err = client.get(server.url("/denied")).send().await.unwrap_err();

    let seen = server.requests();
    assert_eq!(seen[0].header("accept-language"), Some("en"));
    assert_eq!(seen[0].header("x-api-key"), Some("s3cret-key"));
    assert_eq!(
        seen[1].header("accept-language"),
        Some("fr"),
        "the request's own"
    );
    assert_eq!(
        seen[1]
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("accept-language"))
            .count(),
        1
    );
    // A default credential is a credential: the server's echo of it is scrubbed.
    assert_eq!(err.server_message(), Some("key **** is revoked"));
    assert!(!format!("{err:?} {err} {}", err.explain()).contains("s3cret-key"));
}

#[tokio::test]
async fn a_cloned_request_is_sent_again_unchanged() {
    let server = ok_server();
    let original = client()
        .post(server.url("/again"))
        .header("X-Run", "7")
        .body("payload");
    let copy = original.try_clone().expect("a body of bytes clones");
    original.send().await.unwrap();
    copy.send().await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("x-run"), Some("7"));
        assert_eq!(&request.body[..], b"payload");
    }
    // An invalid request has nothing to clone: send says why.
    assert!(client().get("not a url").try_clone().is_none());
}

#[tokio::test]
async fn a_classifier_closure_needs_no_type_annotations() {
    let server = ScriptServer::builder()
        .route(
            "/conflict",
            [Reply::status(409), Reply::json(200, r#"{"ok": true}"#)],
        )
        .start();
    let client = fast()
        .0
        .classify_with(|attempt| match attempt.status() {
            Some(status) if status.as_u16() == 409 => Verdict::Retryable,
            _ => {
                steady::classify::Classify::classify(&steady::classify::DefaultClassifier, attempt)
            }
        })
        .build()
        .unwrap();
    let resp = client.get(server.url("/conflict")).send().await.unwrap();
    assert_eq!(resp.attempts(), 2);
    assert_eq!(server.hits("/conflict"), 2);
}

#[tokio::test]
async fn display_leaves_the_cause_to_source_so_a_chain_names_it_once() {
    let server = ScriptServer::builder()
        .fallback(Reply::raw("this is not HTTP\r\n\r\n"))
        .start();
    let err = fast()
        .0
        .retry(steady::Retry::none())
        .build()
        .unwrap()
        .get(server.url("/garbage"))
        .send()
        .await
        .unwrap_err();
    // What anyhow's `{:#}` prints: each error's Display, joined.
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    let root = {
        let mut cause: &dyn std::error::Error = &err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    };
    assert_ne!(root, err.to_string());
    assert_eq!(chain.matches(&root).count(), 1, "{chain}");
    // The one-line summary still says it.
    assert!(err.what().ends_with(&root), "{}", err.what());
}

#[cfg(feature = "cookies")]
#[tokio::test]
async fn a_request_s_own_cookies_join_the_jar_s_and_win_by_name() {
    let server = ScriptServer::builder()
        .route(
            "/login",
            [Reply::json(200, "{}").header("Set-Cookie", "sid=abc123; Path=/")],
        )
        .fallback(Reply::json(200, "{}"))
        .start();
    let jar = std::sync::Arc::new(steady::cookies::CookieJar::new());
    let client = fast().0.cookie_jar(jar).build().unwrap();
    client.get(server.url("/login")).send().await.unwrap();
    for own in [None, Some("x=1"), Some("x=1; sid=mine")] {
        let mut request = client.get(server.url("/me"));
        if let Some(own) = own {
            request = request.header("Cookie", own);
        }
        request.send().await.unwrap();
    }
    let sent: Vec<_> = server.requests()[1..]
        .iter()
        .map(|r| r.header("cookie").unwrap_or("").to_owned())
        .collect();
    assert_eq!(sent, ["sid=abc123", "x=1; sid=abc123", "x=1; sid=mine"]);
}
