//! The outcome of a call as one JSON object: the stable schema of `steady --format json`,
//! reused for batch results.
//!
//! ```json
//! {
//!   "ok": false,
//!   "layer": "http",
//!   "method": "GET",
//!   "url": "http://127.0.0.1:8080/items?api_key=****",
//!   "status": 503,
//!   "attempts": 4,
//!   "elapsed_ms": 7012,
//!   "source": "network",
//!   "error": {"kind": "server_error", "message": "HTTP 503 Service Unavailable",
//!             "server_message": "overloaded", "hint": "...", "stop_reason": "retries_exhausted",
//!             "stop": "all 3 retries used", "retryable": true},
//!   "attempt_log": [{"attempt": 1, "started_ms": 0, "duration_ms": 3, "outcome": "503 Service Unavailable",
//!                    "status": 503, "fault": null, "layer": "http", "decision": "retry",
//!                    "wait_ms": 1000, "wait_reason": "backoff", "stop_reason": null, "note": null}],
//!   "guard_log": [{"at_ms": 3, "guard": "server_limit", "wait_ms": null,
//!                  "message": "host paused: the server answered 429 with Retry-After: 2s"}],
//!   "content_type": "application/json",
//!   "body": {"error": "overloaded"}
//! }
//! ```
//!
//! `layer` is `null` on success, else `transport`, `http`, `semantic`, `guard` or
//! `usage`. A download ([`crate::RequestBuilder::save_to`], `-o FILE`) adds
//! `saved_to` and `saved_bytes`, and its `body` is `null`. `body` is the parsed JSON when the body is JSON, a string when it is
//! text, and `null` when there is none (or it is binary: `body_bytes` gives its size).
//! Every credential the request carried is replaced by `****` throughout.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::attempt::{Attempt, Decision, WaitReason};
use crate::redact::Scrubber;
use crate::{Error, Response};

/// The outcome of a call as a JSON value; see the [module docs](self) for the schema.
pub fn outcome_json(result: Result<&Response, &Error>) -> Value {
    with_body(&Record::of(result), result)
}

/// The outcome of a call with fallbacks: the response's JSON with `source`,
/// `stale_age_s` (from the cache), `fallback_url` and `degraded_by` (the failure that
/// made the fallback necessary: `layer`, `status`, `kind`, `message`, `server_message`,
/// `attempts`).
pub fn fallback_outcome_json(outcome: &crate::fallback::Outcome) -> Value {
    with_body(&Record::of_fallback(outcome), Ok(outcome.response()))
}

fn with_body(record: &Record<'_>, result: Result<&Response, &Error>) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Value::Object(out) = &mut value {
        let (body, scrubber) = match result {
            Ok(resp) if resp.saved_to().is_some() => (None, resp.scrubber()),
            Ok(resp) => (Some(resp.bytes().as_ref()), resp.scrubber()),
            Err(err) => (err.body().map(AsRef::as_ref), err.scrubber()),
        };
        let body = body.map_or(Value::Null, |b| body_value(out, b, scrubber));
        out.insert("body".into(), body);
    }
    value
}

/// The outcome of a call as a typed record: every field of the [module
/// docs](self)' schema but `body`, in schema order. Serialize it directly
/// (`serde_json::to_string`) where many outcomes are written: it costs a fraction
/// of building a [`Value`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Record<'a> {
    /// Whether the call succeeded (a fallback answer counts).
    pub ok: bool,
    /// `None` on success, else the failing layer's name.
    pub layer: Option<&'static str>,
    /// The request method.
    pub method: Option<&'a str>,
    /// The URL, redacted.
    pub url: Option<Cow<'a, str>>,
    /// The final status.
    pub status: Option<u16>,
    /// Requests sent.
    pub attempts: u32,
    /// Wall time of the whole call.
    pub elapsed_ms: u64,
    /// `network`, `cache`, `alternative` or `default`.
    pub source: &'static str,
    /// Age of a cached answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_age_s: Option<u64>,
    /// The alternative URL that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_url: Option<&'a str>,
    /// What went wrong.
    pub error: Option<ErrorRecord<'a>>,
    /// The failure a fallback answer stands in for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_by: Option<DegradedRecord<'a>>,
    /// One entry per request sent.
    pub attempt_log: Vec<AttemptRecord<'a>>,
    /// What the guards did.
    pub guard_log: Vec<GuardRecord<'a>>,
    /// The response's content type.
    pub content_type: Option<&'a str>,
    /// The file a download was saved to (then `body` is `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<Cow<'a, str>>,
    /// How many bytes were saved there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_bytes: Option<u64>,
}

