//! Bodies handed over as they arrive: [`RequestBuilder::send_streaming`] and
//! [`RequestBuilder::send_events`] (server-sent events).
//!
//! Why this exists: [`RequestBuilder::send`] reads the whole body into memory, bounded
//! by [`ClientBuilder::max_body`](crate::ClientBuilder::max_body), so that the semantic
//! checks can read it and a body cut short can be fetched again. That is right for API
//! answers and wrong for a log tail, an export read as it comes, or an event stream
//! that never ends. A streamed call runs the whole stack up to the response head, the
//! same as any call (deadline, retries with backoff, guards, redirects, a 5xx or a
//! reset before the head retried); then the body is handed over, and from there:
//!
//! - **retries end.** What the caller has read cannot be taken back, so a body that
//!   breaks is an [`Error`] that says how much of it came
//!   ([`Error::body_received`]), never a silent short body: a reset, a connection
//!   closed before its `Content-Length` or its last chunk, a decoder that finds the
//!   data cut, are all errors.
//! - **the read timeout bounds each silence**: a chunk must come within
//!   [`Timeouts::read`](crate::Timeouts) of the last one; **the deadline** still bounds
//!   the whole body of [`send_streaming`](RequestBuilder::send_streaming) (one total
//!   deadline, as every call has), while an event stream has no end, so its deadline
//!   bounds each connection's head only ([`events`]).
//! - the body is decoded (gzip, deflate, br and zstd as built in) chunk by chunk; the
//!   limit of [`RequestBuilder::max_body`] applies when given, counted after decoding
//!   (no limit otherwise: memory is the caller's, one chunk at a time).
//! - the call ends at the head: its span, its `CallEnded` event, the
//!   `http.client.request.duration` metric, the breaker's and budget's record, and the
//!   bulkhead and concurrency places are all of the call up to the head; a body that
//!   breaks afterwards is reported to the caller (the `Err` in the stream), counted in
//!   `steady.client.streams.broken` and logged at INFO (target `steady::stream`), and
//!   told to no guard; a bulkhead does not bound how many streamed bodies are open.
//! - the checks that need the whole body (the JSON error-in-200 probe, expectations,
//!   validators) cannot run on a body not yet read: the status and content-type checks
//!   do; expectations are refused before anything is sent.
//!
//! Error answers (4xx, 5xx, a status the checks refuse) are read whole as usual, so
//! the error says what the server said.
//!
//! [`RequestBuilder::send`]: crate::RequestBuilder::send
//! [`RequestBuilder::send_streaming`]: crate::RequestBuilder::send_streaming
//! [`RequestBuilder::send_events`]: crate::RequestBuilder::send_events
//! [`RequestBuilder::max_body`]: crate::RequestBuilder::max_body
//! [`RequestBuilder`]: crate::RequestBuilder

pub mod events;
pub(crate) mod upload;

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::Stream;
use reqwest::{Method, Url};

use crate::classify::Fault;
use crate::decode::{Coding, DecodeError, Decoder, Output};
use crate::error::{Error, Kind};
use crate::redact::Scrubber;
use crate::transport::{Answer, Failure};
use crate::Response;

#[cfg(doc)]
use crate::RequestBuilder;

pub use events::{Event, Events};

/// A response head whose body is still on the wire, taken from the last attempt.
pub(crate) struct Handover {
    pub(crate) answer: Answer,
    pub(crate) codings: Vec<Coding>,
}

/// Where the exchange leaves the body it did not read. Shared by the attempts of one
/// call (a `Request` is cloned per attempt); the last successful attempt's is taken.
#[derive(Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<Option<Handover>>>);

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Slot")
    }
}

impl Slot {
    pub(crate) fn put(&self, handover: Handover) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(handover);
        }
    }

    pub(crate) fn take(&self) -> Option<Handover> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// What one streamed call needs to read its body on after the call has ended.
