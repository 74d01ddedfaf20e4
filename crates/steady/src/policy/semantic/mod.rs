//! The semantic layer: a 2xx is transport success, not semantic success.
//!
//! A server that answers `200 OK` with a body that is not what was asked for has still
//! failed: an error object in a 200, a truncated "JSON", an empty list where items were
//! promised. steady checks every 2xx before calling it a success, in this order:
//!
//! 1. the status is one of the expected ones ([`Checks::expect_status`]; a listed
//!    non-2xx, e.g. `404` for "make sure it is gone", counts as success);
//! 2. a body whose `Content-Type` says JSON parses as JSON, or as JSON lines (two or
//!    more lines, each a JSON value: NDJSON labelled `application/json`, as httpbin's
//!    `/stream` and many export APIs send it); a body labelled `application/x-ndjson`
//!    (or `jsonl`, `json-seq`) parses line by line, and the checks below apply to
//!    each line. [`Checks::no_json_check`] turns this check off;
//! 3. the content type is the expected one ([`Checks::expect_type`]);
//! 4. the body does not report an error (error-in-2xx detection, on by default; see
//!    below);
//! 5. every `Expectation` (feature `jsonpath`) holds (a JSONPath and a predicate);
//! 6. every `until` expectation holds (polling: a failure here is retried with the
//!    same backoff, budget and deadline instead of ending the call);
//! 7. every validator closure accepts it.
//!
//! The first check that fails makes the call a semantic failure (exit code 7 on the
//! command line), which is never retried (except `until`) and never served from a
//! fallback: it means the data is wrong, not that the service is down.
//!
//! # Error-in-2xx
//!
//! Many APIs answer `200 OK` and put the failure in the body: `{"error": "quota
//! exceeded"}`, `{"ok": false, "error": "invalid_auth"}`, `{"success": false}`, or
//! GraphQL's `{"errors": [...], "data": null}`. A client that checks only the status
//! acts on the error as if it were data. A 2xx JSON body whose top-level object has a
//! non-empty `error` or `errors` member, or `"ok": false` or `"success": false`, is a
//! semantic failure carrying the body's message; GraphQL `errors` next to partial
//! `data` is one too, reported with both. Only the top level counts (an `error` field
//! inside a list item is data). [`Checks::allow_error_body`] turns it off for APIs
//! whose `error` member means something else.

mod error_body;
#[cfg(feature = "jsonpath")]
mod expect;

use std::fmt;
use std::sync::Arc;

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::Value;

#[cfg(feature = "jsonpath")]
pub use expect::Expectation;

/// Without the `jsonpath` feature no expectation can be made: the checks that read
/// them stay as they are and see none.
#[cfg(not(feature = "jsonpath"))]
#[derive(Debug, Clone)]
pub(crate) enum Expectation {}

#[cfg(not(feature = "jsonpath"))]
impl Expectation {
    pub(crate) fn as_str(&self) -> &str {
        match *self {}
    }

    pub(crate) fn check(&self, _: &Value) -> Result<(), String> {
        match *self {}
    }
}

use crate::classify::AttemptView;
use crate::ErrorKind;

/// Whether a `Content-Type` value names JSON (`application/json`, `*/*+json`).
///
/// ```
/// use steady::semantic::is_json_content_type;
/// assert!(is_json_content_type("application/json; charset=utf-8"));
/// assert!(is_json_content_type("application/problem+json"));
/// assert!(!is_json_content_type("text/html"));
/// ```
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// Whether a `Content-Type` value names newline-delimited JSON (`application/x-ndjson`,
/// `application/jsonl`, `application/jsonlines`, `application/json-seq`): one JSON
/// value per line.
///
/// ```
/// use steady::semantic::is_json_lines_content_type;
/// assert!(is_json_lines_content_type("application/x-ndjson"));
/// assert!(!is_json_lines_content_type("application/json"));
/// ```
pub fn is_json_lines_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines"
            | "application/json-seq"
    )
}

/// The values of a JSON-lines body, one per non-empty line (a leading RS of
/// `json-seq` ignored), or the first line that does not parse (from 1) and why.
fn json_lines(body: &[u8]) -> Result<Vec<Value>, (usize, String)> {
    let text = std::str::from_utf8(body).map_err(|e| (1, format!("not UTF-8: {e}")))?;
    let mut values = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{1e}').trim();
        if line.is_empty() {
            continue;
        }
        values.push(serde_json::from_str(line).map_err(|e| (n + 1, e.to_string()))?);
    }
    Ok(values)
}

