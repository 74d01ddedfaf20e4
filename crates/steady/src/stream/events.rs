//! Server-sent events (`text/event-stream`): [`RequestBuilder::send_events`].
//!
//! An event stream has no end, so the call's deadline bounds each connection up to
//! its response head (with the call's retries, backoff and guards), and the read
//! timeout bounds the silence between two pieces of the stream (servers send a
//! comment line as a heartbeat). When the stream ends or breaks (a reset, a proxy
//! that closes idle connections, a read timeout), [`Events`] connects again, as a
//! browser's `EventSource` does: after the server's `retry:` time (default
//! [`DEFAULT_RECONNECT`]), with `Last-Event-ID` set to the last event's id so that
//! the server can resume where it stopped, each reconnection a whole call under the
//! deadline again. A reconnection that fails (its retries spent, a 4xx or 5xx, a
//! content type other than `text/event-stream`) ends the stream with its error; a
//! `204 No Content` ends it cleanly (the server's way to say stop). Connections that
//! end without an event wait longer before the next (at least 1 s, doubling to 60 s),
//! so a server that accepts and closes at once is not asked again in a tight loop.
//!
//! The parser follows the WHATWG HTML standard's "event stream interpretation": lines
//! end with CRLF, LF or CR; `:` starts a comment; fields `event`, `data` (joined by
//! newlines), `id` (ignored when it holds NUL) and `retry` (digits only); a blank
//! line dispatches the event; an event not finished when a connection ends is
//! dropped. It is written here because it is a small state machine over bytes that
//! steady already reads (decoded, timed), and the crates that parse it either read
//! from a `reqwest::Response` of their own (bypassing steady's stack) or have not
//! been kept up.
//!
//! [`RequestBuilder::send_events`]: crate::RequestBuilder::send_events

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use reqwest::header::{HeaderValue, ACCEPT, CACHE_CONTROL};

use super::{start, BodyReader, Pump, Reader, Reading};
use crate::classify::Fault;
use crate::error::Error;
use crate::request::Request;
use crate::{Client, Response};

/// How long [`Events`] waits before connecting again when the server has not said
/// (`retry:`): 3 seconds, as browsers do.
pub const DEFAULT_RECONNECT: Duration = Duration::from_secs(3);

/// The least wait before connecting again after a connection that brought no event,
/// doubling with each such connection in a row up to [`MAX_EMPTY_RECONNECT`]: a
/// server that accepts and closes at once (or says `retry: 0` and sends nothing) is
/// not asked again in a tight loop.
const MIN_EMPTY_RECONNECT: Duration = Duration::from_secs(1);
const MAX_EMPTY_RECONNECT: Duration = Duration::from_secs(60);

/// The wait before connecting again: the server's `retry:` (else the default), and
/// after `empty` connections in a row without an event, at least 1 s doubling to 60 s.
fn reconnect_wait(retry: Option<Duration>, empty: u32) -> Duration {
    let base = retry.unwrap_or(DEFAULT_RECONNECT);
    if empty == 0 {
        return base;
    }
    let doubled = base
        .max(MIN_EMPTY_RECONNECT)
        .saturating_mul(1u32 << (empty - 1).min(16));
    doubled.min(MAX_EMPTY_RECONNECT.max(base))
}

/// The longest line or event accepted (16 MiB): a stream that never ends a line is an
/// error, not unbounded memory.
const MAX_EVENT: usize = 16 << 20;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    event: String,
    data: String,
    id: String,
    retry: Option<Duration>,
}

impl Event {
    /// The event's type (`event:`), `message` when the server gave none.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's data: its `data:` lines joined by newlines.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The last event id the server set (`id:`), this event's or an earlier one's;
    /// empty when none. It is what a reconnection sends as `Last-Event-ID`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The reconnection time the server set with this event's `retry:` field.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The data parsed as JSON.
    ///
    /// # Errors
    /// The data is not JSON of type `T` (serde's message).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// The event stream interpretation of the WHATWG HTML standard, fed chunk by chunk.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    line: Vec<u8>,
    /// The last byte was a CR: an LF right after it ends nothing more.
    after_cr: bool,
    /// A line of this connection has been read (a leading BOM is dropped).
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    retry: Option<Duration>,
    /// The last event ID buffer: `id:` sets it, an event's dispatch makes it the last
    /// event ID.
    id_buffer: String,
    /// The last event ID: the buffer as the last dispatched event left it. A
    /// reconnection sends it, and the new connection's buffer starts from it.
    pub(crate) last_id: String,
    /// The reconnection time the server last set.
    pub(crate) reconnect: Option<Duration>,
}

