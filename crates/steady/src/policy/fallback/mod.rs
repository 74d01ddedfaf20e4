//! Failing gracefully: a cached answer, another source, or a default, when (and only
//! when) the service has an outage.
//!
//! A call ends in one of three ways, and the types keep them apart:
//!
//! - **fresh data**: `Ok(Outcome)` with [`Source::Network`] and no
//!   [`Outcome::degraded_by`];
//! - **a handled outage**: `Ok(Outcome)` whose [`Outcome::source`] says where the answer
//!   came from (cache, an alternative URL, a default) and whose
//!   [`Outcome::degraded_by`] is the failure that made it necessary;
//! - **an error**: a bug in the request (4xx, a semantic failure: a fallback would
//!   hide it, so none is tried) or an outage no fallback could handle.
//!
//! Only outages fall back: transport failures, timeouts, 5xx, 429 and guard refusals.
//! Fallbacks are tried in the order given. A plain [`crate::RequestBuilder::send`]
//! never returns fallback data; only [`FallbackRequest::send`] does, and its result
//! type says so.
//!
//! ```
//! # use steady_chaos::{ChaosConfig, ChaosServer};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use steady::fallback::{Fallback, Source};
//!
//! # let down = ChaosServer::start(ChaosConfig::new().fault("status=503").unwrap()).unwrap();
//! # let mirror = ChaosServer::start(ChaosConfig::new()).unwrap();
//! # let (primary, alternative) = (down.url("/items/1"), mirror.url("/items/1"));
//! let client = steady::Client::builder().retry(steady::Retry::none()).build()?;
//! let outcome = client
//!     .get(&primary)
//!     .fallback(Fallback::url(&alternative))
//!     .fallback(Fallback::json(serde_json::json!({"id": 1, "name": "unknown"})))
//!     .send()
//!     .await?;
//! assert!(matches!(outcome.source(), Source::Alternative { .. }));
//! assert_eq!(outcome.degraded_by().unwrap().status().unwrap(), 503);
//! # Ok::<(), steady::Error>(())
//! # }).unwrap();
//! ```

#[cfg(feature = "state")]
pub mod cache;

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Version};

use crate::error::Layer;
use crate::request::Request;
use crate::{Client, Error, Response};

#[cfg(feature = "state")]
pub use cache::{Cache, CachePolicy};

/// One fallback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fallback {
    /// The last good answer to the same request, from the client's cache.
    #[cfg(feature = "state")]
    Cache(CachePolicy),
    /// The same request to another URL.
    Url(String),
    /// A fixed answer.
    Default {
        /// Its body.
        body: Bytes,
        /// Its content type.
        content_type: String,
    },
    /// A JSON answer computed from the outage ([`Fallback::json_with`]).
    Computed(Computed),
}

/// A fallback's function: the outage in, a JSON answer out (or `None`: the next
/// fallback).
#[derive(Clone)]
pub struct Computed(std::sync::Arc<AnswerFn>);

/// What [`Fallback::json_with`] calls.
type AnswerFn = dyn Fn(&Error) -> Option<serde_json::Value> + Send + Sync;

impl std::fmt::Debug for Computed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Computed(fn)")
    }
}

impl Fallback {
    /// The cache, with the default policy.
    #[cfg(feature = "state")]
    pub fn cache() -> Self {
        Fallback::Cache(CachePolicy::default())
    }

    /// The same request to `url`, credentials included: name only a source you trust
    /// with them.
    pub fn url(url: &str) -> Self {
        Fallback::Url(url.to_owned())
    }

    /// A JSON default answer.
    pub fn json(value: serde_json::Value) -> Self {
        Fallback::Default {
            body: Bytes::from(value.to_string()),
            content_type: "application/json".to_owned(),
        }
    }

    /// A JSON answer made by `answer` from the outage it covers, when it gives one
    /// (`None`: the next fallback, or the error). Its source is `default`.
    ///
    /// ```
    /// use steady::{Fallback, Layer};
    /// // An empty list while the service is down, saying why.
    /// let fallback = Fallback::json_with(|outage| {
    ///     (outage.layer() != Layer::Guard).then(|| {
    ///         serde_json::json!({"items": [], "stale": true, "why": outage.what()})
    ///     })
    /// });
    /// # let _ = fallback;
    /// ```
    pub fn json_with(
        answer: impl Fn(&Error) -> Option<serde_json::Value> + Send + Sync + 'static,
    ) -> Self {
        Fallback::Computed(Computed(std::sync::Arc::new(answer)))
    }

    /// A default answer with this body and content type.
    pub fn body(body: impl Into<Bytes>, content_type: &str) -> Self {
        Fallback::Default {
            body: body.into(),
            content_type: content_type.to_owned(),
        }
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The live call.
    Network,
    /// The cache: the answer was stored this long ago.
    Cache {
        /// Its age.
        age: Duration,
    },
    /// An alternative URL (redacted).
    Alternative {
        /// The URL that answered.
        url: String,
    },
    /// The configured default.
    Default,
}

impl Source {
    /// `network`, `cache`, `fallback_url` or `default`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Network => "network",
            Source::Cache { .. } => "cache",
            Source::Alternative { .. } => "fallback_url",
            Source::Default => "default",
        }
    }
}

