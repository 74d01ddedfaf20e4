//! Every sentence an [`Error`] says: what happened, at which layer, what the server
//! said and what to do next. In one place, so that the wording reads as one voice and
//! changes without touching the logic.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::StatusCode;

use super::{Error, ErrorKind, Kind, Layer};
use crate::attempt::{status_words, StopReason};
use crate::classify::Fault;
use crate::duration::human;
use crate::guard::{GuardEvent, GuardKind};

impl Error {
    /// What went wrong, in one line, without the request: steady's words and what the
    /// innermost cause said (hyper, the decoder).
    pub fn what(&self) -> String {
        self.words(true)
    }

    /// steady's words, with the innermost cause's (`what`) or without it (`Display`,
    /// whose `source()` chain says it: `{:#}` and anyhow then name it once).
    pub(super) fn words(&self, with_cause: bool) -> String {
        let cause = || self.root_cause().filter(|_| with_cause);
        let text = match &self.inner.kind {
            Kind::Usage(message) | Kind::Save(message) => match cause() {
                Some(why) => format!("{message}: {why}"),
                None => message.clone(),
            },
            Kind::Fault(fault @ (Fault::Protocol | Fault::BodyTooLarge)) => match cause() {
                Some(why) => format!("{}: {why}", Fault::words(*fault)),
                None => Fault::words(*fault).to_owned(),
            },
            Kind::Fault(fault @ Fault::Tls) => match self.tls_problem() {
                Some(problem) => format!("{}: {}", Fault::words(*fault), problem.words()),
                None => Fault::words(*fault).to_owned(),
            },
            Kind::Fault(fault) => Fault::words(*fault).to_owned(),
            Kind::Status => format!(
                "HTTP {}",
                self.inner.status.map(status_words).unwrap_or_default()
            ),
            Kind::RedirectNotFollowed => format!(
                "HTTP {}: redirect not followed{}",
                self.inner.status.map(status_words).unwrap_or_default(),
                self.location()
                    .map(|l| format!(" (Location: {l})"))
                    .unwrap_or_default()
            ),
            Kind::TooManyRedirects(max) => format!("more than {max} redirects"),
            Kind::RedirectRefused(why) => format!("redirect refused: {why}"),
            Kind::Semantic(_, problem) => match self.inner.status {
                Some(status) => format!(
                    "{} but the body is not what was asked for: {problem}",
                    status_words(status)
                ),
                None => format!("the body is not what was asked for: {problem}"),
            },
            Kind::Guard(_, message) => format!("not sent: {message}"),
        };
        let text = match self.inner.body_received {
            Some(bytes) => format!(
                "{text}, after {} of the body (a body handed over as it comes is not retried)",
                crate::duration::human_size(bytes)
            ),
            None => text,
        };
        self.inner.scrubber.scrub(&text)
    }

    /// Why the certificate was refused, when rustls said.
    fn tls_problem(&self) -> Option<TlsProblem> {
        // hyper-rustls hands rustls' error over inside io::Errors, whose source()
        // skips what they wrap: look inside each as well.
        let mut todo: Vec<&(dyn StdError + 'static)> = vec![self.inner.source.as_deref()?];
        while let Some(cause) = todo.pop() {
            if let Some(rustls::Error::InvalidCertificate(e)) =
                cause.downcast_ref::<rustls::Error>()
            {
                return Some(TlsProblem::of(e));
            }
            if let Some(inner) = cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                todo.push(inner);
            }
            if let Some(next) = cause.source() {
                todo.push(next);
            }
        }
        None
    }

