//! Redirects: followed, limited, and never a way to leak credentials.

mod support;

use std::sync::{Arc, Mutex};

use steady::ErrorKind;
use steady::{Layer, Redirects, Secret};
use steady_chaos::{Recorded, Reply, ScriptServer};
use support::{client, fast};

fn credentialed(client: &steady::Client, url: &str) -> steady::RequestBuilder {
    client
        .get(url)
        .bearer_auth(Secret::new("bearer-token-123"))
        .secret_header("X-Api-Key", Secret::new("api-key-456"))
        .header("Cookie", "session=abc")
        .header("X-Trace", "keep-me")
}

fn credentials_seen(request: &Recorded) -> Vec<&str> {
    ["authorization", "x-api-key", "cookie"]
        .into_iter()
        .filter(|h| request.header(h).is_some())
        .collect()
}

#[tokio::test]
async fn same_origin_redirects_keep_credentials() {
    let server = ScriptServer::builder()
        .route("/old", [Reply::redirect(301, "/new")])
        .route("/new", [Reply::json(200, "{}")])
        .start();
    let resp = credentialed(&client(), &server.url("/old"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.url().path(), "/new");
    let new = &server.requests()[1];
    assert_eq!(
        credentials_seen(new),
        ["authorization", "x-api-key", "cookie"]
    );
}

#[tokio::test]
async fn a_port_change_strips_every_credential_header_and_they_never_come_back() {
    // a/start -> b/1 -> b/2 -> a/end: once stripped, stripped for the rest of the chain,
    // even back on the first origin.
    let a_end = Arc::new(Mutex::new(String::new()));
    let target = Arc::clone(&a_end);
    let b = ScriptServer::builder()
        .route("/1", [Reply::redirect(302, "/2")])
        .route_fn("/2", move |_| {
            Reply::redirect(302, target.lock().unwrap().clone())
        })
        .start();
    let a = ScriptServer::builder()
        .route("/start", [Reply::redirect(307, b.url("/1"))])
        .route("/end", [Reply::json(200, r#"{"done":true}"#)])
        .start();
    *a_end.lock().unwrap() = a.url("/end");

    let resp = credentialed(&client(), &a.url("/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.url().path(), "/end");
    let a_requests = a.requests();
    assert_eq!(
        credentials_seen(&a_requests[0]),
        ["authorization", "x-api-key", "cookie"]
    );
    assert_eq!(a_requests[1].path(), "/end");
    assert!(
        credentials_seen(&a_requests[1]).is_empty(),
        "restored on the way back"
    );
    let b_requests = b.requests();
    assert_eq!(b_requests.len(), 2);
    for request in a_requests[1..].iter().chain(&b_requests) {
        assert!(
            credentials_seen(request).is_empty(),
            "{} saw {:?}",
            request.target,
            credentials_seen(request)
        );
        assert_eq!(
            request.header("x-trace"),
            Some("keep-me"),
            "ordinary headers stay"
        );
    }
}

#[tokio::test]
async fn loopback_ip_to_localhost_counts_as_another_host() {
    let target = Arc::new(Mutex::new(String::new()));
    let t = Arc::clone(&target);
    let server = ScriptServer::builder()
        .route_fn("/ip", move |_| {
            Reply::redirect(302, t.lock().unwrap().clone())
        })
        .route("/named", [Reply::json(200, "{}")])
        .start();
    *target.lock().unwrap() = format!("http://localhost:{}/named", server.addr().port());
    credentialed(&client(), &server.url("/ip"))
        .send()
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(credentials_seen(&requests[0]).len(), 3);
    assert_eq!(requests[1].path(), "/named");
    assert!(credentials_seen(&requests[1]).is_empty());
}

#[tokio::test]
async fn the_eleventh_redirect_fails_as_too_many() {
    let server = ScriptServer::builder()
        .route("/loop", [Reply::redirect(302, "/loop")])
        .start();
    let err = client().get(server.url("/loop")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRedirects);
    assert_eq!(err.layer(), Layer::Http);
    assert_eq!(
        server.hits("/loop"),
        11,
        "the first request and 10 followed redirects"
    );
    assert_eq!(err.attempts(), 1, "a redirect problem is not retried");
}

#[tokio::test]
async fn max_redirects_is_configurable() {
    let server = ScriptServer::builder()
        .route("/1", [Reply::redirect(302, "/2")])
        .route("/2", [Reply::redirect(302, "/3")])
        .route("/3", [Reply::json(200, "{}")])
        .start();
    let (builder, _) = fast();
    let err = builder
        .redirects(Redirects::follow(1))
        .build()
        .unwrap()
        .get(server.url("/1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRedirects);
    let (builder, _) = fast();
    let resp = builder
        .redirects(Redirects::follow(2))
        .build()
        .unwrap()
        .get(server.url("/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.url().path(), "/3");
}

#[tokio::test]
async fn with_redirects_off_a_3xx_is_reported_not_followed() {
    let server = ScriptServer::builder()
        .route("/old", [Reply::redirect(301, "/new")])
        .start();
    let (builder, _) = fast();
    let err = builder
        .redirects(Redirects::none())
        .build()
        .unwrap()
        .get(server.url("/old"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RedirectNotFollowed);
    assert_eq!(err.status().unwrap(), 301);
    assert_eq!(server.total_hits(), 1);
    assert!(err.hint().contains("/new"), "{}", err.hint());
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    for location in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
    ] {
        let server = ScriptServer::builder()
            .route("/x", [Reply::redirect(302, location)])
            .start();
        let err = client().get(server.url("/x")).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RedirectRefused, "{location}");
        assert!(
            err.what().contains("only http and https are followed"),
            "{}",
            err.what()
        );
        assert_eq!(server.total_hits(), 1);
    }
}

#[tokio::test]
async fn see_other_after_post_becomes_a_get_without_body() {
    let server = ScriptServer::builder()
        .route("/orders", [Reply::redirect(303, "/orders/7")])
        .route("/orders/7", [Reply::json(200, r#"{"id":7}"#)])
        .start();
    client()
        .post(server.url("/orders"))
        .json(&serde_json::json!({"item": "book"}))
        .send()
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(&requests[0].body[..], br#"{"item":"book"}"#);
    assert_eq!(requests[1].method, "GET");
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[1].header("content-type"), None);
}

#[tokio::test]
async fn temporary_redirect_keeps_method_and_body() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::redirect(307, "/b")])
        .route("/b", [Reply::json(200, "{}")])
        .start();
    client()
        .put(server.url("/a"))
        .body("payload")
        .send()
        .await
        .unwrap();
    let b = &server.requests()[1];
    assert_eq!((b.method.as_str(), &b.body[..]), ("PUT", &b"payload"[..]));
}

#[tokio::test]
async fn a_redirect_loop_ends_as_too_many_redirects() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::redirect(302, "/b")])
        .route("/b", [Reply::redirect(302, "/a")])
        .start();
    let err = client().get(server.url("/a")).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRedirects);
    assert_eq!(
        server.total_hits(),
        11,
        "the first request and 10 redirects"
    );
}

#[tokio::test]
async fn https_to_http_is_refused_with_credentials_and_followed_without() {
    let plain = ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"plain": true}"#))
        .start();
    let tls = steady_chaos::TlsServer::start_raw(format!(
        "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        plain.url("/landing")
    ));
    let client = support::fast()
        .0
        .root_certificates_pem(tls.ca_pem(), true)
        .build()
        .unwrap();
    let err = credentialed(&client, &tls.url("/start"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RedirectRefused);
    assert!(err.what().contains("https"), "{}", err.what());
    assert_eq!(plain.total_hits(), 0, "nothing went out in clear text");

    let resp = client.get(tls.url("/start")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(plain.total_hits(), 1);
}

#[cfg(feature = "cookies")]
#[tokio::test]
async fn cookies_set_by_a_redirect_go_to_its_target_in_the_same_call() {
    // A login that sets its session cookie on the 302 and expects it on the page it
    // redirects to (requests does the same without a Session).
    let server = ScriptServer::builder()
        .route(
            "/login",
            [Reply::redirect(302, "/home").header("Set-Cookie", "sid=abc123; Path=/")],
        )
        .route("/home", [Reply::json(200, r#"{"user": "ada"}"#)])
        .start();
    let c = client();
    let resp = c.get(server.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let home = &server.requests()[1];
    assert_eq!(home.path(), "/home");
    assert_eq!(home.header("cookie"), Some("sid=abc123"));
    // The cookie belonged to that call only: the client keeps no jar of its own.
    c.get(server.url("/home")).send().await.unwrap();
    assert_eq!(server.requests()[2].header("cookie"), None);
}

#[tokio::test]
async fn an_error_after_a_redirect_names_the_url_that_answered() {
    let server = ScriptServer::builder()
        .route("/old", [Reply::redirect(301, "/new")])
        .route("/new", [Reply::json(404, r#"{"message": "no such item"}"#)])
        .start();
    let err = client().get(server.url("/old")).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.final_url(), Some(server.url("/new").as_str()));
    let first = err.explain().lines().next().unwrap().to_owned();
    assert_eq!(
        first,
        format!(
            "HTTP 404 Not Found (GET {}, redirected from {}) [http layer: the server refused the request]",
            server.url("/new"),
            server.url("/old")
        )
    );
}

#[tokio::test]
async fn the_redirects_followed_are_kept_in_order_with_their_answers() {
    let server = ScriptServer::builder()
        .route("/a", [Reply::redirect(302, "/b").header("X-Hop", "1")])
        .route("/b", [Reply::redirect(301, "/c")])
        .route("/c", [Reply::json(200, "{}")])
        .start();
    let resp = client().get(server.url("/a")).send().await.unwrap();
    let chain: Vec<_> = resp
        .redirects()
        .iter()
        .map(|hop| (hop.status().as_u16(), hop.url().path().to_owned()))
        .collect();
    assert_eq!(chain, [(302, "/a".to_owned()), (301, "/b".to_owned())]);
    let first = &resp.redirects()[0];
    assert_eq!(first.headers()["location"], "/b");
    assert_eq!(first.headers()["x-hop"], "1");
    assert_eq!(resp.url().path(), "/c");
    assert_eq!(server.total_hits(), 3);

    // No redirect, no chain.
    let resp = client().get(server.url("/c")).send().await.unwrap();
    assert!(resp.redirects().is_empty());
}