/// The end of a call that may fall back: the answer, where it came from, and the
/// failure that made a fallback necessary.
#[derive(Debug)]
pub struct Outcome {
    response: Response,
    source: Source,
    degraded_by: Option<Error>,
}

impl Outcome {
    /// The answer.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The answer, owned.
    pub fn into_response(self) -> Response {
        self.response
    }

    /// Where the answer came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The outage that made a fallback necessary; `None` for fresh data.
    pub fn degraded_by(&self) -> Option<&Error> {
        self.degraded_by.as_ref()
    }

    /// Whether the answer is fresh from the network.
    pub fn is_fresh(&self) -> bool {
        self.degraded_by.is_none()
    }
}

/// Whether a failure is an outage a fallback may cover: transport failures (but a
/// body over the limit), timeouts, 5xx, 429, guard refusals.
pub fn is_outage(err: &Error) -> bool {
    match err.layer() {
        Layer::Transport => err.fault() != Some(crate::classify::Fault::BodyTooLarge),
        Layer::Guard => true,
        Layer::Http => err
            .status()
            .is_some_and(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS),
        _ => false,
    }
}

/// A request with fallbacks; built by [`crate::RequestBuilder::fallback`].
#[must_use = "a request does nothing until it is sent"]
pub struct FallbackRequest {
    pub(crate) client: Client,
    pub(crate) request: Result<Request, Error>,
    pub(crate) fallbacks: Vec<Fallback>,
}

impl FallbackRequest {
    /// Adds another fallback, tried after the ones before it.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallbacks.push(fallback);
        self
    }

    /// Sends the request; on an outage, tries the fallbacks in order.
    ///
    /// # Errors
    /// The request's own error when it is not an outage (4xx, semantic, usage), or
    /// when no fallback could answer.
    pub async fn send(self) -> Result<Outcome, Error> {
        let client = self.client.clone();
        let request = self
            .request
            .as_ref()
            .ok()
            .map(|r| (r.method.clone(), r.scrubber().url(&r.url), r.url.clone()));
        let outcome = self.answer().await;
        if let (Ok(outcome), Some((method, shown, url))) = (&outcome, request) {
            if outcome.source != Source::Network {
                let host = crate::guard::host_key(&url);
                let info = crate::event::CallInfo {
                    method: &method,
                    url: &shown,
                    host: &host,
                };
                let event = crate::event::Event::FallbackUsed {
                    source: outcome.source.name(),
                };
                crate::telemetry::on_event(&info, &event);
                client.inner.listeners.tell(&info, &event);
            }
        }
        outcome
    }

    async fn answer(self) -> Result<Outcome, Error> {
        let request = self.request?;
        if request.save_to.is_some() {
            return Err(Error::usage(
                "a download to a file cannot have fallbacks: a fallback answer is not the file",
            ));
        }
        let client = self.client;
        // The client's default headers belong to the request before the cache key and
        // the scrubber are made from it (a default credential keeps identities apart).
        let mut request = request;
        request.add_defaults(&client);
        let result = Box::pin(client.execute(request.clone())).await;
        let err = match result {
            Ok(response) => {
                #[cfg(feature = "state")]
                if self
                    .fallbacks
                    .iter()
                    .any(|f| matches!(f, Fallback::Cache(_)))
                {
                    client.cache_store(&request, &response);
                }
                return Ok(Outcome {
                    response,
                    source: Source::Network,
                    degraded_by: None,
                });
            }
            Err(err) if !is_outage(&err) => return Err(err),
            Err(err) => err,
        };
        for fallback in &self.fallbacks {
            match fallback {
                #[cfg(feature = "state")]
                Fallback::Cache(policy) => match client.cache_lookup(&request, policy, &err) {
                    Ok((response, age)) => {
                        return Ok(Outcome {
                            response,
                            source: Source::Cache { age },
                            degraded_by: Some(err),
                        })
                    }
                    Err(why) => {
                        tracing::warn!(target: "steady::fallback", "cache fallback skipped: {why}");
                    }
                },
                Fallback::Url(url) => {
                    let mut alternative = request.clone();
                    match reqwest::Url::parse(url) {
                        Ok(parsed) => alternative.url = parsed,
                        Err(e) => {
                            tracing::warn!(target: "steady::fallback", "fallback URL skipped: '{url}' is not a URL ({e})");
                            continue;
                        }
                    }
                    let shown = alternative.scrubber().url(&alternative.url);
                    match Box::pin(client.execute(alternative)).await {
                        Ok(response) => {
                            return Ok(Outcome {
                                response,
                                source: Source::Alternative { url: shown },
                                degraded_by: Some(err),
                            })
                        }
                        Err(e) => {
                            tracing::warn!(target: "steady::fallback", "fallback {shown} failed too: {}", e.what());
                        }
                    }
                }
                Fallback::Computed(Computed(answer)) => {
                    let Some(value) = answer(&err) else {
                        continue;
                    };
                    let mut headers = HeaderMap::new();
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    let body = Bytes::from(value.to_string());
                    let response = synthetic(&request, StatusCode::OK, headers, body, &err);
                    return Ok(Outcome {
                        response,
                        source: Source::Default,
                        degraded_by: Some(err),
                    });
                }
                Fallback::Default { body, content_type } => {
                    let mut headers = HeaderMap::new();
                    if let Ok(v) = HeaderValue::from_str(content_type) {
                        headers.insert(CONTENT_TYPE, v);
                    }
                    let response = synthetic(&request, StatusCode::OK, headers, body.clone(), &err);
                    return Ok(Outcome {
                        response,
                        source: Source::Default,
                        degraded_by: Some(err),
                    });
                }
            }
        }
        Err(err)
    }
}