/// A user check on a response: `Err` says why it is not what was asked for.
pub type Validator = Arc<dyn Fn(&AttemptView<'_>) -> Result<(), String> + Send + Sync>;

/// The semantic checks of a request. Built through the request builder
/// (`expect`, `until`, `expect_status`, `expect_type`, `allow_error_body`, `validate`).
#[derive(Clone, Default)]
pub struct Checks {
    pub(crate) expectations: Vec<Expectation>,
    pub(crate) until: Vec<Expectation>,
    pub(crate) expect_status: Vec<u16>,
    pub(crate) expect_type: Option<String>,
    pub(crate) allow_error_body: bool,
    /// Bodies labelled JSON are not parsed (unless expectations need them).
    pub(crate) no_json_check: bool,
    pub(crate) validators: Vec<Validator>,
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field(
                "expectations",
                &self
                    .expectations
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "until",
                &self.until.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            )
            .field("expect_status", &self.expect_status)
            .field("expect_type", &self.expect_type)
            .field("allow_error_body", &self.allow_error_body)
            .field("no_json_check", &self.no_json_check)
            .field("validators", &self.validators.len())
            .finish()
    }
}

/// Why a response failed its semantic checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    /// An `until` expectation: poll again.
    pub(crate) retryable: bool,
}

impl Problem {
    fn new(kind: ErrorKind, message: String) -> Self {
        Problem {
            kind,
            message,
            retryable: false,
        }
    }

    /// A downloaded body too large to read back for the request's checks.
    pub(crate) fn unchecked(bytes: u64, max: u64) -> Self {
        Problem::new(ErrorKind::ExpectationFailed,
            format!(
                "the checks were not run: the saved body is {bytes} bytes, more than the {max}-byte body limit they may read (raise --max-body)"
            ),
        )
    }
}

impl Checks {
    /// Adds an expectation that must hold on every 2xx.
    #[cfg(feature = "jsonpath")]
    pub fn expect(&mut self, expectation: Expectation) -> &mut Self {
        self.expectations.push(expectation);
        self
    }

    /// Adds an expectation to poll for: while it fails, the call retries (same
    /// backoff, budget and deadline).
    #[cfg(feature = "jsonpath")]
    pub fn until(&mut self, expectation: Expectation) -> &mut Self {
        self.until.push(expectation);
        self
    }

    /// Accepts only these statuses (a listed non-2xx counts as success).
    pub fn expect_status(&mut self, statuses: &[u16]) -> &mut Self {
        self.expect_status = statuses.to_vec();
        self
    }

    /// Accepts only this content type: `json`, or a fragment such as `text/csv`.
    pub fn expect_type(&mut self, content_type: &str) -> &mut Self {
        self.expect_type = Some(content_type.to_owned());
        self
    }

    /// Turns error-in-2xx detection off.
    pub fn allow_error_body(&mut self, allow: bool) -> &mut Self {
        self.allow_error_body = allow;
        self
    }

    /// Turns off the check that a body labelled JSON parses (for an API that labels
    /// other things `application/json`). Expectations still parse the body they read.
    pub fn no_json_check(&mut self, off: bool) -> &mut Self {
        self.no_json_check = off;
        self
    }

    /// Adds a validator: `Err(reason)` makes the response a semantic failure.
    pub fn validate(&mut self, validator: Validator) -> &mut Self {
        self.validators.push(validator);
        self
    }

    /// Whether `status` is one the request expects explicitly.
    pub(crate) fn expects(&self, status: StatusCode) -> bool {
        self.expect_status.contains(&status.as_u16())
    }

    /// Whether the semantic checks apply to a response with `status`.
    pub(crate) fn applies(&self, status: StatusCode) -> bool {
        status.is_success() || self.expects(status)
    }

    /// Whether the request's own checks (expectations, `until`, validators) read the
    /// body, whatever its type.
    pub(crate) fn reads_any_body(&self) -> bool {
        !self.expectations.is_empty() || !self.until.is_empty() || !self.validators.is_empty()
    }

