//! One error type for every way a call can fail, and the questions to ask it.
//!
//! A caller needs to know *which layer* failed before it can act: the network
//! (transport), the server's verdict on the request (HTTP 4xx: fix the request; 5xx:
//! their server failed), or the content (semantic: a 2xx whose body is not what was
//! asked for). [`Error`] is opaque; its surface is questions: [`Error::layer`],
//! [`Error::is_timeout`], [`Error::status`], [`Error::server_message`],
//! [`Error::attempts`], [`Error::is_retryable`], and [`Error::explain`] for people.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Version};

use crate::attempt::{Attempt, StopReason};
use crate::classify::Fault;
use crate::guard::{GuardEvent, GuardKind};
use crate::redact::Scrubber;

mod kind;
mod words;

pub use kind::ErrorKind;

pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

pub use crate::classify::Layer;

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Usage(String),
    /// A download that cannot be written (folder missing, disk full).
    Save(String),
    Fault(Fault),
    Status,
    RedirectNotFollowed,
    TooManyRedirects(usize),
    RedirectRefused(String),
    /// A semantic failure of that kind (`ErrorKind::InvalidJson`, ...).
    Semantic(ErrorKind, String),
    Guard(GuardKind, String),
}

/// Why a call failed. See the [module docs](self).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    method: Option<Method>,
    url: Option<String>,
    /// Where a redirect took the call, when the answer came from elsewhere.
    answered_at: Option<String>,
    status: Option<StatusCode>,
    version: Option<Version>,
    headers: Option<HeaderMap>,
    body: Option<Bytes>,
    server_message: Option<String>,
    attempts: Vec<Attempt>,
    guard_log: Vec<GuardEvent>,
    elapsed: Duration,
    stop: Option<StopReason>,
    retryable: bool,
    source: Option<BoxError>,
    scrubber: Scrubber,
    /// How much of a streamed body had come when it broke.
    body_received: Option<u64>,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                method: None,
                url: None,
                answered_at: None,
                status: None,
                version: None,
                headers: None,
                body: None,
                server_message: None,
                attempts: Vec::new(),
                guard_log: Vec::new(),
                elapsed: Duration::ZERO,
                stop: None,
                retryable: false,
                source: None,
                scrubber: Scrubber::default(),
                body_received: None,
            }),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::new(Kind::Usage(message.into()))
    }

    pub(crate) fn with_request(mut self, method: &Method, url: String) -> Self {
        self.inner.method = Some(method.clone());
        self.inner.url = Some(url);
        self
    }

    /// The URL that answered, after redirects (already redacted).
    pub(crate) fn answered_at(mut self, url: String) -> Self {
        self.inner.answered_at = Some(url);
        self
    }

    pub(crate) fn with_response(
        mut self,
        version: Version,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        let message = crate::explain::from_headers(&body, &headers);
        self.inner.server_message = message.map(|m| self.inner.scrubber.scrub(&m));
        self.inner.status = Some(status);
        self.inner.version = Some(version);
        self.inner.headers = Some(headers);
        self.inner.body = Some(body);
        self
    }

    /// Drops the server message: for semantic failures whose own message already shows
    /// what was found.
    pub(crate) fn without_server_message(mut self) -> Self {
        self.inner.server_message = None;
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_scrubber(mut self, scrubber: Scrubber) -> Self {
        if let Some(message) = self.inner.server_message.take() {
            self.inner.server_message = Some(scrubber.scrub(&message));
        }
        self.inner.scrubber = scrubber;
        self
    }

    pub(crate) fn with_outcome(
        mut self,
        attempts: Vec<Attempt>,
        elapsed: Duration,
        stop: StopReason,
        retryable: bool,
    ) -> Self {
        self.inner.attempts = attempts;
        self.inner.elapsed = elapsed;
        self.inner.stop = Some(stop);
        self.inner.retryable = retryable;
        self
    }

    pub(crate) fn with_guard_log(mut self, log: Vec<GuardEvent>) -> Self {
        self.inner.guard_log = log;
        self
    }

    /// A streamed body that broke after `bytes` of it had been handed over.
    pub(crate) fn with_body_received(mut self, bytes: u64) -> Self {
        self.inner.body_received = Some(bytes);
        self
    }

    /// How many bytes of a streamed body ([`crate::RequestBuilder::send_streaming`])
    /// had been handed over when it broke; `None` for any other failure.
    pub fn body_received(&self) -> Option<u64> {
        self.inner.body_received
    }

    pub(crate) fn with_elapsed(mut self, elapsed: Duration) -> Self {
        self.inner.elapsed = elapsed;
        self
    }

    /// Every guard decision of the call: waits for permits, pauses, breaker and budget
    /// refusals, hedges.
    pub fn guard_log(&self) -> &[GuardEvent] {
        &self.inner.guard_log
    }

    pub(crate) fn scrubber(&self) -> &Scrubber {
        &self.inner.scrubber
    }

    /// The layer that failed.
    pub fn layer(&self) -> Layer {
        match &self.inner.kind {
            Kind::Usage(_) | Kind::Save(_) => Layer::Usage,
            Kind::Fault(_) => Layer::Transport,
            Kind::Status
            | Kind::RedirectNotFollowed
            | Kind::TooManyRedirects(_)
            | Kind::RedirectRefused(_) => Layer::Http,
            Kind::Semantic(..) => Layer::Semantic,
            Kind::Guard(..) => Layer::Guard,
        }
    }

    /// What failed, to match on ([`ErrorKind`]); its [`ErrorKind::name`] is the stable
    /// name of machine output.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.kind {
            Kind::Usage(_) => ErrorKind::Usage,
            Kind::Save(_) => ErrorKind::Save,
            Kind::Fault(fault) => ErrorKind::Transport(*fault),
            Kind::Status => match self.inner.status {
                Some(s) if s.is_client_error() => ErrorKind::ClientError,
                Some(s) if s.is_server_error() => ErrorKind::ServerError,
                _ => ErrorKind::UnexpectedStatus,
            },
            Kind::RedirectNotFollowed => ErrorKind::RedirectNotFollowed,
            Kind::TooManyRedirects(_) => ErrorKind::TooManyRedirects,
            Kind::RedirectRefused(_) => ErrorKind::RedirectRefused,
            Kind::Semantic(kind, _) => *kind,
            Kind::Guard(GuardKind::Breaker, _) => ErrorKind::CircuitOpen,
            Kind::Guard(GuardKind::Bulkhead, _) => ErrorKind::BulkheadFull,
            Kind::Guard(GuardKind::Concurrency, _) => ErrorKind::ConcurrencyLimit,
            Kind::Guard(GuardKind::Budget, _) => ErrorKind::RetryBudget,
            Kind::Guard(..) => ErrorKind::RateLimited,
        }
    }

    /// The transport fault, for a transport failure.
    pub fn fault(&self) -> Option<Fault> {
        match self.inner.kind {
            Kind::Fault(fault) => Some(fault),
            _ => None,
        }
    }

    /// Whether a timeout (connect, read or the total deadline) ended the call.
    pub fn is_timeout(&self) -> bool {
        self.fault().is_some_and(Fault::is_timeout)
    }

    /// Whether the call failed while connecting (DNS, refused, connect timeout).
    pub fn is_connect(&self) -> bool {
        self.fault().is_some_and(Fault::nothing_sent)
    }

    /// Whether a redirect was not followed, refused, or one too many.
    pub fn is_redirect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::RedirectNotFollowed | Kind::TooManyRedirects(_) | Kind::RedirectRefused(_)
        )
    }

    /// Whether the last failure was of a kind that another attempt could fix (the
    /// classifier said so), whatever stopped the retries.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// The status of the final response, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The HTTP version of the final response, if one arrived.
    pub fn version(&self) -> Option<Version> {
        self.inner.version
    }

    /// The headers of the final response, if one arrived.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.headers.as_ref()
    }

    /// The body of the final response, if one arrived.
    pub fn body(&self) -> Option<&Bytes> {
        self.inner.body.as_ref()
    }

    /// The body of the final response with every credential of the request replaced by
    /// `****`: for anything that writes bodies to disk or logs.
    pub fn body_scrubbed(&self) -> Option<Bytes> {
        self.inner
            .body
            .as_ref()
            .map(|b| self.inner.scrubber.scrub_bytes(b))
    }

    /// What the server said: the message in its error body (`"token expired"`, the
    /// fields of a `422`), or a short excerpt. Credentials are scrubbed.
    pub fn server_message(&self) -> Option<&str> {
        self.inner.server_message.as_deref()
    }

    /// The number of attempts made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts.len() as u32
    }

    /// Every attempt, with what came back and what steady decided.
    pub fn attempt_log(&self) -> &[Attempt] {
        &self.inner.attempts
    }

    /// Why steady stopped retrying, when it made at least one attempt.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.inner.stop
    }

    /// How long the call took, waits included.
    pub fn elapsed(&self) -> Duration {
        self.inner.elapsed
    }

    /// The request method, once known.
    pub fn method(&self) -> Option<&Method> {
        self.inner.method.as_ref()
    }

    /// The request URL with credentials redacted, once known.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// The URL that answered (redacted), when redirects took the call away from
    /// [`Error::url`]; `None` when the answer came from the URL called.
    pub fn final_url(&self) -> Option<&str> {
        self.inner.answered_at.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // This error's own words: the causes are in `source()`.
        let words = self.words(false);
        match (&self.inner.method, &self.inner.url) {
            (Some(m), Some(u)) => write!(f, "{m} {u}: {words}"),
            _ => f.write_str(&words),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("steady::Error");
        d.field("layer", &self.layer()).field("kind", &self.kind());
        if let Some(url) = &self.inner.url {
            d.field("url", url);
        }
        if let Some(status) = self.inner.status {
            d.field("status", &status);
        }
        d.field("attempts", &self.attempts());
        if let Some(source) = &self.inner.source {
            d.field("source", &self.inner.scrubber.scrub(&source.to_string()));
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_ref().map(|e| &**e as _)
    }
}
