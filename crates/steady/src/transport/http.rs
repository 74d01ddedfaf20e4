//! The HTTP client under steady's transport: hyper-util's pooled client, or reqwest's.
//!
//! Why steady talks to hyper itself: it follows redirects, keeps cookies, decodes
//! bodies, bounds them and times every read on its own (`super`), so what it needs
//! underneath is a connection pool speaking HTTP/1.1 and HTTP/2 over TCP or rustls,
//! and nothing more. hyper-util's client is exactly that. reqwest, built on the same
//! client, wraps each call in its own request and response types, parses each URL
//! again and runs a layer stack steady leaves idle: at 64 calls in flight that was a
//! quarter of steady's time (BENCHMARKS.md, section 1).
//!
//! reqwest stays for what steady does not do itself: proxies (CONNECT tunnels, proxy
//! credentials, per-scheme choices and bypass lists) and certificate checks turned
//! off (`--insecure`), and carries every request when the application hands steady a
//! `reqwest::Client` of its own (`ClientBuilder::reqwest_client`: a client
//! certificate, its own pool, resolver or local address).

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
#[cfg(feature = "tower")]
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url, Version};

type Pool = hyper_util::client::legacy::Client<
    Bounded<hyper_rustls::HttpsConnector<HttpConnector>>,
    Outgoing,
>;

/// A request body: bytes steady holds (and may send again), or the caller's stream.
pub(crate) type Outgoing = http_body_util::Either<Full<Bytes>, crate::stream::upload::UploadBody>;

/// A connector under one limit for DNS, TCP and TLS together: the connect timeout
/// steady promises. (hyper-util's own limit covers the TCP connect only; a resolver
/// or a TLS handshake that stalls would otherwise run on until the read timeout, and be
/// named a read timeout, which tells the retry policy something may have been sent.)
#[derive(Clone)]
pub(crate) struct Bounded<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<hyper::Uri> for Bounded<C>
where
    C: tower_service::Service<hyper::Uri>,
    C::Error: Into<crate::error::BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = crate::error::BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<C::Response, crate::error::BoxError>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out (DNS, TCP and TLS)",
                )) as crate::error::BoxError),
            }
        })
    }
}

/// A boxed HTTP exchange (`steady::tower::SteadyLayer`'s inner service).
#[cfg(feature = "tower")]
pub(crate) type Exchange = dyn Fn(
        hyper::Request<Full<Bytes>>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        hyper::Response<UnsyncBoxBody<Bytes, crate::error::BoxError>>,
                        crate::error::BoxError,
                    >,
                > + Send,
        >,
    > + Send
    + Sync;

/// A transport for one call, borrowed (a reqwest-middleware chain's `Next`): the
/// request's method, URL, headers and body in, an answer out.
pub(crate) type Via<'a> = dyn Fn(
        Method,
        Url,
        HeaderMap,
        Option<Bytes>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Answer, HttpError>> + Send + 'a>,
    > + Send
    + Sync
    + 'a;

/// The client that carries steady's requests.
// One per client, inside its Arc: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Http {
    /// hyper-util's pool over TCP and rustls: every direct request.
    Hyper(Pool),
    /// reqwest's client: requests through a proxy, or with certificate checks off.
    Reqwest(reqwest::Client),
    /// Any HTTP service under the stack (`steady::tower::SteadyLayer`).
    #[cfg(feature = "tower")]
    Service(std::sync::Arc<Exchange>),
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Http::Hyper(_) => "Http::Hyper",
            Http::Reqwest(_) => "Http::Reqwest",
            #[cfg(feature = "tower")]
            Http::Service(_) => "Http::Service",
        })
    }
}

/// A response head, and its body still to read.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    body: Body,
}

enum Body {
    Hyper(hyper::body::Incoming),
    Reqwest(reqwest::Body),
    #[cfg(feature = "tower")]
    Boxed(UnsyncBoxBody<Bytes, crate::error::BoxError>),
}

/// Why the client gave no response, or no whole body.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The request failed before a response head (hyper-util's pool).
    Send(hyper_util::client::legacy::Error),
    /// The body broke off (hyper).
    Body(hyper::Error),
    /// reqwest's error, either way.
    Reqwest(reqwest::Error),
    /// The URL is not one hyper can send.
    Uri(hyper::http::uri::InvalidUri),
    /// The service under the stack failed, before a response or in its body.
    #[cfg(any(feature = "tower", feature = "middleware"))]
    Service(crate::error::BoxError),
}

impl Http {
    /// The application's own reqwest client when it gave one; else hyper-util's pool
    /// with `tls` when no proxy applies and certificates are checked; else reqwest's
    /// client from `fallback`.
    ///
    /// # Errors
    /// reqwest's builder failed (only on the reqwest path).
    pub(crate) fn new(
        connect_timeout: Duration,
        tls: Option<rustls::ClientConfig>,
        own: Option<reqwest::Client>,
        fallback: impl FnOnce() -> Result<reqwest::Client, crate::Error>,
    ) -> Result<Http, crate::Error> {
        if let Some(own) = own {
            return Ok(Http::Reqwest(own));
        }
        let Some(mut tls) = tls else {
            return fallback().map(Http::Reqwest);
        };
        // hyper-rustls offers the protocols it is built with (h2, http/1.1).
        tls.alpn_protocols.clear();
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_nodelay(true);
        // reqwest's keepalive: a probe after 15s idle, every 15s, 3 times.
        tcp.set_keepalive(Some(Duration::from_secs(15)));
        tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
        tcp.set_keepalive_retries(Some(3));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let connector = Bounded {
            inner: connector,
            limit: connect_timeout,
        };
        let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            // hyper's default, stated: a response with more headers is a protocol error.
            .http1_max_headers(100)
            .build(connector);
        Ok(Http::Hyper(pool))
    }

