//! steady's policies in a reqwest-middleware chain: what the server saw, what the
//! chain's other middlewares saw, and what comes back.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest_middleware::{ClientBuilder, Middleware, Next};
use steady::middleware::SteadyMiddleware;
use steady::{CallLog, Layer};
use steady_chaos::{Reply, ScriptServer};
use support::fast;

/// A middleware after steady's: counts the attempts that reach it and tags each.
struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Middleware for Counting {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        request
            .headers_mut()
            .insert("x-attempt", n.to_string().parse().unwrap());
        extensions.insert(n);
        next.run(request, extensions).await
    }
}

fn chain(counted: &Arc<AtomicUsize>) -> reqwest_middleware::ClientWithMiddleware {
    steady::install_tls_provider();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    ClientBuilder::new(plain)
        .with(SteadyMiddleware::new(fast().0.build().unwrap()))
        .with(Counting(Arc::clone(counted)))
        .build()
}

#[tokio::test]
async fn each_attempt_goes_down_the_rest_of_the_chain() {
    let server = ScriptServer::builder()
        .route(
            "/pets",
            [
                Reply::status(503),
                Reply::reset(),
                Reply::json(200, r#"[{"name": "rex"}]"#),
            ],
        )
        .start();
    let counted = Arc::new(AtomicUsize::new(0));
    let response = chain(&counted)
        .get(server.url("/pets"))
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().as_str(), server.url("/pets"));
    let log = response.extensions().get::<CallLog>().unwrap().clone();
    assert_eq!(log.attempts.len(), 3, "a 503 and a reset, retried");
    assert_eq!(response.text().await.unwrap(), r#"[{"name": "rex"}]"#);
    assert_eq!(counted.load(Ordering::SeqCst), 3);
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(
            request.header("x-attempt"),
            Some((i + 1).to_string().as_str())
        );
        assert_eq!(request.header("x-api-key"), Some("k"));
        assert!(request
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("steady/")));
    }
}

#[tokio::test]
async fn a_4xx_is_answered_once_and_explained_and_an_unkeyed_post_is_not_resent() {
    let server = ScriptServer::builder()
        .route("/pets/9", [Reply::json(404, r#"{"message": "no pet 9"}"#)])
        .route("/pets", [Reply::status(503), Reply::status(201)])
        .start();
    let counted = Arc::new(AtomicUsize::new(0));
    let client = chain(&counted);
    let response = client.get(server.url("/pets/9")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let log = response.extensions().get::<CallLog>().unwrap();
    let error = log.error.as_ref().unwrap();
    assert_eq!(error.server_message(), Some("no pet 9"));
    assert_eq!(server.hits("/pets/9"), 1);

    // A POST without an Idempotency-Key that met a 503: not sent again.
    let response = client
        .post(server.url("/pets"))
        .body(r#"{"name": "rex"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.hits("/pets"), 1);
    assert_eq!(&server.requests()[1].body[..], br#"{"name": "rex"}"#);
}

#[tokio::test]
async fn a_failure_without_an_answer_is_steady_s_error_inside_the_chain_s() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let counted = Arc::new(AtomicUsize::new(0));
    let err = chain(&counted)
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(err) = err else {
        panic!("expected steady's error, got {err:?}");
    };
    let steady = err.downcast_ref::<steady::Error>().unwrap();
    assert_eq!(steady.layer(), Layer::Transport);
    assert_eq!(steady.fault(), Some(steady::Fault::Refused));
    assert_eq!(steady.attempts(), 4);
    assert_eq!(counted.load(Ordering::SeqCst), 4);
}