    /// Whether checking a response with these headers reads its body: a JSON body is
    /// always parsed; expectations and validators read any body.
    pub(crate) fn reads_body(&self, headers: &reqwest::header::HeaderMap) -> bool {
        self.reads_any_body()
            || (!self.no_json_check
                && headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|t| is_json_content_type(t) || is_json_lines_content_type(t)))
    }

    /// Checks a response the layers below accepted; `None` when it is what was asked for.
    pub(crate) fn check(&self, view: &AttemptView<'_>) -> Option<Problem> {
        let status = view.status?;
        let headers = view.headers?;
        let body = view.body.map(|b| &b[..]).unwrap_or(&[]);
        if !self.expect_status.is_empty() && !self.expects(status) {
            let listed: Vec<String> = self.expect_status.iter().map(u16::to_string).collect();
            return Some(Problem::new(
                ErrorKind::UnexpectedStatus,
                format!(
                    "the status {} is not one of the expected {}",
                    status.as_u16(),
                    listed.join(", ")
                ),
            ));
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_json = is_json_content_type(content_type);
        let needs_json = !self.expectations.is_empty() || !self.until.is_empty();
        let check_json = !self.no_json_check || needs_json;
        // JSON lines: labelled so, or labelled JSON and two or more lines that each
        // parse (httpbin's /stream, many export and log APIs). Checks apply per line.
        let mut lines: Option<Vec<Value>> = None;
        if check_json && is_json_lines_content_type(content_type) && !body.is_empty() {
            match json_lines(body) {
                Ok(values) => lines = Some(values),
                Err((line, err)) if !self.no_json_check => {
                    return Some(Problem::new(
                        ErrorKind::InvalidJson,
                        format!(
                            "Content-Type says JSON lines but line {line} does not parse ({err})"
                        ),
                    ))
                }
                Err(_) => {}
            }
        }
        // Without expectations, only validity and the error-in-body members are
        // needed: the probe reads them without building the body (the whole body
        // when it reports an error).
        let parse = is_json && check_json && lines.is_none() && !body.is_empty();
        let parsed: Result<Option<Value>, String> = match (parse, needs_json) {
            (false, _) => Ok(None),
            (true, true) => serde_json::from_slice(body)
                .map(Some)
                .map_err(|e| e.to_string()),
            (true, false) => error_body::probe(body, !self.allow_error_body && status.is_success()),
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(err) => match json_lines(body) {
                Ok(values) if values.len() >= 2 => {
                    lines = Some(values);
                    None
                }
                _ if self.no_json_check => None,
                _ => {
                    return Some(Problem::new(
                        ErrorKind::InvalidJson,
                        format!("{INVALID_JSON} ({err})"),
                    ))
                }
            },
        };
        // A 204 has no body, so no type to check.
        let typed = status != StatusCode::NO_CONTENT;
        if let Some(expected) = self.expect_type.as_ref().filter(|_| typed) {
            let ok = if expected.eq_ignore_ascii_case("json") {
                is_json
            } else {
                content_type
                    .to_ascii_lowercase()
                    .contains(&expected.to_ascii_lowercase())
            };
            if !ok {
                let found = if content_type.is_empty() {
                    "none"
                } else {
                    content_type
                };
                return Some(Problem::new(
                    ErrorKind::UnexpectedType,
                    format!("the content type is {found}, not {expected}"),
                ));
            }
        }
        if !self.allow_error_body && status.is_success() {
            if let Some(message) = parsed.as_ref().and_then(error_body::error_in_body) {
                return Some(Problem::new(ErrorKind::ErrorInBody, message));
            }
            for (n, value) in lines.iter().flatten().enumerate() {
                if let Some(message) = error_body::error_in_body(value) {
                    return Some(Problem::new(
                        ErrorKind::ErrorInBody,
                        format!("line {}: {message}", n + 1),
                    ));
                }
            }
        }
        if let Some(values) = &lines {
            for (n, value) in values.iter().enumerate() {
                if let Some(problem) = self.expectations_hold(value) {
                    return Some(Problem {
                        message: format!("line {}: {}", n + 1, problem.message),
                        ..problem
                    });
                }
            }
            return self.validated(view);
        }
        let json = match (&parsed, needs_json) {
            (Some(v), _) => Some(v),
            (None, false) => None,
            (None, true) => {
                return Some(Problem::new(
                    ErrorKind::ExpectationFailed,
                    format!(
                        "expectations need a JSON body, and this one is {}",
                        if body.is_empty() {
                            "empty".to_owned()
                        } else {
                            format!(
                                "{} (content type {})",
                                "not JSON",
                                if content_type.is_empty() {
                                    "none"
                                } else {
                                    content_type
                                }
                            )
                        }
                    ),
                ))
            }
        };
        if let Some(problem) = json.and_then(|json| self.expectations_hold(json)) {
            return Some(problem);
        }
        self.validated(view)
    }

    /// The first expectation or `until` that `json` fails.
    fn expectations_hold(&self, json: &Value) -> Option<Problem> {
        for e in &self.expectations {
            if let Err(message) = e.check(json) {
                return Some(Problem::new(ErrorKind::ExpectationFailed, message));
            }
        }
        for e in &self.until {
            if let Err(message) = e.check(json) {
                return Some(Problem {
                    kind: ErrorKind::Until,
                    message: format!("not yet: {message}"),
                    retryable: true,
                });
            }
        }
        None
    }

    /// The first validator that rejects the response.
    fn validated(&self, view: &AttemptView<'_>) -> Option<Problem> {
        for validate in &self.validators {
            if let Err(message) = validate(view) {
                return Some(Problem::new(ErrorKind::Validator, message));
            }
        }
        None
    }
}

/// Whether a JSON value is empty: null, "", [] or {}.
pub(crate) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A JSON value for a message, cut to 120 characters.
pub(crate) fn excerpt_value(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 120 {
        return text;
    }
    let mut out: String = text.chars().take(120).collect();
    out.push('…');
    out
}

/// The prefix of the problem reported for a JSON content type that does not parse.
pub(crate) const INVALID_JSON: &str = "Content-Type says JSON but the body does not parse";
