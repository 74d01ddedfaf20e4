//! One attempt on the wire: send, follow redirects, read the body within its limit,
//! and name the fault when there is no complete response.
//!
//! reqwest does the HTTP; this module decides what its errors mean. reqwest reports
//! "error sending request" for DNS failures, refused connections and TLS failures
//! alike, so the fault is read from the error's source chain (`io::ErrorKind`, the
//! resolver's and rustls' errors) and falls back on reqwest's own flags.

use std::error::Error as StdError;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{StatusCode, Url, Version};

use crate::classify::Fault;
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
}

impl Failure {
    pub(crate) fn new(fault: Fault, url: Url, first_hop: bool) -> Self {
        Failure {
            fault,
            source: None,
            url,
            nothing_sent: first_hop && fault.nothing_sent(),
        }
    }
}

pub(crate) struct Wire<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) redirects: Redirects,
    pub(crate) max_body: u64,
}

impl Wire<'_> {
    /// Sends `request`, following redirects; reads the final body.
    pub(crate) async fn exchange(&self, request: &Request) -> Result<Exchange, Failure> {
        let mut url = request.url.clone();
        let mut method = request.method.clone();
        let mut headers = request.headers.clone();
        let mut body = request.body.clone();
        let mut stripped = false;
        let mut hops = 0usize;
        loop {
            let mut builder = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(body) = &body {
                builder = builder.body(body.clone());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| failure(e, url.clone(), hops == 0))?;
            let status = response.status();
            let version = response.version();
            let location = response
                .headers()
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
                    match hop {
                        Err(problem) => {
                            // A redirect's body is never read, so never decompressed.
                            return Ok(Exchange {
                                version,
                                status,
                                headers: response.headers().clone(),
                                body: Bytes::new(),
                                url,
                                redirect_problem: Some(problem),
                            });
                        }
                        Ok(hop) => {
                            if hop.cross_origin && !stripped {
                                redirect::strip_credentials(
                                    &mut headers,
                                    &request.credential_headers,
                                );
                                stripped = true;
                            }
                            if hop.drop_body {
                                body = None;
                                redirect::drop_body_headers(&mut headers);
                            }
                            tracing::debug!(
                                target: "steady::redirect",
                                "following {} to {}{}",
                                status.as_u16(),
                                crate::redact::redact_url(&hop.url),
                                if stripped { " (credentials removed)" } else { "" }
                            );
                            url = hop.url;
                            method = hop.method;
                            hops += 1;
                            continue;
                        }
                    }
                }
            }
            let headers = response.headers().clone();
            let body = self.read_body(response, &url).await?;
            return Ok(Exchange {
                version,
                status,
                headers,
                body,
                url,
                redirect_problem: None,
            });
        }
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        url: &Url,
    ) -> Result<Bytes, Failure> {
        let too_large = || Failure::new(Fault::BodyTooLarge, url.clone(), false);
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(too_large());
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
            total += chunk.len() as u64;
            if total > self.max_body {
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
}

/// Names the fault behind a reqwest error.
fn failure(err: reqwest::Error, url: Url, first_hop: bool) -> Failure {
    let fault = fault_of(&err);
    Failure {
        source: Some(Box::new(err.without_url())),
        ..Failure::new(fault, url, first_hop)
    }
}

pub(crate) fn fault_of(err: &reqwest::Error) -> Fault {
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    let mut text = String::new();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Fault::Refused,
                ConnectionReset | ConnectionAborted | BrokenPipe => return Fault::Reset,
                TimedOut if err.is_connect() => return Fault::ConnectTimeout,
                TimedOut => return Fault::ReadTimeout,
                UnexpectedEof if !err.is_connect() => return Fault::Closed,
                _ => {}
            }
        }
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return Fault::Tls;
        }
        text.push_str(&cause.to_string().to_ascii_lowercase());
        text.push('|');
        source = cause.source();
    }
    if err.is_timeout() {
        return if err.is_connect() {
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
    if err.is_connect() {
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
