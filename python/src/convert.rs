//! A call's end as plain data: what Python turns into a `Response` or an exception.
//!
//! Everything is taken out of steady's types on the runtime (no GIL), then made into a
//! dict with the GIL. Strings that may carry a credential come from steady already
//! scrubbed (`Error`'s words, attempt URLs); bodies and headers are the server's own,
//! as `requests` gives them.

use std::time::SystemTime;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use steady::{Attempt, ErrorKind, Layer};

/// One attempt of the log.
pub(crate) struct AttemptInfo {
    number: u32,
    of: u32,
    started: f64,
    duration: f64,
    status: Option<u16>,
    fault: Option<&'static str>,
    layer: Option<&'static str>,
    verdict: &'static str,
    decision: String,
    why: String,
    outcome: String,
    note: Option<String>,
    url: String,
}

impl AttemptInfo {
    fn of(a: &Attempt) -> AttemptInfo {
        AttemptInfo {
            number: a.number(),
            of: a.of(),
            started: a.started().as_secs_f64(),
            duration: a.duration().as_secs_f64(),
            status: a.status().map(|s| s.as_u16()),
            fault: a.fault().map(|f| f.name()),
            layer: a.layer().map(Layer::name),
            verdict: match a.verdict() {
                steady::Verdict::Success => "success",
                steady::Verdict::Retryable => "retryable",
                steady::Verdict::Fatal => "fatal",
            },
            decision: a.decision().to_string(),
            why: pythonize(&a.why()),
            outcome: a.outcome(),
            note: a.note().map(str::to_owned),
            url: a.url().to_owned(),
        }
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("number", self.number)?;
        d.set_item("of", self.of)?;
        d.set_item("started", self.started)?;
        d.set_item("duration", self.duration)?;
        d.set_item("status", self.status)?;
        d.set_item("fault", self.fault)?;
        d.set_item("layer", self.layer)?;
        d.set_item("verdict", self.verdict)?;
        d.set_item("decision", &self.decision)?;
        d.set_item("why", &self.why)?;
        d.set_item("outcome", &self.outcome)?;
        d.set_item("note", &self.note)?;
        d.set_item("url", &self.url)?;
        Ok(d)
    }
}

fn attempts_list<'py>(py: Python<'py>, log: &[AttemptInfo]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for a in log {
        list.append(a.to_dict(py)?)?;
    }
    Ok(list)
}

/// One guard decision: when, which guard, how long it made the call wait, why.
pub(crate) struct GuardInfo {
    at: f64,
    guard: &'static str,
    wait: Option<f64>,
    message: String,
}

impl GuardInfo {
    fn all(log: &[steady::GuardEvent]) -> Vec<GuardInfo> {
        log.iter()
            .map(|e| GuardInfo {
                at: e.at().as_secs_f64(),
                guard: e.guard().name(),
                wait: e.wait().map(|w| w.as_secs_f64()),
                message: e.message().to_owned(),
            })
            .collect()
    }
}

fn guards_list<'py>(py: Python<'py>, log: &[GuardInfo]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for g in log {
        let d = PyDict::new(py);
        d.set_item("at", g.at)?;
        d.set_item("guard", g.guard)?;
        d.set_item("wait", g.wait)?;
        d.set_item("message", &g.message)?;
        list.append(d)?;
    }
    Ok(list)
}

