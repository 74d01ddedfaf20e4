//! steady in a tower stack (feature `tower`), both ways round.
//!
//! - **A [`Client`] is a `tower::Service<http::Request<B>>`**: put it under
//!   `ServiceBuilder` with tower-http's layers, or hand it to code written against
//!   `Service`. The request body is buffered (so it can be sent again), every policy of
//!   the client applies, and the answer is an `http::Response` with the whole body.
//! - **[`SteadyLayer`] puts the policy stack over any HTTP service**: hyper-util's
//!   client, a test double, a service with layers of its own. The service is the
//!   transport, the innermost stage; everything above it (deadline, retries, guards,
//!   redirects, cookies, decoding, body limit, checks, telemetry, errors explained) is
//!   steady's. The layered service is itself a [`Client`].
//!
//! Why answers that are not a success still come back as responses: a tower service
//! answers HTTP with HTTP, and layers such as tower-http's classifiers read the status.
//! A 4xx or 5xx that survived steady's retries is returned as that response, with the
//! [`CallLog`] in its extensions (the attempt log, and the [`Error`] that explains it);
//! a failure without a response (a refused connection, a deadline, an open circuit) or
//! a 2xx whose body is not what was asked (a semantic failure) is the `Err`.
//!
//! ```
//! # use steady_chaos::{Reply, ScriptServer};
//! # let api = ScriptServer::builder().route("/orders", [Reply::status(503), Reply::json(200, "[]")]).start();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tower::{Service as _, ServiceExt};
//!
//! let mut service = steady::Client::new()?;
//! let request = http::Request::get(api.url("/orders")).body(String::new()).unwrap();
//! // A Client serves any body type: name the request's when asking for readiness.
//! let response = ServiceExt::<http::Request<String>>::ready(&mut service)
//!     .await?
//!     .call(request)
//!     .await?;
//! assert_eq!(response.status(), 200);
//! let outcome = response.extensions().get::<steady::CallLog>().unwrap();
//! assert_eq!(outcome.attempts.len(), 2); // the 503 was retried
//! # Ok::<(), steady::Error>(())
//! # }).unwrap();
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body;

use crate::error::BoxError;
use crate::transport::Http;
use crate::{CallLog, Client, Error};

/// The future of a [`Client`]'s tower call.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Full<Bytes>>, Error>> + Send>>;

impl<B> tower_service::Service<http::Request<B>> for Client
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Error;
    type Future = ResponseFuture;

    /// Always ready: the guards decide when a call goes, inside it.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> ResponseFuture {
        let client = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| {
                    let e: BoxError = e.into();
                    Error::usage(format!("the request body could not be read: {e}"))
                })?
                .to_bytes();
            let mut builder = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers);
            if !body.is_empty() {
                builder = builder.body(body);
            }
            CallLog::answer(builder.send().await).map(|http| http.map(Full::new))
        })
    }
}

/// steady's policies over an HTTP service: `ServiceBuilder::new().layer(
/// SteadyLayer::new(client)).service(inner)` is a [`Client`] with `client`'s
/// policies (and its guard state, shared) whose requests `inner` carries.
///
/// ```
/// # use steady_chaos::{Reply, ScriptServer};
/// # let api = ScriptServer::builder().route("/x", [Reply::status(503), Reply::json(200, "{}")]).start();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hyper_util::client::legacy::Client as HyperClient;
/// use hyper_util::rt::TokioExecutor;
///
/// let hyper = HyperClient::builder(TokioExecutor::new()).build_http();
/// let client = tower::ServiceBuilder::new()
///     .layer(steady::tower::SteadyLayer::new(steady::Client::new()?))
///     .service(hyper);
/// let response = client.get(api.url("/x")).send().await?;
/// assert_eq!(response.attempts(), 2);
/// # Ok::<(), steady::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SteadyLayer {
    client: Client,
}

impl SteadyLayer {
    /// The policies of `client` (its timeouts, retries, guards, checks, listeners and
    /// guard state), over the service this layer wraps instead of its own transport.
    pub fn new(client: Client) -> Self {
        SteadyLayer { client }
    }
}

impl std::fmt::Debug for SteadyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SteadyLayer")
    }
}

impl<S, ResBody> tower_layer::Layer<S> for SteadyLayer
where
    S: tower_service::Service<http::Request<Full<Bytes>>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Service = Client;

    fn layer(&self, inner: S) -> Client {
        let exchange = move |request: http::Request<Full<Bytes>>| {
            let mut service = inner.clone();
            let future: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                let response = service.call(request).await.map_err(Into::into)?;
                Ok(response.map(|body| UnsyncBoxBody::new(body.map_err(Into::into))))
            });
            future
        };
        Client {
            inner: Arc::clone(&self.client.inner),
            http: Arc::new(Http::Service(Arc::new(exchange))),
        }
    }
}
