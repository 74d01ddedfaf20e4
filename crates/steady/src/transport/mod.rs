//! One attempt on the wire: send, follow redirects, read the body within its limit,
//! and name the fault when there is no complete response.
//!
//! hyper (or reqwest, [`http`]) does the HTTP; this module decides what its errors
//! mean. Both report DNS failures, refused connections and TLS failures as one kind of
//! "connect" error, so the fault is read from the error's source chain
//! (`io::ErrorKind`, the resolver's and rustls' errors) and falls back on the client's
//! own flags.

mod http;

pub(crate) use http::{Answer, Http, HttpError, Via};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, CONTENT_ENCODING, CONTENT_LENGTH, LOCATION};
use reqwest::{StatusCode, Url, Version};

use crate::classify::Fault;
use crate::decode::{self, Coding, DecodeError, Decoded, Decoder, Output};
use crate::download::Part;
use crate::error::BoxError;
use crate::redirect::{self, Redirects};
use crate::request::Request;

/// A complete response (the last hop of the redirect chain).
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) version: Version,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) url: Url,
    pub(crate) redirect_problem: Option<RedirectProblem>,
    /// The redirects followed on the way, in order.
    pub(crate) redirects: Vec<crate::redirect::Followed>,
    /// The body went to the download's file: this many bytes (`body` is then empty,
    /// or the file's content read back for the checks).
    pub(crate) saved: Option<Saved>,
}

/// A body written to the download's file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Saved {
    pub(crate) bytes: u64,
    /// Too large to read back for the semantic checks.
    pub(crate) unchecked: bool,
}

/// Why a 3xx ended the attempt.
#[derive(Debug, Clone)]
pub(crate) enum RedirectProblem {
    NotFollowed,
    TooMany(usize),
    Refused(String),
}

/// No complete response.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) fault: Fault,
    pub(crate) source: Option<BoxError>,
    pub(crate) url: Url,
    /// The fault proves the request never left (on the first hop).
    pub(crate) nothing_sent: bool,
    /// The download's file could not be written: why (not a network fault; the call
    /// ends).
    pub(crate) write_error: Option<String>,
}

impl Failure {
    /// A response that breaks HTTP, with what was wrong.
    pub(crate) fn protocol(why: String, url: Url) -> Self {
        Failure {
            source: Some(Box::new(std::io::Error::other(why))),
            ..Failure::new(Fault::Protocol, url, false)
        }
    }

    /// A body past the limit of `max` bytes (counted after decompression).
    pub(crate) fn too_large(max: u64, url: Url) -> Self {
        Failure {
            source: Some(Box::new(std::io::Error::other(format!(
                "the limit is {}, counted after decompression",
                crate::duration::human_size(max)
            )))),
            ..Failure::new(Fault::BodyTooLarge, url, false)
        }
    }

    /// The download's file could not be written.
    pub(crate) fn write(e: &std::io::Error, url: Url) -> Self {
        Failure {
            write_error: Some(crate::download::reason(e)),
            ..Failure::new(Fault::Protocol, url, false)
        }
    }

    pub(crate) fn new(fault: Fault, url: Url, first_hop: bool) -> Self {
        Failure {
            fault,
            source: None,
            url,
            nothing_sent: first_hop && fault.nothing_sent(),
            write_error: None,
        }
    }
}

pub(crate) struct Wire<'a> {
    pub(crate) http: &'a Http,
    /// A transport borrowed for this call instead of `http` (a middleware chain).
    pub(crate) via: Option<&'a Via<'a>>,
    pub(crate) redirects: Redirects,
    pub(crate) max_body: u64,
    /// The read (idle) timeout.
    pub(crate) read_timeout: Duration,
    /// The cookies sent and kept, per hop (steady's own, so `-v` shows them).
    #[cfg(feature = "cookies")]
    pub(crate) cookies: Option<&'a crate::cookies::CookieJar>,
    /// The `User-Agent` sent unless the request sets one.
    pub(crate) user_agent: &'a reqwest::header::HeaderValue,
    /// Header names the application marked as credentials.
    pub(crate) sensitive: &'a [reqwest::header::HeaderName],
}