    /// The innermost cause's words (what hyper or the decoder said was wrong).
    fn root_cause(&self) -> Option<String> {
        let mut cause: &(dyn StdError + 'static) = self.inner.source.as_deref()?;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Some(cause.to_string())
    }

    fn location(&self) -> Option<String> {
        let location = self
            .inner
            .headers
            .as_ref()?
            .get(reqwest::header::LOCATION)?;
        Some(
            self.inner
                .scrubber
                .scrub(&String::from_utf8_lossy(location.as_bytes())),
        )
    }

    /// What to do next, in one sentence for a person.
    pub fn hint(&self) -> String {
        match &self.inner.kind {
            Kind::Usage(_) => "Fix the request; nothing was sent.".into(),
            Kind::Save(_) => {
                "Check the destination's folder, permissions and free space; the destination was left as it was.".into()
            }
            Kind::Fault(Fault::Tls) => match self.tls_problem() {
                Some(problem) => problem.hint().into(),
                None => fault_hint(Fault::Tls).into(),
            },
            Kind::Fault(fault) => fault_hint(*fault).into(),
            Kind::Status => status_hint(self.inner.status).into(),
            Kind::RedirectNotFollowed => match self.location() {
                Some(location) => format!("Follow redirects, or call {location} directly."),
                None => "Follow redirects, or call the new location directly.".into(),
            },
            Kind::TooManyRedirects(_) => {
                "The redirects loop or chain too long: look at them with --no-follow, or allow more with --max-redirects N.".into()
            }
            Kind::RedirectRefused(_) => {
                "Call the new location directly if you trust it, with credentials meant for it."
                    .into()
            }
            Kind::Semantic(ErrorKind::Until, _) => {
                "What the call polled for did not happen before the retries or the deadline ran out: allow more retries (--retries N) or a longer deadline (--timeout DURATION).".into()
            }
            Kind::Semantic(ErrorKind::InvalidJson, _) => {
                "The body is labelled JSON but is not JSON: report it to the service's owners; if this API labels other things application/json, add --no-json-check (RequestBuilder::no_json_check).".into()
            }
            Kind::Semantic(ErrorKind::ExpectationFailed, _) => {
                "The body does not meet the expectation: check the request and the expectation; retrying will not help (to wait until it does, poll with --until EXPR, RequestBuilder::until).".into()
            }
            Kind::Semantic(ErrorKind::ErrorInBody, _) => {
                "The server answered 2xx but its body reports a failure: read its message; if this API's `error` field means something else, add --allow-error-body (RequestBuilder::allow_error_body).".into()
            }
            Kind::Semantic(..) => {
                "The server answered but not with what was asked for: check the endpoint, the query and the Accept header; retrying will not help.".into()
            }
            Kind::Guard(GuardKind::Breaker, _) => {
                "The host looks down: steady sends it nothing until the probe at the time above, which comes after this call's deadline (or --fail-fast is on); a longer --timeout waits for it.".into()
            }
            Kind::Guard(GuardKind::Bulkhead, _) => {
                "Too many calls are in flight to this host: lower the concurrency or raise the bulkhead's limit.".into()
            }
            Kind::Guard(GuardKind::Concurrency, _) => {
                "The host has shown room for fewer calls at once than are waiting: allow a longer deadline (--timeout), or send fewer calls at once.".into()
            }
            Kind::Guard(..) => {
                "The host's rate limit leaves no time before the deadline: allow a longer deadline (--timeout) or send fewer requests.".into()
            }
        }
    }

    /// What the layer means, in a few words.
    fn layer_words(&self) -> &'static str {
        match self.layer() {
            Layer::Transport => "transport layer: no complete response",
            Layer::Http => match self.inner.status {
                _ if self.is_redirect() => "http layer: redirect",
                Some(s) if s.is_client_error() => "http layer: the server refused the request",
                Some(s) if s.is_server_error() => "http layer: their server failed",
                _ => "http layer",
            },
            Layer::Semantic => "semantic layer: a 2xx with the wrong content",
            Layer::Guard => "guard: nothing was sent",
            Layer::Usage => "usage: nothing was sent",
        }
    }

    /// One to three lines for a person: what happened and at which layer; what the
    /// server said; how many attempts over how long, why steady stopped, and what to
    /// do next.
    pub fn explain(&self) -> String {
        let mut lines = Vec::with_capacity(3);
        let request = match (&self.inner.method, &self.inner.url, &self.inner.answered_at) {
            (Some(m), Some(u), Some(at)) => format!(" ({m} {at}, redirected from {u})"),
            (Some(m), Some(u), None) => format!(" ({m} {u})"),
            _ => String::new(),
        };
        if let Layer::Usage = self.layer() {
            return format!("{}{request}", self.what());
        }
        lines.push(format!("{}{request} [{}]", self.what(), self.layer_words()));
        if let Some(message) = self.server_message() {
            lines.push(format!("server said: {message}"));
        }
        if let Some(event) = self.guard_stop_event() {
            lines.push(format!("guard: {}", event.message()));
        }
        let attempts = match self.attempts() {
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        };
        let stop = match self.inner.stop {
            Some(StopReason::NotRetryable) | None => String::new(),
            Some(reason) => format!("; not retrying: {reason}"),
        };
        lines.push(format!(
            "{attempts} in {}{}{stop}. {}",
            human(self.inner.elapsed),
            self.waits_words(),
            self.hint()
        ));
        lines.join("\n")
    }

