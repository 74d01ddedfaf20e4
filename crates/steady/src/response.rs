//! A successful call's response, with the attempt log that led to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url, Version};

use crate::attempt::Attempt;
use crate::error::Kind;
use crate::redact::Scrubber;
use crate::Error;

/// The response of a call that succeeded, body read in full (bounded by the client's
/// maximum body size).
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) version: Version,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) guard_log: Vec<crate::guard::GuardEvent>,
    /// The redirects followed to this answer, in order.
    pub(crate) redirects: Vec<crate::redirect::Followed>,
    pub(crate) elapsed: Duration,
    pub(crate) scrubber: Scrubber,
    /// Where the body was saved and how many bytes ([`crate::RequestBuilder::save_to`]).
    pub(crate) saved: Option<(Option<PathBuf>, u64)>,
}

impl Response {
    /// The redirects the call followed to this answer, first to last (empty when the
    /// first URL answered). The final answer's own URL is [`Response::url`].
    pub fn redirects(&self) -> &[crate::redirect::Followed] {
        &self.redirects
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `Content-Type`, if present and readable.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }

    /// The URL of the final response (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The method of the request.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The file the body was saved to, for a [`crate::RequestBuilder::save_to`] call.
    pub fn saved_to(&self) -> Option<&Path> {
        self.saved.as_ref().and_then(|(path, _)| path.as_deref())
    }

    /// How many bytes (decoded) were saved to [`Response::saved_to`], or streamed to
    /// the writer of [`crate::RequestBuilder::stream_to`].
    pub fn saved_bytes(&self) -> Option<u64> {
        self.saved.as_ref().map(|(_, bytes)| *bytes)
    }

    /// The body (empty for a [`crate::RequestBuilder::save_to`] call unless it was read
    /// back for the semantic checks).
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body with every credential of the request replaced by `****`: for anything
    /// that writes bodies to disk or logs.
    pub fn bytes_scrubbed(&self) -> Bytes {
        self.scrubber.scrub_bytes(&self.body)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    /// A semantic-layer [`Error`] naming the field where the body does not fit `T` and
    /// the type expected there (`at items[0].price: invalid type: string "12", expected
    /// f64`).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let at = if path.is_empty() || path == "." {
                String::new()
            } else {
                format!(" at {path}")
            };
            let e = e.into_inner();
            // The message carries serde's words; attached as the source too, `{:#}`
            // would say them twice.
            self.semantic_error(
                crate::ErrorKind::TypeMismatch,
                format!("the body does not fit the expected type{at}: {e}"),
            )
        })
    }

    /// A semantic failure found in this response after the call (a type that does not
    /// fit, a page without its records): the response, its attempts, no server message
    /// (the body is data, not the server's words).
    pub(crate) fn semantic_error(&self, kind: crate::ErrorKind, message: String) -> Error {
        Error::new(Kind::Semantic(kind, message))
            .with_scrubber(self.scrubber.clone())
            .with_request(&self.method, self.scrubber.url(&self.url))
            .with_response(
                self.version,
                self.status,
                self.headers.clone(),
                self.body.clone(),
            )
            .without_server_message()
            .with_outcome(
                self.attempts.clone(),
                self.elapsed,
                crate::attempt::StopReason::NotRetryable,
                false,
            )
    }

    /// How many attempts the call took.
    pub fn attempts(&self) -> u32 {
        self.attempts.len() as u32
    }

    /// Every attempt, with what came back and what steady decided.
    pub fn attempt_log(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Every guard decision of the call (waits for permits, pauses, hedges).
    pub fn guard_log(&self) -> &[crate::guard::GuardEvent] {
        &self.guard_log
    }

    /// How long the call took, waits included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    pub(crate) fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }
}

/// How steady's call went, for a front that hands back another crate's response type:
/// in the extensions of every response steady serves as a tower service
/// (`steady::tower`) or as reqwest middleware (`steady::middleware`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallLog {
    /// One entry per attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Every guard decision (waits, refusals, the breaker).
    pub guard_log: Vec<crate::guard::GuardEvent>,
    /// From the call's start to its end.
    pub elapsed: Duration,
    /// For an answer that is a failure (a 4xx, or a 5xx after the retries): steady's
    /// error, with what the server said and what to do next.
    pub error: Option<std::sync::Arc<crate::Error>>,
}

impl CallLog {
    /// What a front (tower, reqwest-middleware) answers for a call: the response, or a
    /// failure that carries an answer (a 4xx, a 5xx after the retries) as that answer,
    /// each with its log in the extensions; a failure without an answer stays the error.
    #[cfg(any(feature = "tower", feature = "middleware"))]
    pub(crate) fn answer(
        result: Result<Response, crate::Error>,
    ) -> Result<http::Response<Bytes>, crate::Error> {
        let (status, version, headers, body, log) = match result {
            Ok(response) => (
                response.status(),
                Some(response.version()),
                Some(response.headers().clone()),
                response.bytes().clone(),
                CallLog::of_response(&response),
            ),
            Err(err) if err.layer() == crate::Layer::Http && err.status().is_some() => (
                err.status().unwrap_or_default(),
                err.version(),
                err.headers().cloned(),
                err.body().cloned().unwrap_or_default(),
                CallLog::of_error(err),
            ),
            Err(err) => return Err(err),
        };
        let mut http = http::Response::new(body);
        *http.status_mut() = status;
        if let Some(version) = version {
            *http.version_mut() = version;
        }
        if let Some(headers) = headers {
            *http.headers_mut() = headers;
        }
        http.extensions_mut().insert(log);
        Ok(http)
    }

    /// The log of a call that succeeded.
    pub fn of_response(response: &Response) -> CallLog {
        CallLog {
            attempts: response.attempt_log().to_vec(),
            guard_log: response.guard_log().to_vec(),
            elapsed: response.elapsed(),
            error: None,
        }
    }

    /// The log of a call that failed with `error`, which it keeps.
    pub fn of_error(error: crate::Error) -> CallLog {
        CallLog {
            attempts: error.attempt_log().to_vec(),
            guard_log: error.guard_log().to_vec(),
            elapsed: error.elapsed(),
            error: Some(std::sync::Arc::new(error)),
        }
    }
}