/// What a streamed request body tells its attempt's timer: a chunk just left. Shared
/// with the body (which outlives a borrow), so made only for attempts that upload one.
#[derive(Debug, Clone)]
pub(crate) struct Pulse {
    start: tokio::time::Instant,
    /// Microseconds after `start`.
    last_us: std::sync::Arc<AtomicU64>,
}

impl Pulse {
    fn new(start: tokio::time::Instant) -> Pulse {
        Pulse {
            start,
            last_us: std::sync::Arc::default(),
        }
    }

    /// A chunk of the body just left.
    pub(crate) fn now(&self) {
        let us = self.start.elapsed().as_micros() as u64;
        self.last_us.store(us, Ordering::Relaxed);
    }
}

/// When an attempt last heard from the server.
///
/// The read (idle) timeout and the call's deadline share one timer per attempt
/// ([`Wire::watched`]): the exchange notes the time whenever the response head or a
/// chunk of the body arrives, and the timer, when it fires, either ends the attempt or
/// moves on to the new end of the silence. A timer per read (reqwest's own read
/// timeout) registers two or three timers a call, and on a busy tokio runtime each
/// registration costs a wake-up of its driver (tokio issue #5207).
#[derive(Debug)]
pub(crate) struct Heard {
    start: tokio::time::Instant,
    /// Microseconds after `start`.
    last_us: AtomicU64,
    /// When the attempt's streamed request body last sent a chunk (only attempts
    /// that upload one).
    sent: Option<Pulse>,
    /// Where a redirect took the attempt (the hop a timeout names).
    hop: std::sync::Mutex<Option<Url>>,
}

impl Heard {
    /// `uploads`: the attempt sends a streamed request body, whose chunks count too.
    pub(crate) fn new(uploads: bool) -> Heard {
        let start = tokio::time::Instant::now();
        Heard {
            start,
            last_us: AtomicU64::new(0),
            sent: uploads.then(|| Pulse::new(start)),
            hop: std::sync::Mutex::new(None),
        }
    }

    /// What the attempt's streamed request body ticks.
    pub(crate) fn pulse(&self) -> Pulse {
        self.sent.clone().unwrap_or_else(|| Pulse::new(self.start))
    }

    /// The server was just heard from.
    pub(crate) fn now(&self) {
        let us = self.start.elapsed().as_micros() as u64;
        self.last_us.store(us, Ordering::Relaxed);
    }

    /// A redirect moved the attempt to `url`.
    fn moved_to(&self, url: &Url) {
        if let Ok(mut hop) = self.hop.lock() {
            *hop = Some(url.clone());
        }
    }

    /// The URL the attempt is at.
    fn url(&self, first: &Url) -> Url {
        self.hop
            .lock()
            .ok()
            .and_then(|hop| hop.clone())
            .unwrap_or_else(|| first.clone())
    }

    pub(crate) fn last(&self) -> tokio::time::Instant {
        let heard = self.last_us.load(Ordering::Relaxed);
        let sent = self
            .sent
            .as_ref()
            .map_or(0, |p| p.last_us.load(Ordering::Relaxed));
        self.start + Duration::from_micros(heard.max(sent))
    }
}