    /// ` (waited 12s for the circuit's probe)`: what the guards made the call wait, by
    /// cause, when they did.
    fn waits_words(&self) -> String {
        let mut waits: Vec<(GuardKind, Duration)> = Vec::new();
        for event in &self.inner.guard_log {
            let Some(wait) = event.wait().filter(|w| !w.is_zero()) else {
                continue;
            };
            match waits.iter_mut().find(|(g, _)| *g == event.guard()) {
                Some((_, total)) => *total += wait,
                None => waits.push((event.guard(), wait)),
            }
        }
        if waits.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = waits
            .iter()
            .map(|(guard, wait)| {
                let why = match guard {
                    GuardKind::Breaker => "for the circuit's probe",
                    GuardKind::Budget => "for the retry budget",
                    GuardKind::RateLimit => "for the rate limit",
                    GuardKind::ServerLimit => "as the server asked",
                    GuardKind::Bulkhead => "for the bulkhead",
                    GuardKind::Concurrency => "for room under the concurrency limit",
                    GuardKind::Hedge => "before hedging",
                };
                format!("{} {why}", human(*wait))
            })
            .collect();
        format!(" (waited {})", parts.join(", "))
    }
}

impl Error {
    /// The guard event that stopped the retries, when a guard did.
    fn guard_stop_event(&self) -> Option<&GuardEvent> {
        match self.inner.stop {
            Some(
                StopReason::CircuitOpen
                | StopReason::BudgetExhausted
                | StopReason::GuardWaitPastDeadline
                | StopReason::BulkheadFull,
            ) => self.inner.guard_log.last(),
            _ => None,
        }
    }
}

/// Why a server's certificate was refused.
enum TlsProblem {
    UnknownIssuer,
    Expired(Option<u64>),
    NotYetValid,
    OtherName {
        expected: String,
        presented: Vec<String>,
    },
    CaAsServer,
    SelfSigned,
    Other(String),
}

impl TlsProblem {
    fn of(e: &rustls::CertificateError) -> TlsProblem {
        use rustls::CertificateError as C;
        match e {
            C::UnknownIssuer => TlsProblem::UnknownIssuer,
            C::Expired => TlsProblem::Expired(None),
            C::ExpiredContext { not_after, .. } => TlsProblem::Expired(Some(not_after.as_secs())),
            C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
            C::NotValidForNameContext {
                expected,
                presented,
            } => TlsProblem::OtherName {
                expected: format!("{expected:?}")
                    .trim_start_matches("DnsName(")
                    .trim_start_matches("IpAddress(")
                    .trim_end_matches(')')
                    .trim_matches('"')
                    .to_owned(),
                presented: presented
                    .iter()
                    .map(|p| {
                        p.trim_start_matches("DnsName(")
                            .trim_start_matches("IpAddress(")
                            .trim_end_matches(')')
                            .trim_matches('"')
                            .to_owned()
                    })
                    .collect(),
            },
            C::NotValidForName => TlsProblem::OtherName {
                expected: String::new(),
                presented: Vec::new(),
            },
            C::Other(other) if other.0.downcast_ref::<crate::tls::SelfSigned>().is_some() => {
                TlsProblem::SelfSigned
            }
            other if format!("{other:?}").contains("CaUsedAsEndEntity") => TlsProblem::CaAsServer,
            other => TlsProblem::Other(format!("{other:?}")),
        }
    }