/// `error` of a [`Record`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ErrorRecord<'a> {
    /// A stable name for the failure (`server_error`, `timeout`, ...).
    pub kind: &'static str,
    /// What happened, in plain words.
    pub message: String,
    /// What the server said.
    pub server_message: Option<&'a str>,
    /// What to do next.
    pub hint: String,
    /// Why steady stopped trying.
    pub stop_reason: Option<&'static str>,
    /// The same, in words.
    pub stop: Option<String>,
    /// Whether trying again later may succeed.
    pub retryable: bool,
}

/// `degraded_by` of a [`Record`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DegradedRecord<'a> {
    /// The failing layer.
    pub layer: &'static str,
    /// Its status.
    pub status: Option<u16>,
    /// Its kind.
    pub kind: &'static str,
    /// What happened.
    pub message: String,
    /// What the server said.
    pub server_message: Option<&'a str>,
    /// Requests sent.
    pub attempts: u32,
}

/// One entry of `attempt_log`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AttemptRecord<'a> {
    /// From 1.
    pub attempt: u32,
    /// Since the call started.
    pub started_ms: u64,
    /// How long it took.
    pub duration_ms: u64,
    /// What came back, in words.
    pub outcome: String,
    /// Its status.
    pub status: Option<u16>,
    /// Its transport fault.
    pub fault: Option<&'static str>,
    /// Its layer.
    pub layer: Option<&'static str>,
    /// The URL it went to, redacted.
    pub url: &'a str,
    /// `done`, `retry` or `stop`.
    pub decision: &'static str,
    /// Why.
    pub why: String,
    /// The wait before the next attempt.
    pub wait_ms: Option<u64>,
    /// `backoff` or `retry_after`.
    pub wait_reason: Option<&'static str>,
    /// Why the call stopped here.
    pub stop_reason: Option<&'static str>,
    /// Anything else worth knowing (an ignored Retry-After, ...).
    pub note: Option<&'a str>,
    /// The round of a batch item that sent it (absent outside batches, and for an
    /// item that took one round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
}

/// One entry of `guard_log`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct GuardRecord<'a> {
    /// Since the call started.
    pub at_ms: u64,
    /// Which guard.
    pub guard: &'static str,
    /// How long it held the call.
    pub wait_ms: Option<u64>,
    /// What it did.
    pub message: &'a str,
    /// The round of a batch item it held (as in [`AttemptRecord::round`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
}

impl<'a> Record<'a> {
    /// The record of a call's result.
    pub fn of(result: Result<&'a Response, &'a Error>) -> Self {
        match result {
            Ok(resp) => Record {
                ok: true,
                layer: None,
                method: Some(resp.method().as_str()),
                url: Some(Cow::Owned(resp.scrubber().url(resp.url()))),
                status: Some(resp.status().as_u16()),
                attempts: resp.attempts(),
                elapsed_ms: resp.elapsed().as_millis() as u64,
                source: "network",
                stale_age_s: None,
                fallback_url: None,
                error: None,
                degraded_by: None,
                attempt_log: attempt_log(resp.attempt_log()),
                guard_log: guard_log(resp.guard_log()),
                content_type: resp.content_type(),
                saved_to: resp.saved_to().map(|p| p.to_string_lossy()),
                saved_bytes: resp.saved_bytes(),
            },
            Err(err) => Record {
                ok: false,
                layer: Some(err.layer().name()),
                method: err.method().map(|m| m.as_str()),
                url: err.url().map(Cow::Borrowed),
                status: err.status().map(|s| s.as_u16()),
                attempts: err.attempts(),
                elapsed_ms: err.elapsed().as_millis() as u64,
                source: "network",
                stale_age_s: None,
                fallback_url: None,
                error: Some(ErrorRecord {
                    kind: err.kind().name(),
                    message: err.what(),
                    server_message: err.server_message(),
                    hint: err.hint(),
                    stop_reason: err.stop_reason().map(|r| r.name()),
                    stop: err.stop_reason().map(|r| r.to_string()),
                    retryable: err.is_retryable(),
                }),
                degraded_by: None,
                attempt_log: attempt_log(err.attempt_log()),
                guard_log: guard_log(err.guard_log()),
                content_type: err
                    .headers()
                    .and_then(|h| h.get(reqwest::header::CONTENT_TYPE))
                    .and_then(|v| v.to_str().ok()),
                saved_to: None,
                saved_bytes: None,
            },
        }
    }