impl Wire<'_> {
    /// [`Wire::exchange`] under the read timeout and a deadline `left` from now, with
    /// one timer for both (see [`Heard`]).
    pub(crate) async fn watched(
        &self,
        request: &Request,
        part: Option<&mut Part>,
        left: Duration,
    ) -> Result<Exchange, Failure> {
        let heard = Heard::new(request.upload.is_some());
        let deadline = heard.start + left;
        let exchange = self.exchange(request, part, &heard);
        tokio::pin!(exchange);
        let timer = tokio::time::sleep_until(deadline.min(heard.start + self.read_timeout));
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                result = &mut exchange => return result,
                () = &mut timer => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(Failure::new(Fault::Deadline, heard.url(&request.url), false));
                    }
                    let silent_until = heard.last() + self.read_timeout;
                    if now >= silent_until {
                        return Err(Failure::new(Fault::ReadTimeout, heard.url(&request.url), false));
                    }
                    timer.as_mut().reset(deadline.min(silent_until));
                }
            }
        }
    }

    /// Sends `request`, following redirects; reads the final body (into `part` when
    /// the request downloads and the status is one its checks accept). Notes in
    /// `heard` whenever the server answers.
    async fn exchange(
        &self,
        request: &Request,
        part: Option<&mut Part>,
        heard: &Heard,
    ) -> Result<Exchange, Failure> {
        if let Some(slot) = &request.handover {
            // An earlier attempt's answer is not this one's.
            drop(slot.take());
        }
        let mut url = request.url.clone();
        let mut method = request.method.clone();
        let mut body = request.body.clone();
        let mut stripped = false;
        let mut body_dropped = false;
        let mut hops = 0usize;
        let mut followed: Vec<crate::redirect::Followed> = Vec::new();
        // Cookies set by a redirect on its way (a login that redirects), sent on to
        // the next hops of this call when the client keeps no jar, as requests does.
        #[cfg(feature = "cookies")]
        let mut call_jar: Option<crate::cookies::CookieJar> = None;
        loop {
            // The headers of this hop, built from the request's (one copy per hop,
            // handed to reqwest): credentials stripped once the chain left the origin,
            // body headers dropped once a redirect turned the request into a GET.
            let mut headers = request.headers.clone();
            crate::decode::accept(&mut headers);
            // What reqwest would add, added here so that `-v` shows it.
            if !headers.contains_key(reqwest::header::USER_AGENT) {
                headers.insert(reqwest::header::USER_AGENT, self.user_agent.clone());
            }
            if !headers.contains_key(reqwest::header::ACCEPT) {
                headers.insert(
                    reqwest::header::ACCEPT,
                    reqwest::header::HeaderValue::from_static("*/*"),
                );
            }
            for name in &request.removed {
                headers.remove(name);
            }
            if stripped {
                redirect::strip_credentials(&mut headers, &request.credential_headers);
            }
            if body_dropped {
                redirect::drop_body_headers(&mut headers);
            }
            #[cfg(feature = "cookies")]
            if let Some(stored) = self
                .cookies
                .or(call_jar.as_ref())
                .and_then(|jar| jar.cookies(&url))
            {
                let merged = match headers.get(reqwest::header::COOKIE) {
                    None => Some(stored),
                    Some(given) => merge_cookies(given, &stored),
                };
                if let Some(value) = merged {
                    headers.insert(reqwest::header::COOKIE, value);
                }
            }
            if tracing::enabled!(target: "steady::headers", tracing::Level::DEBUG) {
                let line = format!("> {method} {}", crate::redact::redact_url(&url));
                // Host and Content-Length are hyper's, from the URL and the body.
                let mut shown = headers.clone();
                if let Some(host) = host_header(&url) {
                    shown.insert(reqwest::header::HOST, host);
                }
                if let Some(body) = &body {
                    shown.insert(CONTENT_LENGTH, body.len().into());
                }
                self.log_head(&line, &shown, request, '>');
            }
            let sent = match self.via {
                Some(via) => via(method.clone(), url.clone(), headers, body.clone()).await,
                None => {
                    // A streamed body goes only where the request keeps its body.
                    let upload = request
                        .upload
                        .as_ref()
                        .filter(|_| !body_dropped)
                        .map(|upload| upload.body(heard.pulse()));
                    self.http
                        .send(method.clone(), &url, headers, body.clone(), upload)
                        .await
                }
            };
            let response = sent.map_err(|e| failure(e, url.clone(), hops == 0))?;
            heard.now();
            let status = response.status;
            #[cfg(feature = "cookies")]
            let sets_cookies = response.headers.contains_key(reqwest::header::SET_COOKIE);
            #[cfg(feature = "cookies")]
            let jar = match self.cookies {
                Some(jar) => Some(jar),
                None if sets_cookies && status.is_redirection() => {
                    Some(&*call_jar.get_or_insert_with(crate::cookies::CookieJar::new))
                }
                None => None,
            };
            #[cfg(feature = "cookies")]
            if let Some(jar) = jar.filter(|_| sets_cookies) {
                let mut set = response.headers.get_all(reqwest::header::SET_COOKIE).iter();
                jar.set_cookies(&mut set, &url);
            }
            let version = response.version;
            if tracing::enabled!(target: "steady::headers", tracing::Level::DEBUG) {
                let line = format!("< {version:?} {status}");
                self.log_head(&line, &response.headers, request, '<');
            }
            let location = response
                .headers
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            if status.is_redirection() {
                if let Some(location) = location {
                    let problem = match self.redirects.max {
                        None => Some(RedirectProblem::NotFollowed),
                        Some(max) if hops >= max => Some(RedirectProblem::TooMany(max)),
                        Some(_) => None,
                    };
                    let hop = match problem {
                        Some(problem) => Err(problem),
                        None => redirect::next_hop(
                            &url,
                            status,
                            &location,
                            &method,
                            request.has_credentials() && !stripped,
                        )
                        .map_err(RedirectProblem::Refused),
                    };
                    // 307 and 308 keep the body: a stream that has left cannot be sent
                    // again.
                    let hop = hop.and_then(|hop| {
                        if !hop.drop_body && request.upload.as_ref().is_some_and(|u| u.spent()) {
                            return Err(RedirectProblem::Refused(
                                "it asks for the request body again, and a streamed body \
                                 cannot be sent twice"
                                    .into(),
                            ));
                        }
                        Ok(hop)
                    });
                    match hop {
                        Err(problem) => {
                            // A redirect's body is never read, so never decompressed.
                            return Ok(Exchange {
                                version,
                                status,
                                headers: response.headers,
                                body: Bytes::new(),
                                url,
                                redirect_problem: Some(problem),
                                redirects: followed,
                                saved: None,
                            });
                        }
                        Ok(hop) => {
                            stripped |= hop.cross_origin;
                            if hop.drop_body {
                                body = None;
                                body_dropped = true;
                            }
                            tracing::debug!(
                                target: "steady::redirect",
                                "following {} to {}{}",
                                status.as_u16(),
                                crate::redact::redact_url(&hop.url),
                                if stripped { " (credentials removed)" } else { "" }
                            );
                            heard.moved_to(&hop.url);
                            followed.push(crate::redirect::Followed {
                                status,
                                url: std::mem::replace(&mut url, hop.url),
                                headers: response.headers,
                            });
                            method = hop.method;
                            hops += 1;
                            continue;
                        }
                    }
                }
            }
            let mut response = response;
            let mut headers = std::mem::take(&mut response.headers);
            let codings =
                decode::codings(&headers).map_err(|why| Failure::protocol(why, url.clone()))?;
            // A streamed call: an answer the checks accept leaves with its body unread.
            if let Some(slot) = request
                .handover
                .as_ref()
                .filter(|_| request.checks.applies(status))
            {
                // A length past the call's own limit is refused before the body.
                if let Some(max) = request.max_body.filter(|_| codings.is_empty()) {
                    if response.content_length().is_some_and(|n| n > max) {
                        return Err(Failure::too_large(max, url.clone()));
                    }
                }
                if !codings.is_empty() {
                    headers.remove(CONTENT_ENCODING);
                    headers.remove(CONTENT_LENGTH);
                }
                slot.put(crate::stream::Handover {
                    answer: response,
                    codings,
                });
                return Ok(Exchange {
                    version,
                    status,
                    headers,
                    body: Bytes::new(),
                    url,
                    redirect_problem: None,
                    redirects: followed,
                    saved: None,
                });
            }
            // A stream takes only a body no check needs whole: once out, it is out.
            let download = part.filter(|p| {
                request.checks.applies(status)
                    && !(p.is_stream()
                        && (request.checks.reads_body(&headers) || !status.is_success()))
            });
            let (body, saved) = match download {
                // Boxed: downloads are rare, and inline their state would enlarge
                // every call's.
                Some(part) => {
                    Box::pin(
                        self.download(response, &headers, &url, &codings, request, part, heard),
                    )
                    .await?
                }
                None => {
                    let max = request.max_body.unwrap_or(self.max_body);
                    (
                        self.read_body(response, &url, &codings, max, heard).await?,
                        None,
                    )
                }
            };
            if !codings.is_empty() {
                // The body handed on is the decoded one.
                headers.remove(CONTENT_ENCODING);
                headers.remove(CONTENT_LENGTH);
            }
            return Ok(Exchange {
                version,
                status,
                headers,
                body,
                url,
                redirect_problem: None,
                redirects: followed,
                saved,
            });
        }
    }

    async fn read_body(
        &self,
        mut response: Answer,
        url: &Url,
        codings: &[Coding],
        max: u64,
        heard: &Heard,
    ) -> Result<Bytes, Failure> {
        let too_large = || Failure::too_large(max, url.clone());
        if codings.is_empty() && response.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        if !codings.is_empty() {
            let output = Output::Memory(Vec::new());
            return match self
                .stream(response, url, codings, max, output, heard)
                .await?
            {
                Decoded::Memory(bytes) => Ok(Bytes::from(bytes)),
                Decoded::File(_) => unreachable!("decoded into memory"),
            };
        }
        // A body that arrives in one chunk is returned without a copy. (Not decided by
        // `content_length()`: mid-body it reports what is *left*, so a body reset
        // exactly halfway would look complete.)
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        let mut total = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failure(e, url.clone(), false))?
        {
            heard.now();
            total += chunk.len() as u64;
            if total > max {
                return Err(too_large());
            }
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                earlier => {
                    if let Some(earlier) = earlier {
                        buf.extend_from_slice(&earlier);
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    }

    /// Streams the body of a download into `part`'s file, decoded; reads it back
    /// when the checks need it and it is within the client's body limit.
    #[allow(clippy::too_many_arguments)]
    async fn download(
        &self,
        response: Answer,
        headers: &HeaderMap,
        url: &Url,
        codings: &[Coding],
        request: &Request,
        part: &mut Part,
        heard: &Heard,
    ) -> Result<(Bytes, Option<Saved>), Failure> {
        let max = request.max_body.unwrap_or(u64::MAX);
        if codings.is_empty() && response.content_length().is_some_and(|n| n > max) {
            return Err(Failure::too_large(max, url.clone()));
        }
        let writer = part.writer().map_err(|e| Failure::write(&e, url.clone()))?;
        let bytes = match self
            .stream(response, url, codings, max, Output::File(writer), heard)
            .await?
        {
            Decoded::File(bytes) => bytes,
            Decoded::Memory(_) => unreachable!("decoded into the file"),
        };
        if !request.checks.reads_body(headers) {
            return Ok((
                Bytes::new(),
                Some(Saved {
                    bytes,
                    unchecked: false,
                }),
            ));
        }
        if bytes > self.max_body {
            return Ok((
                Bytes::new(),
                Some(Saved {
                    bytes,
                    unchecked: true,
                }),
            ));
        }
        // Within the body limit, so no larger than an ordinary call's body.
        let Some(path) = part.path() else {
            return Ok((
                Bytes::new(),
                Some(Saved {
                    bytes,
                    unchecked: false,
                }),
            ));
        };
        let body = std::fs::read(path).map_err(|e| Failure::write(&e, url.clone()))?;
        Ok((
            Bytes::from(body),
            Some(Saved {
                bytes,
                unchecked: false,
            }),
        ))
    }

    /// Reads the body chunk by chunk through the decoders for `codings` (none: a
    /// counting sink) into `output`; the limit counts decoded bytes.
    async fn stream(
        &self,
        mut response: Answer,
        url: &Url,
        codings: &[Coding],
        max: u64,
        output: Output,
        heard: &Heard,
    ) -> Result<Decoded, Failure> {
        let failed = |e: DecodeError| match e {
            DecodeError::TooLarge => Failure::too_large(max, url.clone()),
            DecodeError::Corrupt(e) => Failure::protocol(
                format!("the {} body cannot be decoded: {e}", decode::names(codings)),
                url.clone(),
            ),
            DecodeError::Write(e) => Failure::write(&e, url.clone()),
        };
        let mut output = Some(output);
        let mut decoder: Option<Decoder> = None;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failure(e, url.clone(), false))?
        {
            heard.now();
            decoder
                .get_or_insert_with(|| {
                    Decoder::new(codings, max, output.take().expect("one output"))
                })
                .write(&chunk)
                .map_err(failed)?;
        }
        // No bytes at all (HEAD, 204, 304): nothing to decode.
        let decoder =
            decoder.unwrap_or_else(|| Decoder::new(&[], max, output.take().expect("one output")));
        decoder.finish().map_err(failed)
    }
}