impl Parser {
    /// Reads `bytes`, appending the events they complete to `out`.
    ///
    /// # Errors
    /// A line or an event longer than [`MAX_EVENT`].
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut VecDeque<Event>) -> Result<(), String> {
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&String::from_utf8_lossy(&line), out);
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(byte);
                }
            }
            if self.line.len() + self.data.len() > MAX_EVENT {
                return Err(format!(
                    "an event or line longer than {}",
                    crate::duration::human_size(MAX_EVENT as u64)
                ));
            }
        }
        Ok(())
    }

    fn line_done(&mut self, line: &str, out: &mut VecDeque<Event>) {
        // A byte-order mark may open the stream (even split across chunks).
        let line = match std::mem::replace(&mut self.started, true) {
            false => line.strip_prefix('\u{feff}').unwrap_or(line),
            true => line,
        };
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => value.clone_into(&mut self.id_buffer),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    let retry = Duration::from_millis(ms);
                    self.reconnect = Some(retry);
                    self.retry = Some(retry);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut VecDeque<Event>) {
        // The standard's order: the last event ID first, even for an event without data.
        self.last_id.clone_from(&self.id_buffer);
        let event = std::mem::take(&mut self.event);
        let retry = self.retry.take();
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        out.push_back(Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
            retry,
        });
    }

    /// A connection ended: an event not finished on it is dropped, its `id:` with it.
    pub(crate) fn connection_ended(&mut self) {
        self.id_buffer.clone_from(&self.last_id);
        self.line.clear();
        self.after_cr = false;
        self.started = false;
        self.event.clear();
        self.data.clear();
        self.has_data = false;
        self.retry = None;
    }
}

impl crate::RequestBuilder {
    /// Subscribes to server-sent events: sends the request with
    /// `Accept: text/event-stream` and hands over each [`Event`] as it comes,
    /// connecting again with `Last-Event-ID` when the stream ends or breaks. The
    /// deadline bounds each connection's head; the read timeout each silence. See
    /// [`crate::stream::events`].
    ///
    /// ```no_run
    /// # async fn run(client: steady::Client) -> Result<(), steady::Error> {
    /// use futures_util::StreamExt;
    /// let mut events = client.get("https://example.com/feed").send_events().await?;
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{} {}: {}", event.id(), event.event(), event.data());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`send`](crate::RequestBuilder::send); also a semantic error when the answer
    /// is not `text/event-stream`, and a usage error when the request's body cannot be
    /// sent again for a reconnection (a streamed upload) or its checks read the body.
    pub async fn send_events(self) -> Result<Events, Error> {
        let client = self.client;
        let mut request = self.request?;
        if request.upload.is_some() {
            return Err(Error::usage(
                "an event stream connects again with the same request, and a streamed request \
                 body cannot be sent twice: give the body as bytes",
            ));
        }
        if !request.headers.contains_key(ACCEPT) {
            request
                .headers
                .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        if !request.headers.contains_key(CACHE_CONTROL) {
            request
                .headers
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        request.checks.expect_type("text/event-stream");
        let template = request.clone();
        let (response, reader) = start(&client, request, false).await?;
        // 204: the server's way to say there is nothing to subscribe to.
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Events {
                response,
                pump: Pump::Done,
                reconnects: Arc::default(),
            });
        }
        let reconnects = Arc::new(AtomicU32::new(0));
        Ok(Events {
            response,
            reconnects: reconnects.clone(),
            pump: Pump::new(Connection {
                client,
                template,
                reader,
                parser: Parser::default(),
                queue: VecDeque::new(),
                reconnects,
                heard: false,
                empty: 0,
            }),
        })
    }
}

/// The events of a [`RequestBuilder::send_events`](crate::RequestBuilder::send_events)
/// subscription, as a [`Stream`]; it ends when the server answers a reconnection with
/// `204 No Content`, or after an error.
pub struct Events {
    response: Response,
    pump: Pump<Connection>,
    reconnects: Arc<AtomicU32>,
}

struct Connection {
    client: Client,
    /// The request, sent again on each reconnection.
    template: Request,
    reader: BodyReader,
    parser: Parser,
    queue: VecDeque<Event>,
    reconnects: Arc<AtomicU32>,
    /// An event came on this connection.
    heard: bool,
    /// Connections in a row that ended without an event.
    empty: u32,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("status", &self.response.status())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// The head of the first connection's response.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// How many times the stream has connected again so far.
    pub fn reconnects(&self) -> u32 {
        self.reconnects.load(Ordering::Relaxed)
    }
}