    /// The record of a call with fallbacks (see [`fallback_outcome_json`]).
    pub fn of_fallback(outcome: &'a crate::fallback::Outcome) -> Self {
        let mut record = Record::of(Ok(outcome.response()));
        record.source = outcome.source().name();
        if let crate::fallback::Source::Cache { age } = outcome.source() {
            record.stale_age_s = Some(age.as_secs());
        }
        if let crate::fallback::Source::Alternative { url } = outcome.source() {
            record.fallback_url = Some(url);
        }
        if let Some(err) = outcome.degraded_by() {
            record.attempts = err.attempts();
            record.attempt_log = attempt_log(err.attempt_log());
            record.degraded_by = Some(DegradedRecord {
                layer: err.layer().name(),
                status: err.status().map(|s| s.as_u16()),
                kind: err.kind().name(),
                message: err.what(),
                server_message: err.server_message(),
                attempts: err.attempts(),
            });
        }
        record
    }
}

fn attempt_log(attempts: &[Attempt]) -> Vec<AttemptRecord<'_>> {
    attempts
        .iter()
        .map(|a| {
            let (decision, wait_ms, wait_reason, stop_reason) = match a.decision() {
                Decision::Done => ("done", None, None, None),
                Decision::Retry { wait, reason } => (
                    "retry",
                    Some(wait.as_millis() as u64),
                    Some(match reason {
                        WaitReason::Backoff => "backoff",
                        WaitReason::RetryAfter => "retry_after",
                    }),
                    None,
                ),
                Decision::Stop(reason) => ("stop", None, None, Some(reason.name())),
            };
            AttemptRecord {
                attempt: a.number(),
                started_ms: a.started().as_millis() as u64,
                duration_ms: a.duration().as_millis() as u64,
                outcome: a.outcome(),
                status: a.status().map(|s| s.as_u16()),
                fault: a.fault().map(|f| f.name()),
                layer: a.layer().map(|l| l.name()),
                url: a.url(),
                decision,
                why: a.why(),
                wait_ms,
                wait_reason,
                stop_reason,
                note: a.note(),
                round: None,
            }
        })
        .collect()
}

fn guard_log(events: &[crate::guard::GuardEvent]) -> Vec<GuardRecord<'_>> {
    events
        .iter()
        .map(|e| GuardRecord {
            at_ms: e.at().as_millis() as u64,
            guard: e.guard().name(),
            wait_ms: e.wait().map(|w| w.as_millis() as u64),
            message: e.message(),
            round: None,
        })
        .collect()
}

/// The body for the JSON outcome: parsed JSON, scrubbed text, or `null` (binary bodies
/// get `body_bytes` instead).
fn body_value(out: &mut Map<String, Value>, body: &[u8], scrubber: &Scrubber) -> Value {
    if body.is_empty() {
        Value::Null
    } else if let Ok(mut value) = serde_json::from_slice::<Value>(body) {
        scrub_value(&mut value, scrubber);
        value
    } else if let Ok(text) = std::str::from_utf8(body) {
        json!(scrubber.scrub(text))
    } else {
        out.insert("body_bytes".into(), json!(body.len()));
        Value::Null
    }
}

fn scrub_value(value: &mut Value, scrubber: &Scrubber) {
    match value {
        Value::String(s) => {
            let clean = scrubber.scrub(s);
            if clean != *s {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, scrubber)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_value(v, scrubber)),
        _ => {}
    }
}
