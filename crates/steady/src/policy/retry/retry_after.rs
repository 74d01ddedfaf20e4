//! Reading `Retry-After` (RFC 9110 section 10.2.3) without trusting it.
//!
//! The header comes in two forms, delta-seconds (`120`) and an HTTP-date
//! (`Fri, 31 Dec 1999 23:59:59 GMT`). Servers also send negative numbers, fractions,
//! dates in the past, `999999999` and plain garbage. A client that trusts the value
//! sleeps for days (urllib3 #3743, go-retryablehttp #247); one that panics on it is
//! worse. Here every value becomes a bounded decision: a wait, "immediately" for past
//! dates, or "ignored" with the reason, and the caller compares the wait with the
//! deadline and `retry_after_max` before sleeping.

use std::time::{Duration, SystemTime};

/// What a `Retry-After` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long (saturated at `Duration::MAX` for absurd values).
    Wait(Duration),
    /// The value is not valid; it is ignored and the backoff applies.
    Invalid(String),
}

/// Parses a `Retry-After` value against the current wall-clock time `now`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use steady::retry::{parse_retry_after, RetryAfter};
///
/// let now = SystemTime::now();
/// assert_eq!(parse_retry_after("2", now), RetryAfter::Wait(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), RetryAfter::Wait(Duration::ZERO));
/// assert!(matches!(parse_retry_after("-5", now), RetryAfter::Invalid(_)));
/// assert!(matches!(parse_retry_after("soon", now), RetryAfter::Invalid(_)));
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> RetryAfter {
    let value = value.trim();
    if value.is_empty() {
        return RetryAfter::Invalid("empty".to_owned());
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: delta-seconds. Too many digits for u64 is still "a very long
        // time", not an error.
        return RetryAfter::Wait(
            value
                .parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or(Duration::MAX),
        );
    }
    let signed_or_fractional =
        value.starts_with('-') || value.starts_with('+') || value.contains('.');
    if signed_or_fractional && value.trim_start_matches(['-', '+']).parse::<f64>().is_ok() {
        return RetryAfter::Invalid(format!(
            "'{}' is not a whole, non-negative number of seconds",
            excerpt(value)
        ));
    }
    match httpdate::parse_http_date(value) {
        Ok(at) => RetryAfter::Wait(at.duration_since(now).unwrap_or(Duration::ZERO)),
        Err(_) => RetryAfter::Invalid(format!(
            "'{}' is neither delta-seconds nor an HTTP date",
            excerpt(value)
        )),
    }
}

fn excerpt(value: &str) -> String {
    let mut out: String = value.chars().filter(|c| !c.is_control()).take(40).collect();
    if value.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        httpdate::parse_http_date("Sun, 22 Nov 2026 12:00:00 GMT").unwrap()
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(
            parse_retry_after("0", now()),
            RetryAfter::Wait(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            RetryAfter::Wait(Duration::from_secs(120))
        );
    }

    #[test]
    fn absurd_delta_saturates_instead_of_failing() {
        assert_eq!(
            parse_retry_after("999999999999999999999999999", now()),
            RetryAfter::Wait(Duration::MAX)
        );
        assert_eq!(
            parse_retry_after("999999999", now()),
            RetryAfter::Wait(Duration::from_secs(999_999_999))
        );
    }

    #[test]
    fn http_date_in_the_future_and_past() {
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now()),
            RetryAfter::Wait(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now()),
            RetryAfter::Wait(Duration::ZERO)
        );
    }

    #[test]
    fn negative_fractional_and_garbage_are_ignored_with_a_reason() {
        for value in [
            "-1",
            "1.5",
            "+3",
            "soon",
            "",
            "Sun, 99 Nov 2026",
            "\u{0}\r\n",
        ] {
            match parse_retry_after(value, now()) {
                RetryAfter::Invalid(reason) => assert!(!reason.is_empty(), "{value:?}"),
                other => panic!("{value:?} gave {other:?}"),
            }
        }
    }
}
