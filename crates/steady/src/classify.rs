//! What an attempt's result means: success, a failure another attempt may fix, or a
//! failure retrying cannot fix.
//!
//! Retrying the wrong thing is how clients hammer services and repeat mistakes: a `400`
//! will be a `400` again, a `403` hammered a thousand times becomes a ban. So the
//! decision is a value you can read and replace, not a rule buried in a loop.
//!
//! [`DefaultClassifier`] encodes steady's defaults:
//!
//! | result | verdict |
//! |---|---|
//! | 2xx whose body passed the semantic checks | [`Verdict::Success`] |
//! | 2xx whose body failed them (JSON content type that does not parse, ...) | [`Verdict::Fatal`] |
//! | 3xx that was not followed (redirects off, exhausted or refused) | [`Verdict::Fatal`] |
//! | 3xx that is a final answer (`304 Not Modified`, no `Location`) | [`Verdict::Success`] |
//! | 408, 429, 500, 502, 503, 504 | [`Verdict::Retryable`] |
//! | any other 4xx or 5xx | [`Verdict::Fatal`] |
//! | connection refused, reset or closed before a complete response, timeouts | [`Verdict::Retryable`] |
//! | a response that breaks HTTP (bytes that are not HTTP, a malformed chunk, a corrupt compressed body) | [`Verdict::Retryable`], as a reset: a broken proxy or a crashing worker sends it once; a server that answers garbage every time still ends as a [`Fault::Protocol`] failure when the retries are spent |
//! | DNS failure, TLS failure, body over the size limit | [`Verdict::Fatal`] |
//!
//! Whether a `Retryable` result is actually retried also depends on the method (see
//! [`crate::retry`]), the attempts left and the deadline.
//!
//! # Example: also retry `409 Conflict`
//!
//! ```
//! use steady::classify::{AttemptView, Classify, DefaultClassifier, Verdict};
//!
//! struct AlsoConflict;
//!
//! impl Classify for AlsoConflict {
//!     fn classify(&self, attempt: &AttemptView<'_>) -> Verdict {
//!         if attempt.status().map(|s| s.as_u16()) == Some(409) {
//!             return Verdict::Retryable;
//!         }
//!         DefaultClassifier.classify(attempt)
//!     }
//! }
//!
//! let client = steady::Client::builder().classifier(AlsoConflict).build()?;
//! # let _ = client;
//! # Ok::<(), steady::Error>(())
//! ```

use std::fmt;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// Where a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// No complete response: DNS, refused, reset, TLS, timeout.
    Transport,
    /// A complete response whose status says the call failed (4xx, 5xx, a 3xx not
    /// followed).
    Http,
    /// A 2xx whose body is not what was asked for.
    Semantic,
    /// Not sent because a guard (circuit breaker, budget) refused it.
    Guard,
    /// The request could not be built (bad URL, bad header, bad credential).
    Usage,
}

impl Layer {
    /// The stable lowercase name: `transport`, `http`, `semantic`, `guard`, `usage`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Transport => "transport",
            Layer::Http => "http",
            Layer::Semantic => "semantic",
            Layer::Guard => "guard",
            Layer::Usage => "usage",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The attempt did what was asked: stop and return the response.
    Success,
    /// A failure that another attempt may fix (overload, a blip in the network).
    Retryable,
    /// A failure that another attempt will not fix (a wrong request, a bad body).
    Fatal,
}

/// What went wrong below HTTP, when an attempt produced no complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens on that address and port.
    Refused,
    /// The connection (DNS + TCP + TLS) was not set up within the connect timeout.
    ConnectTimeout,
    /// Another failure while connecting (unreachable network, ...).
    Connect,
    /// The TLS handshake failed (bad certificate, wrong host name, old protocol).
    Tls,
    /// The connection was reset before a complete response arrived.
    Reset,
    /// The server closed the connection before a complete response arrived.
    Closed,
    /// The server was silent for longer than the read timeout.
    ReadTimeout,
    /// The call's total deadline passed during this attempt.
    Deadline,
    /// The body is larger than the configured maximum.
    BodyTooLarge,
    /// The response broke HTTP (bad framing, bad encoding).
    Protocol,
}

