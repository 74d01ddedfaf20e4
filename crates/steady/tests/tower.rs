//! steady in a tower stack: a Client as a `tower::Service` under `ServiceBuilder` with
//! tower-http's layers, and `SteadyLayer` over hyper-util's client as the transport.

mod support;

use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use steady::tower::SteadyLayer;
use steady::CallLog;
use steady::{ErrorKind, Layer};
use steady_chaos::{Reply, ScriptServer};
use support::fast;
use tower::{Service as _, ServiceBuilder, ServiceExt};
use tower_http::set_header::SetRequestHeaderLayer;

#[tokio::test]
async fn a_client_serves_under_service_builder_with_tower_http_layers() {
    let server = ScriptServer::builder()
        .route(
            "/orders",
            [Reply::status(503), Reply::json(200, r#"{"orders": []}"#)],
        )
        .start();
    let mut service = ServiceBuilder::new()
        .layer(SetRequestHeaderLayer::overriding(
            http::header::HeaderName::from_static("x-tenant"),
            http::HeaderValue::from_bytes(b"t\xe9nant").unwrap(),
        ))
        .service(fast().0.build().unwrap());
    let request = http::Request::post(server.url("/orders"))
        .header("idempotency-key", "k-1")
        .body(Full::new(bytes::Bytes::from_static(b"{\"n\": 1}")))
        .unwrap();
    let response = ServiceExt::<http::Request<Full<bytes::Bytes>>>::ready(&mut service)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let outcome = response.extensions().get::<CallLog>().unwrap().clone();
    assert_eq!(
        outcome.attempts.len(),
        2,
        "the 503 was retried (keyed POST)"
    );
    assert!(outcome.error.is_none());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"orders": []}"#);

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        // tower-http's header, not UTF-8, passed as given; the body sent again.
        assert_eq!(request.header("x-tenant"), Some("t\u{fffd}nant"));
        assert_eq!(&request.body[..], b"{\"n\": 1}");
    }
}

#[tokio::test]
async fn a_failure_with_an_answer_is_that_response_and_one_without_is_the_error() {
    let server = ScriptServer::builder()
        .route("/gone", [Reply::json(404, r#"{"message": "no order 9"}"#)])
        .route("/down", [Reply::reset()])
        .start();
    let mut service = fast().0.build().unwrap();
    let response = service
        .call(
            http::Request::get(server.url("/gone"))
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let outcome = response.extensions().get::<CallLog>().unwrap();
    let error = outcome.error.as_ref().expect("the 404 explained");
    assert_eq!(error.layer(), Layer::Http);
    assert_eq!(error.server_message(), Some("no order 9"));
    assert_eq!(outcome.attempts.len(), 1, "a 4xx is not retried");

    let err = service
        .call(
            http::Request::get(server.url("/down"))
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(err.attempts(), 4);
    assert_eq!(server.hits("/down"), 4);

    // A relative URI cannot be called: said, and nothing sent.
    let err = service
        .call(http::Request::get("/relative").body(String::new()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
}

#[tokio::test]
async fn steady_layer_puts_the_stack_over_hyper_util_s_client() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::status(503),
                Reply::reset(),
                Reply::json(200, r#"{"ok": true}"#),
            ],
        )
        .route("/slow", [Reply::hang()])
        .start();
    let hyper = HyperClient::builder(TokioExecutor::new()).build_http();
    let client = ServiceBuilder::new()
        .layer(SteadyLayer::new(
            fast()
                .0
                .read_timeout(std::time::Duration::from_millis(50))
                .build()
                .unwrap(),
        ))
        .service(hyper);
    let response = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.attempts(), 3, "a 503 and a reset, both retried");
    assert_eq!(server.hits("/x"), 3);
    // steady's own headers went out through the service.
    assert!(server.requests()[0]
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("steady/")));

    // The read timeout and the fault words are steady's, over any transport.
    let err = client
        .get(server.url("/slow"))
        .retries(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(steady::Fault::ReadTimeout), "{err:?}");

    // A refused connection, told by hyper-util's error: a transport fault, retried.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(steady::Fault::Refused), "{err:?}");
    assert_eq!(err.attempts(), 4);
}
