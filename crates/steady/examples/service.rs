//! steady inside a Rust service, each way in: a tower stack with a tower-http layer,
//! steady's policies over hyper-util's own client (`SteadyLayer`), and a
//! reqwest-middleware chain such as OpenAPI-generated clients take.
//!
//! Starts a local server that fails once per route before it answers, so it runs
//! offline: `cargo run -p steady --example service --features tower,middleware`.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioExecutor;
use steady_chaos::{Reply, ScriptServer};
use tower::{Service as _, ServiceBuilder, ServiceExt};
use tower_http::set_header::SetRequestHeaderLayer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let api = ScriptServer::builder()
        .route(
            "/orders",
            [Reply::status(503), Reply::json(200, r#"{"orders": []}"#)],
        )
        .route(
            "/stock",
            [Reply::reset(), Reply::json(200, r#"{"stock": 7}"#)],
        )
        .route(
            "/users/7",
            [Reply::status(502), Reply::json(200, r#"{"id": 7}"#)],
        )
        .start();
    let client = steady::Client::new()?;

    // 1. A Client is a tower::Service: tower-http's layers go on top.
    let mut service = ServiceBuilder::new()
        .layer(SetRequestHeaderLayer::overriding(
            http::header::HeaderName::from_static("x-tenant"),
            http::HeaderValue::from_static("acme"),
        ))
        .service(client.clone());
    let request = http::Request::get(api.url("/orders")).body(Full::new(Bytes::new()))?;
    let response = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut service)
        .await?
        .call(request)
        .await?;
    let log = response.extensions().get::<steady::CallLog>();
    println!(
        "tower:      {} after {} attempts; the server saw x-tenant: {:?}",
        response.status(),
        log.map_or(0, |l| l.attempts.len()),
        api.requests()[0].header("x-tenant")
    );

    // 2. steady's policies over hyper-util's client, which becomes the transport.
    let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let layered: steady::Client = ServiceBuilder::new()
        .layer(steady::tower::SteadyLayer::new(client.clone()))
        .service(hyper);
    let stock = layered.get(api.url("/stock")).send().await?;
    println!(
        "SteadyLayer: {} after {} attempts over hyper-util's client (the reset was retried)",
        stock.status(),
        stock.attempts()
    );

    // 3. A reqwest-middleware chain: each attempt goes down the rest of the chain.
    let chain = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(steady::middleware::SteadyMiddleware::new(client))
        .build();
    let user = chain.get(api.url("/users/7")).send().await?;
    println!(
        "middleware: {} (the 502 before it was retried: {} requests reached the server)",
        user.status(),
        api.hits("/users/7")
    );
    Ok(())
}