pub(crate) struct BodyReader {
    answer: Option<Answer>,
    /// Decoded bytes collect here between two reads of the decoder's output.
    pipe: Pipe,
    /// The body's codings; their decoder is made with the first byte (a body with
    /// none, a HEAD's or a 304's, has nothing to decode).
    codings: Vec<Coding>,
    decoder: Option<Decoder>,
    max: u64,
    /// Decoded bytes handed over so far.
    received: u64,
    read_timeout: Duration,
    /// The end of the call's deadline, for a body bounded by it.
    deadline: Option<tokio::time::Instant>,
    method: Method,
    url: Url,
    shown_url: String,
    scrubber: Scrubber,
    /// A body already in memory (an answer the checks read whole, or none at all).
    buffered: Option<Bytes>,
}

/// The decoder's output, read back after each chunk.
#[derive(Clone, Default)]
struct Pipe(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Pipe {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("stream buffer poisoned"))?
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Pipe {
    fn drain(&self) -> Bytes {
        self.0
            .lock()
            .map(|mut buf| Bytes::from(std::mem::take(&mut *buf)))
            .unwrap_or_default()
    }
}

/// Where a streamed call's body is read from, and under which limits.
pub(crate) struct Limits {
    pub(crate) read_timeout: Duration,
    pub(crate) deadline: Option<tokio::time::Instant>,
    pub(crate) max: u64,
}

impl BodyReader {
    pub(crate) fn new(
        response: &Response,
        handover: Option<Handover>,
        limits: Limits,
        method: Method,
    ) -> Self {
        let (answer, buffered, codings) = match handover {
            Some(Handover { answer, codings }) => (Some(answer), None, codings),
            None => (None, Some(response.bytes().clone()), Vec::new()),
        };
        BodyReader {
            answer,
            pipe: Pipe::default(),
            codings,
            decoder: None,
            max: limits.max,
            received: 0,
            read_timeout: limits.read_timeout,
            deadline: limits.deadline,
            method,
            url: response.url().clone(),
            shown_url: response.scrubber.url(response.url()),
            scrubber: response.scrubber.clone(),
            buffered,
        }
    }

    /// The next piece of the body, decoded; `None` at its end.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, Error>> {
        if let Some(bytes) = self.buffered.take() {
            self.received += bytes.len() as u64;
            return (!bytes.is_empty()).then_some(Ok(bytes));
        }
        loop {
            let answer = self.answer.as_mut()?;
            let silent_until = tokio::time::Instant::now() + self.read_timeout;
            let until = self.deadline.map_or(silent_until, |d| d.min(silent_until));
            let chunk = match tokio::time::timeout_at(until, answer.chunk()).await {
                Err(_) => {
                    let past_deadline = self
                        .deadline
                        .is_some_and(|d| tokio::time::Instant::now() >= d);
                    let fault = if past_deadline {
                        Fault::Deadline
                    } else {
                        Fault::ReadTimeout
                    };
                    return Some(Err(self.broke(Failure::new(
                        fault,
                        self.url.clone(),
                        false,
                    ))));
                }
                Ok(Err(e)) => {
                    let failure = crate::transport::failure(e, self.url.clone(), false);
                    return Some(Err(self.broke(failure)));
                }
                Ok(Ok(chunk)) => chunk,
            };
            let Some(chunk) = chunk else {
                // The end: the decoders check that their data was whole.
                self.answer = None;
                let decoder = self.decoder.take()?;
                return match decoder.finish() {
                    Ok(_) => self.hand(self.pipe.drain()),
                    Err(e) => Some(Err(self.undecodable(e))),
                };
            };
            if self.codings.is_empty() {
                if self.received + chunk.len() as u64 > self.max {
                    return Some(Err(self.undecodable(DecodeError::TooLarge)));
                }
                if let Some(item) = self.hand(chunk) {
                    return Some(item);
                }
                continue;
            }
            if chunk.is_empty() {
                continue;
            }
            let decoder = self.decoder.get_or_insert_with(|| {
                let out = Output::File(Box::new(self.pipe.clone()));
                Decoder::new(&self.codings, self.max, out)
            });
            if let Err(e) = decoder.write(&chunk) {
                return Some(Err(self.undecodable(e)));
            }
            if let Some(item) = self.hand(self.pipe.drain()) {
                return Some(item);
            }
        }
    }

    /// Hands `bytes` over, counted; nothing for an empty piece.
    fn hand(&mut self, bytes: Bytes) -> Option<Result<Bytes, Error>> {
        if bytes.is_empty() {
            return None;
        }
        self.received += bytes.len() as u64;
        Some(Ok(bytes))
    }

    fn undecodable(&mut self, e: DecodeError) -> Error {
        let failure = match e {
            DecodeError::TooLarge => Failure::too_large(self.max, self.url.clone()),
            DecodeError::Corrupt(e) | DecodeError::Write(e) => {
                Failure::protocol(format!("the body cannot be decoded: {e}"), self.url.clone())
            }
        };
        self.broke(failure)
    }

    /// The body breaks HTTP or what the caller reads from it (`why`).
    pub(crate) fn protocol(&mut self, why: String) -> Error {
        self.broke(Failure::protocol(why, self.url.clone()))
    }

    /// The body broke: the error says how much of it came. Nothing more is read.
    fn broke(&mut self, failure: Failure) -> Error {
        self.answer = None;
        self.decoder = None;
        crate::telemetry::stream_broken(
            &self.method,
            &self.url,
            &self.shown_url,
            failure.fault,
            self.received,
        );
        let mut err = Error::new(Kind::Fault(failure.fault))
            .with_request(&self.method, self.shown_url.clone())
            .with_scrubber(self.scrubber.clone())
            .with_body_received(self.received);
        if let Some(source) = failure.source {
            err = err.with_source(source);
        }
        err
    }
}