    /// Whether this transport is a service steady was given rather than its own
    /// client (a streamed request body cannot go through one).
    pub(crate) fn is_service(&self) -> bool {
        #[cfg(feature = "tower")]
        if let Http::Service(_) = self {
            return true;
        }
        false
    }

    /// Sends one request; answers its head.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<Bytes>,
        upload: Option<crate::stream::upload::UploadBody>,
    ) -> Result<Answer, HttpError> {
        match self {
            #[cfg(feature = "tower")]
            Http::Service(exchange) => {
                if upload.is_some() {
                    return Err(HttpError::Service(
                        crate::stream::upload::NOT_THROUGH.into(),
                    ));
                }
                let body = Full::new(body.unwrap_or_default());
                let response = exchange(hyper_request(method, url, headers, body)?)
                    .await
                    .map_err(HttpError::Service)?;
                let (head, body) = response.into_parts();
                Ok(Answer {
                    status: head.status,
                    version: head.version,
                    headers: head.headers,
                    body: Body::Boxed(body),
                })
            }
            Http::Hyper(pool) => {
                let body = match upload {
                    Some(upload) => http_body_util::Either::Right(upload),
                    None => http_body_util::Either::Left(Full::new(body.unwrap_or_default())),
                };
                let response = pool
                    .request(hyper_request(method, url, headers, body)?)
                    .await
                    .map_err(HttpError::Send)?;
                let (head, body) = response.into_parts();
                Ok(Answer {
                    status: head.status,
                    version: head.version,
                    headers: head.headers,
                    body: Body::Hyper(body),
                })
            }
            Http::Reqwest(client) => {
                let mut builder = client.request(method, url.clone()).headers(headers);
                if let Some(upload) = upload {
                    builder = builder.body(reqwest::Body::wrap(upload));
                } else if let Some(body) = body {
                    builder = builder.body(body);
                }
                let response = builder.send().await.map_err(HttpError::Reqwest)?;
                Ok(Answer::from_reqwest(response))
            }
        }
    }
}

/// The request as hyper takes it.
fn hyper_request<B>(
    method: Method,
    url: &Url,
    headers: HeaderMap,
    body: B,
) -> Result<hyper::Request<B>, HttpError> {
    let uri: hyper::Uri = url.as_str().parse().map_err(HttpError::Uri)?;
    let mut request = hyper::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

impl Answer {
    /// reqwest's response, as an answer.
    pub(crate) fn from_reqwest(response: reqwest::Response) -> Answer {
        let (head, body) = hyper::Response::from(response).into_parts();
        Answer {
            status: head.status,
            version: head.version,
            headers: head.headers,
            body: Body::Reqwest(body),
        }
    }

    /// The body's length when the server announced it (before any is read).
    pub(crate) fn content_length(&self) -> Option<u64> {
        use hyper::body::Body as _;
        match &self.body {
            Body::Hyper(body) => body.size_hint().exact(),
            Body::Reqwest(body) => body.size_hint().exact(),
            #[cfg(feature = "tower")]
            Body::Boxed(body) => body.size_hint().exact(),
        }
    }

    /// The next piece of the body; `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            let frame = match &mut self.body {
                Body::Hyper(body) => body.frame().await.map(|f| f.map_err(HttpError::Body)),
                Body::Reqwest(body) => body.frame().await.map(|f| f.map_err(HttpError::Reqwest)),
                #[cfg(feature = "tower")]
                Body::Boxed(body) => body.frame().await.map(|f| f.map_err(HttpError::Service)),
            };
            match frame {
                None => return Ok(None),
                Some(frame) => {
                    // Trailers carry no body bytes.
                    if let Ok(data) = frame?.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

impl HttpError {
    /// The chain of causes to read the fault from, and what the client itself knew:
    /// whether the error came while connecting, and whether it was a timeout.
    pub(crate) fn parts(&self) -> (Option<&(dyn StdError + 'static)>, bool, bool) {
        match self {
            // hyper's own words ("connection closed before message completed") are
            // the first link; the pool's ("client error (Connect)") say nothing more.
            HttpError::Send(e) => (e.source(), e.is_connect(), false),
            HttpError::Body(e) => (Some(e), false, e.is_timeout()),
            HttpError::Reqwest(e) => (e.source(), e.is_connect(), e.is_timeout()),
            HttpError::Uri(e) => (Some(e), false, false),
            #[cfg(any(feature = "tower", feature = "middleware"))]
            HttpError::Service(e) => {
                // hyper-util's client under the stack says itself whether it was
                // connecting.
                let legacy = e.downcast_ref::<hyper_util::client::legacy::Error>();
                match legacy {
                    Some(legacy) => (legacy.source(), legacy.is_connect(), false),
                    None => (Some(&**e), false, false),
                }
            }
        }
    }

    /// The error to keep as the failure's source (reqwest's without its URL, which
    /// steady shows redacted itself).
    pub(crate) fn into_source(self) -> crate::error::BoxError {
        match self {
            HttpError::Send(e) => Box::new(e),
            HttpError::Body(e) => Box::new(e),
            HttpError::Reqwest(e) => Box::new(e.without_url()),
            HttpError::Uri(e) => Box::new(e),
            #[cfg(any(feature = "tower", feature = "middleware"))]
            HttpError::Service(e) => e,
        }
    }
}
