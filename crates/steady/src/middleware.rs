//! steady's policies in a reqwest-middleware chain (feature `middleware`).
//!
//! Clients generated from OpenAPI specifications (progenitor, openapi-generator) and
//! many SDKs take a `reqwest_middleware::ClientWithMiddleware`. [`SteadyMiddleware`]
//! gives such a client steady's deadline and read timeout, retries (never a 4xx, never
//! an unkeyed POST), guards (breaker, budget, rate limits), redirects with credentials
//! stripped, cookies, decoding, body limit, semantic checks and telemetry. Each attempt
//! goes on down the chain (the middlewares after this one, then the plain reqwest
//! client, which should not follow redirects itself: steady does).
//!
//! Like any reqwest client, the chain answers a 4xx or 5xx with that response (after
//! steady's retries), and [`crate::CallLog`] in its extensions explains it. A failure
//! without a response, or a 2xx whose body is not what was asked, is an error whose
//! source is steady's [`Error`](crate::Error): `err.downcast_ref::<steady::Error>()`
//! on `reqwest_middleware::Error::Middleware`.
//!
//! ```
//! # use steady_chaos::{Reply, ScriptServer};
//! # let api = ScriptServer::builder().route("/pets", [Reply::status(503), Reply::json(200, "[]")]).start();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! steady::install_tls_provider(); // before reqwest builds its first client
//! let plain = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let client = reqwest_middleware::ClientBuilder::new(plain)
//!     .with(steady::middleware::SteadyMiddleware::new(steady::Client::new()?))
//!     .build();
//! let response = client.get(api.url("/pets")).send().await?;
//! assert_eq!(response.status(), 200);
//! let log = response.extensions().get::<steady::CallLog>().unwrap();
//! assert_eq!(log.attempts.len(), 2); // the 503 was retried
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, ResponseBuilderExt as _, Url};
use reqwest_middleware::Next;

use crate::transport::{Answer, HttpError};
use crate::{CallLog, Client, Error};

/// steady's policies in a reqwest-middleware chain; see [the module](self).
#[derive(Clone)]
pub struct SteadyMiddleware {
    client: Client,
}

impl SteadyMiddleware {
    /// The policies of `client` (its timeouts, retries, guards, checks, listeners and
    /// guard state) for every request of the chain; its own transport is not used.
    pub fn new(client: Client) -> Self {
        SteadyMiddleware { client }
    }
}

impl std::fmt::Debug for SteadyMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SteadyMiddleware")
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for SteadyMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let body = match request.body() {
            None => None,
            Some(body) => match body.as_bytes() {
                Some(bytes) => Some(Bytes::copy_from_slice(bytes)),
                None => {
                    return Err(reqwest_middleware::Error::middleware(Error::usage(
                        "a streamed request body cannot go through steady: a retry would \
                         need it again; give the body as bytes",
                    )))
                }
            },
        };
        let url = request.url().clone();
        let mut builder = self
            .client
            .request(request.method().clone(), url.clone())
            .headers(request.headers().clone());
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let request = builder
            .request
            .map_err(reqwest_middleware::Error::middleware)?;
        // The chain's extensions, lent to one attempt at a time.
        let extensions = tokio::sync::Mutex::new(extensions);
        let via = |method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>| {
            let next = next.clone();
            let extensions = &extensions;
            let attempt: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> =
                Box::pin(async move {
                    let mut request = reqwest::Request::new(method, url);
                    *request.headers_mut() = headers;
                    if let Some(body) = body {
                        *request.body_mut() = Some(body.into());
                    }
                    let mut extensions = extensions.lock().await;
                    match next.run(request, &mut extensions).await {
                        Ok(response) => Ok(Answer::from_reqwest(response)),
                        Err(reqwest_middleware::Error::Reqwest(e)) => Err(HttpError::Reqwest(e)),
                        Err(reqwest_middleware::Error::Middleware(e)) => {
                            Err(HttpError::Service(e.into()))
                        }
                    }
                });
            attempt
        };
        let result = self.client.execute_via(request, Some(&via)).await;
        // The URL that answered (after redirects), which reqwest's response carries.
        let answered = result
            .as_ref()
            .map_or(url, |response| response.url().clone());
        let mut http = CallLog::answer(result).map_err(reqwest_middleware::Error::middleware)?;
        let marked = http::Response::builder()
            .url(answered)
            .body(())
            .map_err(reqwest_middleware::Error::middleware)?;
        http.extensions_mut()
            .extend(marked.into_parts().0.extensions);
        Ok(reqwest::Response::from(http))
    }
}
