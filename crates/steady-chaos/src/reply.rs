//! What the server does with one request: an honest response, or one of the faults
//! real servers and networks produce.

use std::time::Duration;

use bytes::Bytes;

/// How a reply misbehaves, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Send the response as it is.
    None,
    /// Read the request, then never answer (the connection stays open).
    Hang,
    /// Read the request, then reset the connection (TCP RST) without a response.
    Reset,
    /// Read the request, then close the connection cleanly (FIN) without a response.
    Close,
    /// Send the head and the first `n` body bytes, then reset the connection.
    ResetAfter(usize),
    /// Send the head, then the body one byte at a time with this pause before each byte.
    Trickle(Duration),
    /// Announce the full `Content-Length`, send only `n` body bytes, then close cleanly.
    Truncate(usize),
    /// Write these bytes verbatim as the whole response, then close.
    Raw(Bytes),
    /// Send a body of this many bytes, generated while writing (never held in memory).
    Huge(u64),
}

/// One scripted answer of a [`crate::ScriptServer`].
///
/// ```
/// use std::time::Duration;
/// use steady_chaos::Reply;
///
/// let rate_limited = Reply::status(429).header("Retry-After", "2");
/// let slow = Reply::json(200, "{}").delay(Duration::from_millis(50));
/// let broken = Reply::json(200, r#"{"items":[1,2,3]}"#).reset_after(5);
/// # let _ = (rate_limited, slow, broken);
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) delay: Duration,
    pub(crate) fault: Fault,
}

impl Reply {
    /// A response with this status. A 4xx or 5xx gets a small JSON error body
    /// (`{"error":{"message":"<reason phrase>"}}`) unless [`Reply::body`] replaces it.
    pub fn status(status: u16) -> Self {
        let (headers, body) = if status >= 400 {
            let message = crate::http1::reason(status).to_ascii_lowercase();
            (
                vec![("Content-Type".to_owned(), "application/json".to_owned())],
                Bytes::from(format!(r#"{{"error":{{"message":"{message}"}}}}"#)),
            )
        } else {
            (Vec::new(), Bytes::new())
        };
        Reply {
            status,
            headers,
            body,
            delay: Duration::ZERO,
            fault: Fault::None,
        }
    }

    /// A response with this status and a JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply::status(status)
            .body(body.into())
            .header("Content-Type", "application/json")
    }

    /// A `200 OK` with a plain-text body.
    pub fn text(body: impl Into<String>) -> Self {
        Reply::status(200)
            .body(body.into())
            .header("Content-Type", "text/plain")
    }

    /// A redirect with this status to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Reply::status(status).header("Location", location)
    }

    /// Adds a header, replacing one of the same name (case-insensitive).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Replaces the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits this long after reading the request before answering (latency).
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Reads the request and never answers; the connection stays open.
    pub fn hang() -> Self {
        Reply::status(200).fault(Fault::Hang)
    }

    /// Reads the request and resets the connection (TCP RST) without answering.
    pub fn reset() -> Self {
        Reply::status(200).fault(Fault::Reset)
    }

    /// Reads the request and closes the connection cleanly without answering.
    pub fn close() -> Self {
        Reply::status(200).fault(Fault::Close)
    }

    /// Sends the head and the first `n` bytes of the body, then resets the connection.
    #[must_use]
    pub fn reset_after(self, n: usize) -> Self {
        self.fault(Fault::ResetAfter(n))
    }

    /// Sends the body one byte at a time, pausing `every` before each byte.
    #[must_use]
    pub fn trickle(self, every: Duration) -> Self {
        self.fault(Fault::Trickle(every))
    }

    /// Announces the whole body in `Content-Length` but closes after `n` bytes.
    #[must_use]
    pub fn truncate_at(self, n: usize) -> Self {
        self.fault(Fault::Truncate(n))
    }

    /// A `200 OK` whose body is `len` bytes of text, written in chunks as it goes, so
    /// that a server can send gigabytes without holding them.
    pub fn huge(len: u64) -> Self {
        Reply::status(200)
            .header("Content-Type", "text/plain")
            .header("Content-Length", len.to_string())
            .fault(Fault::Huge(len))
    }

    /// Writes `bytes` verbatim as the whole response and closes: for malformed
    /// responses no honest server would send.
    pub fn raw(bytes: impl Into<Bytes>) -> Self {
        Reply::status(200).fault(Fault::Raw(bytes.into()))
    }

    pub(crate) fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}