impl crate::RequestBuilder {
    /// Sends the request and hands the body over as it arrives: the call runs as
    /// [`send`](crate::RequestBuilder::send) does up to the response head (deadline,
    /// retries, guards, redirects), then [`Streaming`] gives the head at once and the
    /// body chunk by chunk, under the read timeout per chunk and the call's deadline.
    /// A body that breaks is an error saying how much came; it is not retried. See
    /// the [module docs](crate::stream).
    ///
    /// # Errors
    /// As [`send`](crate::RequestBuilder::send) for everything up to the head; a usage
    /// error before anything is sent when the request also saves or streams its body
    /// elsewhere ([`save_to`](crate::RequestBuilder::save_to),
    /// [`stream_to`](crate::RequestBuilder::stream_to)) or has checks that read the
    /// whole body (expectations, `until`, validators).
    pub async fn send_streaming(self) -> Result<Streaming, Error> {
        let client = self.client;
        let (response, reader) = start(&client, self.request?, true).await?;
        Ok(Streaming::new(response, reader))
    }
}

/// Runs the call up to the head of an accepted answer and readies its body.
/// `bounded`: the call's deadline bounds the body too.
pub(crate) async fn start(
    client: &crate::Client,
    mut request: crate::request::Request,
    bounded: bool,
) -> Result<(Response, BodyReader), Error> {
    let refuse = |why: &str| {
        Err(Error::usage(format!(
            "a streamed body {why}: use send() to read it whole"
        )))
    };
    if request.save_to.is_some() || request.stream_to.is_some() {
        return refuse("goes to the caller, not to a file or writer");
    }
    if request.checks.reads_any_body() {
        return refuse("cannot be checked by expectations, `until` or validators");
    }
    let slot = Slot::default();
    request.handover = Some(slot.clone());
    let method = request.method.clone();
    let total = request.deadline.unwrap_or(client.inner.timeouts.deadline);
    let max = request.max_body.unwrap_or(u64::MAX);
    let response = Box::pin(client.execute(request)).await?;
    let deadline = bounded
        .then(|| tokio::time::Instant::now().checked_add(total.saturating_sub(response.elapsed())));
    // A deadline too far to add is none at all.
    let deadline = deadline.flatten();
    let limits = Limits {
        read_timeout: client.inner.timeouts.read,
        deadline,
        max,
    };
    let reader = BodyReader::new(&response, slot.take(), limits, method);
    Ok((response, reader))
}