/// Names the fault behind the client's error.
pub(crate) fn failure(err: HttpError, url: Url, first_hop: bool) -> Failure {
    let fault = fault_of(&err);
    if fault == Fault::Protocol && chain_text(&err).contains("message head is too large") {
        // hyper's limits: 100 headers, and a head of about 400 KiB.
        return Failure::protocol(
            "the response head is too large (more than 100 headers or about 400 KiB)".into(),
            url,
        );
    }
    Failure {
        source: Some(err.into_source()),
        ..Failure::new(fault, url, first_hop)
    }
}

/// Every message in the error's source chain, joined.
fn chain_text(err: &HttpError) -> String {
    let mut text = String::new();
    let mut source = err.parts().0;
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn fault_of(err: &HttpError) -> Fault {
    let (mut source, is_connect, is_timeout) = err.parts();
    let mut text = String::new();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Fault::Refused,
                ConnectionReset | ConnectionAborted | BrokenPipe => return Fault::Reset,
                TimedOut if is_connect => return Fault::ConnectTimeout,
                TimedOut => return Fault::ReadTimeout,
                UnexpectedEof if !is_connect => return Fault::Closed,
                _ => {}
            }
            // An io::Error hides the error it wraps from `source()` (rustls' inside
            // hyper-rustls's, which may wrap it twice): look inside each directly.
            let mut wrapped = io.get_ref();
            while let Some(inner) = wrapped {
                if inner.downcast_ref::<rustls::Error>().is_some() {
                    return Fault::Tls;
                }
                wrapped = inner
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref);
            }
        }
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return Fault::Tls;
        }
        text.push_str(&cause.to_string().to_ascii_lowercase());
        text.push('|');
        source = cause.source();
    }
    if is_timeout {
        return if is_connect {
            Fault::ConnectTimeout
        } else {
            Fault::ReadTimeout
        };
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return Fault::Dns;
    }
    if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        return Fault::Tls;
    }
    if is_connect {
        return Fault::Connect;
    }
    if text.contains("connection closed before message completed")
        || text.contains("end of file before message length reached")
        || text.contains("incomplete")
    {
        return Fault::Closed;
    }
    if text.contains("reset") {
        return Fault::Reset;
    }
    Fault::Protocol
}

