//! The semantic layer: a 2xx is transport success, not semantic success.
//!
//! A server that answers `200 OK` with a body that is not what was asked for has still
//! failed. This module decides, for a 2xx, whether the body is acceptable. Today it
//! checks that a body whose `Content-Type` says JSON parses as JSON, so a truncated or
//! HTML-wrapped "JSON" answer is caught here instead of three functions later as a
//! confusing parse error. Expectations on the body (JSONPath predicates,
//! error-in-200 detection) plug in here as further checks.

use reqwest::header::{HeaderMap, CONTENT_TYPE};

/// The prefix of the problem reported for a JSON content type that does not parse.
pub(crate) const INVALID_JSON: &str = "Content-Type says JSON but the body does not parse";

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

/// Checks the body of a 2xx. `None` when it is acceptable, otherwise why not.
pub(crate) fn check(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_content_type);
    if is_json && !body.is_empty() {
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return Some(format!("{INVALID_JSON} ({err})"));
        }
    }
    None
}