/// A response whose body is read as it arrives: the head (status, headers, the
/// attempts it took) at once, then the body as a [`Stream`] of [`Bytes`] or chunk by
/// chunk with [`Streaming::chunk`]. See the [module docs](self) for what still applies
/// to the body (read timeout, deadline, decoding) and what no longer does (retries).
///
/// ```no_run
/// # async fn run(client: steady::Client) -> Result<(), steady::Error> {
/// let mut export = client.get("https://example.com/export.ndjson").send_streaming().await?;
/// println!("{}", export.response().status());
/// while let Some(chunk) = export.chunk().await? {
///     // one piece of the body, decoded, as it came
/// #   let _ = chunk;
/// }
/// # Ok(()) }
/// ```
pub struct Streaming {
    response: Response,
    pump: Pump<BodyReader>,
    received: u64,
}

/// A reader whose next item is read by an async method that holds it across awaits,
/// driven as a [`Stream`]: it moves into each read's future and comes back with the
/// item. The stream ends after `None` or an error.
pub(crate) trait Reader: Send + 'static {
    type Item: Send + 'static;

    /// Reads the next item.
    fn read(self: Box<Self>) -> Reading<Self>;
}

/// A read in progress: the reader comes back with what it read.
pub(crate) type Reading<R> =
    BoxFuture<'static, (Box<R>, Option<Result<<R as Reader>::Item, Error>>)>;

pub(crate) enum Pump<R: Reader> {
    Idle(Box<R>),
    Reading(Reading<R>),
    Done,
}

impl<R: Reader> Pump<R> {
    pub(crate) fn new(reader: R) -> Self {
        Pump::Idle(Box::new(reader))
    }

    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<R::Item, Error>>> {
        loop {
            match std::mem::replace(self, Pump::Done) {
                Pump::Done => return Poll::Ready(None),
                Pump::Idle(reader) => *self = Pump::Reading(reader.read()),
                Pump::Reading(mut reading) => match reading.as_mut().poll(cx) {
                    Poll::Pending => {
                        *self = Pump::Reading(reading);
                        return Poll::Pending;
                    }
                    Poll::Ready((reader, item)) => {
                        if let Some(Ok(_)) = &item {
                            *self = Pump::Idle(reader);
                        }
                        return Poll::Ready(item);
                    }
                },
            }
        }
    }
}

impl Reader for BodyReader {
    type Item = Bytes;

    fn read(mut self: Box<Self>) -> Reading<Self> {
        Box::pin(async move {
            let item = self.next().await;
            (self, item)
        })
    }
}

impl fmt::Debug for Streaming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("status", &self.response.status())
            .field("url", &self.response.scrubber.url(self.response.url()))
            .field("received", &self.received())
            .finish()
    }
}

impl Streaming {
    pub(crate) fn new(response: Response, reader: BodyReader) -> Self {
        Streaming {
            response,
            pump: Pump::new(reader),
            received: 0,
        }
    }

    /// The response head: status, headers, the URL that answered, the attempts and
    /// guard decisions of the call. Its [`Response::bytes`] is empty unless the
    /// answer was read whole (a status the checks read, a fallback).
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// Decoded bytes of the body handed over so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the body, decoded; `Ok(None)` at its end.
    ///
    /// # Errors
    /// The body broke (reset, closed early, silent past the read timeout, past the
    /// deadline, undecodable, past [`RequestBuilder::max_body`](crate::RequestBuilder::max_body)):
    /// [`Error::body_received`] says how much had come. Nothing is read after an error.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        futures_util::StreamExt::next(self).await.transpose()
    }

    /// Reads the rest of the body into memory (bounded as
    /// [`Streaming::chunk`] is).
    ///
    /// # Errors
    /// As [`Streaming::chunk`].
    pub async fn collect(mut self) -> Result<Bytes, Error> {
        let mut all = bytes::BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }
}

impl Stream for Streaming {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.pump.poll_next(cx));
        if let Some(Ok(chunk)) = &item {
            self.received += chunk.len() as u64;
        }
        Poll::Ready(item)
    }
}