impl Wire<'_> {
    /// `-v`: a request's or response's head, one line per header, credentials as
    /// `****` (headers marked sensitive, those whose names say they carry a
    /// credential, `Set-Cookie`, the request's secret headers and the names the
    /// application marked).
    fn log_head(
        &self,
        first: &str,
        headers: &reqwest::header::HeaderMap,
        request: &Request,
        mark: char,
    ) {
        let mut text = first.to_owned();
        let scrubber = request.scrubber();
        for (name, value) in headers {
            let secret = value.is_sensitive()
                || redirect::ALWAYS_SENSITIVE.contains(name)
                || name == reqwest::header::SET_COOKIE
                || request.credential_headers.contains(name)
                || crate::redact::is_credential_header(name.as_str())
                || self.sensitive.contains(name);
            let shown = if secret {
                "****".into()
            } else {
                scrubber.scrub(&String::from_utf8_lossy(value.as_bytes()))
            };
            text.push_str(&format!("\n{mark} {name}: {shown}"));
        }
        tracing::debug!(target: "steady::headers", "{text}");
    }
}

#[cfg(feature = "cookies")]
/// The request's own cookies, then the jar's others (a name the request sets is its
/// own), as curl and requests merge them; `None` when the jar adds nothing.
fn merge_cookies(
    given: &reqwest::header::HeaderValue,
    stored: &reqwest::header::HeaderValue,
) -> Option<reqwest::header::HeaderValue> {
    let given = given.to_str().ok()?;
    let stored = stored.to_str().ok()?;
    let name = |pair: &str| {
        pair.split_once('=')
            .map_or(pair, |(n, _)| n)
            .trim()
            .to_owned()
    };
    let own: Vec<String> = given.split(';').map(name).collect();
    let extra: Vec<&str> = stored
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !own.contains(&name(pair)))
        .collect();
    if extra.is_empty() {
        return None;
    }
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("{given}; {}", extra.join("; "))).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The `Host` header hyper sends for `url`: the host, and the port unless it is the
/// scheme's default.
fn host_header(url: &Url) -> Option<reqwest::header::HeaderValue> {
    let host = url.host_str()?;
    let text = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    reqwest::header::HeaderValue::from_str(&text).ok()
}