impl Connection {
    /// The next event, connecting again as needed; `None` once the server said stop.
    async fn next(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.heard = true;
                return Some(Ok(event));
            }
            let ended = match self.reader.next().await {
                Some(Ok(bytes)) => match self.parser.feed(&bytes, &mut self.queue) {
                    Ok(()) => continue,
                    Err(why) => {
                        return Some(Err(self
                            .reader
                            .protocol(format!("the event stream has {why}"))))
                    }
                },
                None => None,
                // Broken or silent past the read timeout: connect again. (Not a body
                // past `max_body`: it would be as large the next time.)
                Some(Err(err))
                    if err.layer() == crate::Layer::Transport
                        && err.fault().is_some_and(|f| f != Fault::BodyTooLarge) =>
                {
                    Some(err)
                }
                Some(Err(err)) => return Some(Err(err)),
            };
            if let Some(err) = &ended {
                tracing::debug!(target: "steady::events", "the event stream broke ({err}); connecting again");
            }
            self.parser.connection_ended();
            self.empty = if std::mem::take(&mut self.heard) {
                0
            } else {
                self.empty + 1
            };
            let wait = reconnect_wait(self.parser.reconnect, self.empty);
            self.client.inner.clock.sleep(wait).await;
            let mut request = self.template.clone();
            if !self.parser.last_id.is_empty() {
                match HeaderValue::from_str(&self.parser.last_id) {
                    Ok(id) => {
                        request.headers.insert("last-event-id", id);
                    }
                    Err(_) => {
                        request.headers.remove("last-event-id");
                    }
                }
            }
            self.reconnects.fetch_add(1, Ordering::Relaxed);
            match start(&self.client, request, false).await {
                Ok((response, _)) if response.status() == reqwest::StatusCode::NO_CONTENT => {
                    return None
                }
                Ok((_, reader)) => self.reader = reader,
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

impl Reader for Connection {
    type Item = Event;

    fn read(mut self: Box<Self>) -> Reading<Self> {
        Box::pin(async move {
            let item = self.next().await;
            (self, item)
        })
    }
}

impl Stream for Events {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.pump.poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> (Vec<Event>, Parser) {
        let mut parser = Parser::default();
        let mut out = VecDeque::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out).unwrap();
        }
        (out.into_iter().collect(), parser)
    }

    #[test]
    fn fields_lines_and_comments_as_the_standard_reads_them() {
        let (events, parser) = parse(&[
            b"\xEF\xBB\xBF: a comment\r\nid: 1\r\nevent: add\ndata: first\ndata:second\r\rdata\n\n",
            b"id: 2\nretry: 1500\ndata:  two spaces\n\nretry: soon\nid: a\0b\ndata: x\n\n",
        ]);
        let got: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.event(), e.data(), e.id()))
            .collect();
        assert_eq!(
            got,
            [
                ("add", "first\nsecond", "1"),
                ("message", "", "1"),
                ("message", " two spaces", "2"),
                ("message", "x", "2"),
            ]
        );
        assert_eq!(events[2].retry(), Some(Duration::from_millis(1500)));
        assert_eq!(events[3].retry(), None, "retry: soon is not digits");
        assert_eq!(parser.reconnect, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn a_line_split_across_chunks_and_a_crlf_split_between_them() {
        let (events, _) = parse(&[b"da", b"ta: he", b"llo\r", b"\n\r", b"\n"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data(), "hello");
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_an_unfinished_one_is_dropped() {
        let mut parser = Parser::default();
        let mut out = VecDeque::new();
        parser
            .feed(b"id: 6\nevent: ping\n\nid: 7\ndata: half", &mut out)
            .unwrap();
        assert!(out.is_empty());
        // The event without data still made 6 the last event ID; 7 was never dispatched.
        parser.connection_ended();
        assert_eq!(parser.last_id, "6");
        parser.feed(b"data: whole\n\n", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].event(), out[0].data(), out[0].id()),
            ("message", "whole", "6")
        );
    }

    #[test]
    fn a_bom_split_across_chunks_is_dropped() {
        let (events, _) = parse(&[b"\xEF\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(events[0].data(), "x");
    }

    #[test]
    fn connections_without_events_wait_longer_and_longer() {
        let ms = Duration::from_millis;
        assert_eq!(reconnect_wait(Some(ms(5)), 0), ms(5));
        assert_eq!(reconnect_wait(None, 0), DEFAULT_RECONNECT);
        assert_eq!(reconnect_wait(Some(ms(0)), 1), ms(1000));
        assert_eq!(reconnect_wait(Some(ms(0)), 3), ms(4000));
        assert_eq!(reconnect_wait(Some(ms(0)), 30), ms(60_000));
        assert_eq!(reconnect_wait(None, 2), ms(6000));
    }

    #[test]
    fn a_line_that_never_ends_is_refused() {
        let mut parser = Parser::default();
        let mut out = VecDeque::new();
        let big = vec![b'x'; MAX_EVENT + 1];
        assert!(parser
            .feed(&big, &mut out)
            .unwrap_err()
            .contains("longer than"));
    }
}