/// A response that did not come from the network for this call.
fn synthetic(
    request: &Request,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    err: &Error,
) -> Response {
    Response {
        version: Version::HTTP_11,
        method: request.method.clone(),
        url: request.url.clone(),
        status,
        headers,
        body,
        attempts: Vec::new(),
        guard_log: Vec::new(),
        redirects: Vec::new(),
        elapsed: err.elapsed(),
        scrubber: request.scrubber(),
        saved: None,
    }
}

#[cfg(feature = "state")]
impl Client {
    /// The cache key of a request: method, URL, and a fingerprint of its credentials.
    fn cache_key(request: &Request) -> String {
        let mut credentials: Vec<String> = request
            .secrets
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        for name in crate::redirect::ALWAYS_SENSITIVE.iter() {
            for v in request.headers.get_all(name) {
                credentials.push(String::from_utf8_lossy(v.as_bytes()).into_owned());
            }
        }
        credentials.sort();
        let refs: Vec<&str> = credentials.iter().map(String::as_str).collect();
        cache::key(request.method.as_str(), request.url.as_str(), &refs)
    }

    fn cache_store(&self, request: &Request, response: &Response) {
        let Some(store) = &self.inner.cache else {
            return;
        };
        if request.method != reqwest::Method::GET || !response.status().is_success() {
            return;
        }
        let cache_control = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if cache::directives(&cache_control).no_store {
            return;
        }
        let scrubber = request.scrubber();
        let body = match std::str::from_utf8(response.bytes()) {
            Ok(text) => scrubber.scrub(text).into_bytes(),
            Err(_) => response.bytes().to_vec(),
        };
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            // Credentials are not stored: Set-Cookie, and any header whose name says
            // it carries one (a session token handed back in `X-Auth-Token`).
            .filter(|(n, _)| *n != reqwest::header::SET_COOKIE && !self.is_sensitive(n))
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.to_string(), scrubber.scrub(v))))
            .collect();
        let entry = cache::Entry {
            status: response.status().as_u16(),
            content_type: response.content_type().map(str::to_owned),
            headers,
            body,
            stored_ms: crate::guard::wall_ms(self.inner.clock.wall()),
            cache_control,
        };
        if let Err(e) = store.store(
            &Self::cache_key(request),
            &scrubber.url(&request.url),
            &entry,
        ) {
            // The cache has warned (target steady::cache).
            tracing::debug!(target: "steady::fallback", "the response was not cached: {e}");
        }
    }

    fn cache_lookup(
        &self,
        request: &Request,
        policy: &CachePolicy,
        err: &Error,
    ) -> Result<(Response, Duration), String> {
        let store = self.inner.cache.as_ref().ok_or("no cache is configured")?;
        let entry = store
            .lookup(&Self::cache_key(request))?
            .ok_or("nothing is cached for this request")?;
        let now = crate::guard::wall_ms(self.inner.clock.wall());
        if let Some(why) = cache::refuse(&entry, policy, now) {
            return Err(why);
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &entry.headers {
            if let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        let status = StatusCode::from_u16(entry.status).unwrap_or(StatusCode::OK);
        let age = Duration::from_millis(now.saturating_sub(entry.stored_ms));
        Ok((
            synthetic(request, status, headers, Bytes::from(entry.body), err),
            age,
        ))
    }
}

/// Fallbacks are a request's: `client.get(url).fallback(Fallback::cache())`.
impl crate::RequestBuilder {
    /// Adds a fallback for outages; the request then ends in a
    /// [`Outcome`] that says where its answer came from.
    pub fn fallback(self, fallback: Fallback) -> FallbackRequest {
        FallbackRequest {
            client: self.client,
            request: self.request,
            fallbacks: vec![fallback],
        }
    }
}