fn header_list(headers: &steady::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A failed call (or the outage a fallback covered), taken out of [`steady::Error`].
pub(crate) struct ErrInfo {
    layer: &'static str,
    kind: &'static str,
    message: String,
    explain: String,
    status: Option<u16>,
    reason: Option<&'static str>,
    headers: Option<Vec<(String, String)>>,
    body: Option<Vec<u8>>,
    url: Option<String>,
    final_url: Option<String>,
    server_message: Option<String>,
    attempts: Vec<AttemptInfo>,
    guards: Vec<GuardInfo>,
    elapsed: f64,
    retryable: bool,
    stop_reason: Option<&'static str>,
    retry_after: Option<f64>,
    /// How much of a streamed body came before it broke (`stream=True`).
    body_received: Option<u64>,
}

impl ErrInfo {
    /// `client` answers where the guards' state says when to try again.
    pub(crate) fn of(err: &steady::Error, client: Option<&steady::Client>) -> ErrInfo {
        let retry_after = match (err.kind().is_guard(), client, err.url()) {
            (true, Some(client), Some(url)) => retry_after(client, err.kind(), url),
            _ => None,
        };
        ErrInfo {
            layer: err.layer().name(),
            kind: err.kind().name(),
            // The whole story in one line (an exception's str has no source chain).
            message: pythonize(&match (err.method(), err.url()) {
                (Some(method), Some(url)) => format!("{method} {url}: {}", err.what()),
                _ => err.what(),
            }),
            explain: pythonize(&err.explain()),
            status: err.status().map(|s| s.as_u16()),
            reason: err.status().and_then(|s| s.canonical_reason()),
            headers: err.headers().map(header_list),
            body: err.body().map(|b| b.to_vec()),
            url: err.url().map(str::to_owned),
            final_url: err.final_url().map(str::to_owned),
            server_message: err.server_message().map(str::to_owned),
            attempts: err.attempt_log().iter().map(AttemptInfo::of).collect(),
            guards: GuardInfo::all(err.guard_log()),
            elapsed: err.elapsed().as_secs_f64(),
            retryable: err.is_retryable(),
            stop_reason: err.stop_reason().map(|r| r.name()),
            retry_after,
            body_received: err.body_received(),
        }
    }

    /// A usage error found before anything was sent.
    pub(crate) fn usage(kind: &'static str, message: String) -> ErrInfo {
        ErrInfo {
            layer: "usage",
            kind,
            explain: format!("{message}\nNothing was sent."),
            message,
            status: None,
            reason: None,
            headers: None,
            body: None,
            url: None,
            final_url: None,
            server_message: None,
            attempts: Vec::new(),
            guards: Vec::new(),
            elapsed: 0.0,
            retryable: false,
            stop_reason: None,
            retry_after: None,
            body_received: None,
        }
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("layer", self.layer)?;
        d.set_item("kind", self.kind)?;
        d.set_item("message", &self.message)?;
        d.set_item("explain", &self.explain)?;
        d.set_item("status", self.status)?;
        d.set_item("reason", self.reason)?;
        d.set_item("headers", &self.headers)?;
        d.set_item("body", self.body.as_ref().map(|b| PyBytes::new(py, b)))?;
        d.set_item("url", &self.url)?;
        d.set_item("final_url", &self.final_url)?;
        d.set_item("server_message", &self.server_message)?;
        d.set_item("attempt_log", attempts_list(py, &self.attempts)?)?;
        d.set_item("guard_log", guards_list(py, &self.guards)?)?;
        d.set_item("elapsed", self.elapsed)?;
        d.set_item("retryable", self.retryable)?;
        d.set_item("stop_reason", self.stop_reason)?;
        d.set_item("retry_after", self.retry_after)?;
        d.set_item("body_received", self.body_received)?;
        Ok(d)
    }
}

/// Seconds until the guard that refused a call lets one through, when its state says.
fn retry_after(client: &steady::Client, kind: ErrorKind, url: &str) -> Option<f64> {
    let state = client.host_state(url).ok()?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let until = match kind {
        ErrorKind::CircuitOpen => state.breaker.probe_at_ms(),
        _ => return None,
    };
    (until > now).then(|| (until - now) as f64 / 1000.0)
}

/// steady's advice names the command line's flags; a Python user sets keywords.
fn pythonize(text: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("(--timeout, -m)", "(deadline=)"),
        ("--timeout DURATION", "deadline="),
        ("a longer --timeout", "a longer deadline="),
        ("(--timeout)", "(deadline=)"),
        ("(--connect-timeout)", "(timeout=(connect, read))"),
        ("(--read-timeout)", "(timeout=(connect, read))"),
        ("(--retries N)", "(retries=)"),
        ("--max-redirects N", "max_redirects="),
        ("--no-follow", "allow_redirects=False"),
        (
            "--cacert FILE (ClientBuilder::root_certificates_pem)",
            "steady.Client(verify=\"ca.pem\")",
        ),
        (
            "--cacert for a private CA",
            "verify=\"ca.pem\" for a private CA",
        ),
        ("with --cacert", "with steady.Client(verify=\"ca.pem\")"),
        (
            "--insecure-with-credentials",
            "steady.Client(verify=False, insecure_with_credentials=True)",
        ),
        ("(--insecure)", "(verify=False)"),
        ("--insecure skips", "verify=False skips"),
        ("--idempotency-key auto", "idempotency_key=\"auto\""),
        (
            "--max-body SIZE (ClientBuilder::max_body), or stream it to a file with -o FILE",
            "max_body=",
        ),
        ("or --fail-fast is on", "or fail_fast=True"),
        (
            "--allow-error-body (RequestBuilder::allow_error_body)",
            "allow_error_body=True",
        ),
    ];
    let mut text = text.to_owned();
    for (flag, keyword) in WORDS {
        if text.contains(flag) {
            text = text.replace(flag, keyword);
        }
    }
    text
}