    fn words(&self) -> String {
        match self {
            TlsProblem::UnknownIssuer => {
                "the server's certificate is not signed by a CA this client trusts (unknown issuer)"
                    .into()
            }
            TlsProblem::Expired(Some(secs)) => format!(
                "the server's certificate expired on {}",
                httpdate::fmt_http_date(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(*secs)
                )
            ),
            TlsProblem::Expired(None) => "the server's certificate has expired".into(),
            TlsProblem::NotYetValid => {
                "the server's certificate is not valid yet (or this machine's clock is behind)"
                    .into()
            }
            TlsProblem::OtherName {
                expected,
                presented,
            } if !presented.is_empty() => format!(
                "the certificate is for {}, not {expected}",
                presented.join(", ")
            ),
            TlsProblem::OtherName { .. } => "the certificate is for another host name".into(),
            TlsProblem::CaAsServer => {
                "the server presents a CA certificate (CA:TRUE) as its own".into()
            }
            TlsProblem::SelfSigned => {
                "the server's certificate is self-signed (no CA this client trusts vouches for it)"
                    .into()
            }
            TlsProblem::Other(what) => format!("the certificate was refused ({what})"),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            TlsProblem::UnknownIssuer => "A server signed by a private CA needs that CA's certificate: --cacert FILE (ClientBuilder::root_certificates_pem).",
            TlsProblem::Expired(_) => "The certificate must be renewed by the service's owners; check this machine's clock too. --insecure skips the check (credentials are then refused).",
            TlsProblem::NotYetValid => "Check this machine's clock; otherwise the service's owners issued a certificate that starts later.",
            TlsProblem::OtherName { .. } => "Call the host by a name the certificate lists, or have the certificate reissued for this one.",
            TlsProblem::CaAsServer => "Give exactly that certificate with --cacert to trust it, or have the server present a certificate issued by the CA.",
            TlsProblem::SelfSigned => "If this is the server you mean (a development server, an appliance), trust exactly its certificate with --cacert FILE (ClientBuilder::root_certificates_pem); get the file from its owners, not from the connection.",
            TlsProblem::Other(_) => "Check the server's certificate chain (openssl s_client -connect HOST:443 -showcerts).",
        }
    }
}

fn fault_hint(fault: Fault) -> &'static str {
    match fault {
        Fault::Dns => "Check the host name in the URL and the machine's DNS and network.",
        Fault::Refused => "Check that the service is running and that the URL's host and port are right.",
        Fault::ConnectTimeout => "The host did not answer: check the network, firewall or VPN, or allow a longer connect timeout (--connect-timeout).",
        Fault::Connect => "Check the network and the URL's host.",
        Fault::Tls => "Check the server's certificate and the host name; a private CA needs its certificate given explicitly.",
        Fault::Reset | Fault::Closed => "The connection dropped: the service or a proxy in between is unstable; try again later.",
        Fault::ReadTimeout => "The server is overloaded or stuck: try again later, or allow a longer read timeout (--read-timeout).",
        Fault::Deadline => "The whole call ran out of time: try again later, or allow a longer deadline (--timeout, -m).",
        Fault::BodyTooLarge => "If a response this large is expected, raise the limit with --max-body SIZE (ClientBuilder::max_body), or stream it to a file with -o FILE.",
        Fault::Protocol => "The server sent a malformed response: report it to the service's owners.",
    }
}

fn status_hint(status: Option<StatusCode>) -> &'static str {
    let Some(status) = status else {
        return "Check the request.";
    };
    match status.as_u16() {
        401 => "Check the credentials: missing, wrong or expired. Retrying will not help.",
        403 => "The credentials lack permission for this resource. Retrying will not help.",
        404 | 410 => {
            "Check the URL's path and ids: the resource does not exist. Retrying will not help."
        }
        405 => "Check the method: the resource does not accept it. Retrying will not help.",
        408 => "The server gave up waiting for the request: check the network, then try again.",
        413 => "The request body is too large for the server. Retrying will not help.",
        415 | 406 => "Check the Content-Type and Accept headers. Retrying will not help.",
        400 | 409 | 422 => "Fix the request as the server says. Retrying will not help.",
        429 => "Too many requests: slow down and try again later.",
        s if (400..500).contains(&s) => {
            "A 4xx means the request is wrong: fix it. Retrying will not help."
        }
        s if (500..600).contains(&s) => {
            "Their server failed, not your request: try again later or check the service's status."
        }
        _ => "Unexpected status: check the request.",
    }
}