impl Fault {
    /// A stable snake_case name, used as `error.kind` in JSON outcomes.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Dns => "dns",
            Fault::Refused => "connection_refused",
            Fault::ConnectTimeout => "connect_timeout",
            Fault::Connect => "connect",
            Fault::Tls => "tls",
            Fault::Reset => "connection_reset",
            Fault::Closed => "connection_closed",
            Fault::ReadTimeout => "read_timeout",
            Fault::Deadline => "deadline",
            Fault::BodyTooLarge => "body_too_large",
            Fault::Protocol => "protocol",
        }
    }

    /// A fault in words.
    /// The fault in words, for messages.
    pub(crate) fn words(self) -> &'static str {
        match self {
            Fault::Dns => "DNS lookup failed: the host name does not resolve",
            Fault::Refused => "connection refused: nothing listens at that address and port",
            Fault::ConnectTimeout => "connect timeout: no connection within the connect timeout",
            Fault::Connect => "could not connect",
            Fault::Tls => "TLS handshake failed",
            Fault::Reset => "connection reset before a complete response",
            Fault::Closed => "connection closed before a complete response",
            Fault::ReadTimeout => {
                "read timeout: the server went silent for longer than the read timeout"
            }
            Fault::Deadline => "deadline exceeded: the call ran out of time",
            Fault::BodyTooLarge => "response body larger than the maximum allowed",
            Fault::Protocol => "the server broke the HTTP protocol",
        }
    }

    /// Whether this fault is one of the timeouts.
    pub fn is_timeout(self) -> bool {
        matches!(
            self,
            Fault::ConnectTimeout | Fault::ReadTimeout | Fault::Deadline
        )
    }

    /// Whether the fault proves the request never reached the server (it happened
    /// while connecting), so even a non-idempotent request is safe to send again.
    pub fn nothing_sent(self) -> bool {
        matches!(
            self,
            Fault::Dns | Fault::Refused | Fault::ConnectTimeout | Fault::Connect
        )
    }
}

/// What a classifier sees of one attempt.
#[derive(Debug)]
pub struct AttemptView<'a> {
    pub(crate) method: &'a Method,
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers: Option<&'a HeaderMap>,
    pub(crate) body: Option<&'a Bytes>,
    pub(crate) fault: Option<Fault>,
    pub(crate) semantic_problem: Option<&'a str>,
    pub(crate) redirect_problem: bool,
}

impl AttemptView<'_> {
    /// The request method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The response status, when a complete response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The response headers, when a complete response arrived.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers
    }

    /// The response body, when a complete response arrived.
    pub fn body(&self) -> Option<&Bytes> {
        self.body
    }

    /// The transport fault, when no complete response arrived.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// Why the semantic checks rejected a 2xx body, if they did.
    pub fn semantic_problem(&self) -> Option<&str> {
        self.semantic_problem
    }

    /// Whether a redirect was refused or the redirect limit was reached.
    pub fn redirect_problem(&self) -> bool {
        self.redirect_problem
    }
}

/// Decides what an attempt's result means. See the [module docs](self).
pub trait Classify: Send + Sync + 'static {
    /// The verdict on one attempt.
    fn classify(&self, attempt: &AttemptView<'_>) -> Verdict;
}

impl<F> Classify for F
where
    F: Fn(&AttemptView<'_>) -> Verdict + Send + Sync + 'static,
{
    fn classify(&self, attempt: &AttemptView<'_>) -> Verdict {
        self(attempt)
    }
}

/// steady's default classification; the table is in the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifier;

impl DefaultClassifier {
    /// The statuses retried by default: 408, 429, 500, 502, 503, 504.
    pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];
}

impl Classify for DefaultClassifier {
    fn classify(&self, attempt: &AttemptView<'_>) -> Verdict {
        if let Some(fault) = attempt.fault {
            return match fault {
                Fault::Refused
                | Fault::Reset
                | Fault::Closed
                | Fault::ConnectTimeout
                | Fault::ReadTimeout
                | Fault::Deadline
                | Fault::Protocol => Verdict::Retryable,
                Fault::Dns | Fault::Connect | Fault::Tls | Fault::BodyTooLarge => Verdict::Fatal,
            };
        }
        let Some(status) = attempt.status else {
            return Verdict::Fatal;
        };
        if attempt.redirect_problem {
            return Verdict::Fatal;
        }
        if status.is_redirection() {
            // Followed redirects never get here and unfollowed ones carry a redirect
            // problem: what is left is a final answer (`304 Not Modified`, a 3xx
            // without `Location`).
            return Verdict::Success;
        }
        if status.is_success() {
            return if attempt.semantic_problem.is_some() {
                Verdict::Fatal
            } else {
                Verdict::Success
            };
        }
        if Self::RETRYABLE_STATUSES.contains(&status.as_u16()) {
            Verdict::Retryable
        } else {
            Verdict::Fatal
        }
    }
}