/// A call that answered: the response, where the answer came from, and the outage a
/// fallback covered.
pub(crate) struct RespInfo {
    status: u16,
    reason: Option<&'static str>,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    url: String,
    shown_url: String,
    elapsed: f64,
    attempts: Vec<AttemptInfo>,
    guards: Vec<GuardInfo>,
    source: &'static str,
    degraded_by: Option<Box<ErrInfo>>,
    /// The redirects followed: status, URL, headers.
    history: Vec<Redirect>,
}

/// One redirect followed: status, reason, URL, headers.
type Redirect = (u16, Option<&'static str>, String, Vec<(String, String)>);

impl RespInfo {
    pub(crate) fn of(
        resp: &steady::Response,
        source: &'static str,
        degraded_by: Option<ErrInfo>,
    ) -> RespInfo {
        RespInfo {
            status: resp.status().as_u16(),
            reason: resp.status().canonical_reason(),
            version: format!("{:?}", resp.version()),
            headers: header_list(resp.headers()),
            body: resp.bytes().to_vec(),
            url: resp.url().to_string(),
            shown_url: steady::redact_url(resp.url()),
            elapsed: resp.elapsed().as_secs_f64(),
            attempts: resp.attempt_log().iter().map(AttemptInfo::of).collect(),
            guards: GuardInfo::all(resp.guard_log()),
            source,
            degraded_by: degraded_by.map(Box::new),
            history: resp
                .redirects()
                .iter()
                .map(|hop| {
                    (
                        hop.status().as_u16(),
                        hop.status().canonical_reason(),
                        hop.url().to_string(),
                        header_list(hop.headers()),
                    )
                })
                .collect(),
        }
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status)?;
        d.set_item("reason", self.reason)?;
        d.set_item("version", &self.version)?;
        d.set_item("headers", &self.headers)?;
        d.set_item("body", PyBytes::new(py, &self.body))?;
        d.set_item("url", &self.url)?;
        d.set_item("shown_url", &self.shown_url)?;
        d.set_item("elapsed", self.elapsed)?;
        d.set_item("attempt_log", attempts_list(py, &self.attempts)?)?;
        d.set_item("guard_log", guards_list(py, &self.guards)?)?;
        d.set_item("source", self.source)?;
        d.set_item(
            "degraded_by",
            self.degraded_by
                .as_ref()
                .map(|e| e.to_dict(py))
                .transpose()?,
        )?;
        let history = PyList::empty(py);
        for (status, reason, url, headers) in &self.history {
            let hop = PyDict::new(py);
            hop.set_item("status", status)?;
            hop.set_item("reason", reason)?;
            hop.set_item("url", url)?;
            hop.set_item("headers", headers)?;
            history.append(hop)?;
        }
        d.set_item("history", history)?;
        Ok(d)
    }
}

/// How a call ended.
pub(crate) enum Done {
    Answered(RespInfo),
    Failed(ErrInfo),
}

impl Done {
    /// `(True, response)` or `(False, error)`, as dicts.
    pub(crate) fn to_py<'py>(&self, py: Python<'py>) -> PyResult<(bool, Bound<'py, PyDict>)> {
        match self {
            Done::Answered(r) => Ok((true, r.to_dict(py)?)),
            Done::Failed(e) => Ok((false, e.to_dict(py)?)),
        }
    }
}
