//! Reading a server's rate-limit headers: GitHub-style `X-RateLimit-*`, the IETF
//! `RateLimit` / `RateLimit-Policy` fields in every draft form, and `Retry-After` on a
//! 429. Garbage in any of them is ignored, never an error.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// What a response says about the server's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLimit {
    /// Send nothing to this host until `until_ms` (wall clock).
    Pause {
        /// When the pause ends, ms since the epoch.
        until_ms: u64,
        /// Why, in words.
        reason: String,
    },
    /// Space requests to this host `interval_ms` apart until `until_ms`.
    Pace {
        /// The spacing.
        interval_ms: u64,
        /// When pacing ends, ms since the epoch.
        until_ms: u64,
        /// Why, in words.
        reason: String,
    },
}

/// Reads the rate-limit headers of a response with `status`, received at `now_ms`
/// (wall clock); `retry_after` is the response's parsed `Retry-After`.
///
/// ```
/// use steady::header::{HeaderMap, HeaderValue};
/// use steady::rate::{parse_rate_limit_headers, ServerLimit};
///
/// let mut h = HeaderMap::new();
/// h.insert("ratelimit", HeaderValue::from_static("\"default\";r=0;t=30"));
/// assert_eq!(
///     parse_rate_limit_headers(200, &h, 1_000, None),
///     Some(ServerLimit::Pause { until_ms: 31_000, reason: "RateLimit: 0 requests left for 30s".into() })
/// );
/// ```
pub fn parse_rate_limit_headers(
    status: u16,
    headers: &HeaderMap,
    now_ms: u64,
    retry_after: Option<Duration>,
) -> Option<ServerLimit> {
    if status == 429 {
        if let Some(wait) = retry_after {
            return Some(ServerLimit::Pause {
                until_ms: now_ms.saturating_add(wait.as_millis() as u64),
                reason: format!(
                    "the server answered 429 with Retry-After: {}",
                    crate::duration::human(wait)
                ),
            });
        }
    }
    // Most answers carry no rate-limit header at all: one pass over the names
    // (lowercase in a HeaderMap) spares the lookups below, which hash each name.
    let limited = headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("ratelimit") || name.starts_with("x-ratelimit-")
    });
    if !limited {
        return None;
    }
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let number = |name: &str| get(name).and_then(|v| v.parse::<u64>().ok());

    // (remaining, seconds to reset, limit, source)
    let mut found: Option<(u64, u64, Option<u64>, &str)> = None;
    if let (Some(remaining), Some(reset)) =
        (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
    {
        // GitHub sends epoch seconds; some APIs send seconds from now.
        let now_s = now_ms / 1000;
        let secs = if reset > 1_000_000_000 {
            reset.saturating_sub(now_s)
        } else {
            reset
        };
        found = Some((
            remaining,
            secs,
            number("x-ratelimit-limit"),
            "X-RateLimit-Remaining",
        ));
    }
    if let Some(value) = get("ratelimit") {
        if let Some((r, t)) =
            structured(value, "r", "t").or_else(|| structured(value, "remaining", "reset"))
        {
            let q = get("ratelimit-policy")
                .and_then(|p| param(p, "q"))
                .or_else(|| param(value, "limit"));
            found = Some((r, t, q, "RateLimit"));
        }
    }
    if found.is_none() {
        if let (Some(r), Some(t)) = (number("ratelimit-remaining"), number("ratelimit-reset")) {
            found = Some((r, t, number("ratelimit-limit"), "RateLimit-Remaining"));
        }
    }
    let (remaining, secs, limit, source) = found?;
    let secs = secs.min(24 * 3600);
    let until_ms = now_ms.saturating_add(secs * 1000);
    if remaining == 0 {
        return (secs > 0).then(|| ServerLimit::Pause {
            until_ms,
            reason: format!(
                "{source}: 0 requests left for {}",
                crate::duration::human(Duration::from_secs(secs))
            ),
        });
    }
    let low = match limit {
        Some(limit) if limit > 0 => remaining * 10 < limit,
        _ => remaining <= 2,
    };
    if !low || secs == 0 {
        return None;
    }
    Some(ServerLimit::Pace {
        interval_ms: secs * 1000 / remaining,
        until_ms,
        reason: format!(
            "{source}: {remaining} requests left for {}; spacing them out",
            crate::duration::human(Duration::from_secs(secs))
        ),
    })
}

/// Two numeric parameters of a structured field, e.g. `r` and `t` in
/// `"default";r=0;t=30` or `remaining` and `reset` in `limit=10, remaining=0, reset=5`.
fn structured(value: &str, a: &str, b: &str) -> Option<(u64, u64)> {
    Some((param(value, a)?, param(value, b)?))
}

fn param(value: &str, key: &str) -> Option<u64> {
    value
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.trim().trim_matches('"').parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn retry_after_on_429_pauses_the_host() {
        let got =
            parse_rate_limit_headers(429, &HeaderMap::new(), NOW, Some(Duration::from_secs(30)));
        assert!(
            matches!(got, Some(ServerLimit::Pause { until_ms, .. }) if until_ms == NOW + 30_000)
        );
    }

    #[test]
    fn github_style_zero_remaining_pauses_until_the_epoch_reset() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000060"),
        ]);
        assert!(matches!(
            parse_rate_limit_headers(200, &h, NOW, None),
            Some(ServerLimit::Pause { until_ms, .. }) if until_ms == NOW + 60_000
        ));
    }

    #[test]
    fn few_left_spreads_the_rest_until_the_reset() {
        let h = headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "5"),
            ("x-ratelimit-reset", "10"),
        ]);
        assert_eq!(
            parse_rate_limit_headers(200, &h, NOW, None),
            Some(ServerLimit::Pace {
                interval_ms: 2000,
                until_ms: NOW + 10_000,
                reason: "X-RateLimit-Remaining: 5 requests left for 10s; spacing them out".into()
            })
        );
        let plenty = headers(&[
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "4999"),
            ("x-ratelimit-reset", "3600"),
        ]);
        assert_eq!(parse_rate_limit_headers(200, &plenty, NOW, None), None);
    }

    #[test]
    fn every_ietf_draft_form() {
        let forms = [
            headers(&[
                ("ratelimit", "\"default\";r=0;t=7"),
                ("ratelimit-policy", "\"default\";q=10;w=60"),
            ]),
            headers(&[("ratelimit", "limit=10, remaining=0, reset=7")]),
            headers(&[
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "7"),
                ("ratelimit-limit", "10"),
            ]),
        ];
        for h in forms {
            assert!(
                matches!(parse_rate_limit_headers(200, &h, NOW, None), Some(ServerLimit::Pause { until_ms, .. }) if until_ms == NOW + 7_000),
                "{h:?}"
            );
        }
    }

    #[test]
    fn garbage_is_ignored() {
        for h in [
            headers(&[
                ("x-ratelimit-remaining", "none"),
                ("x-ratelimit-reset", "soon"),
            ]),
            headers(&[("ratelimit", ";;;=")]),
            headers(&[("ratelimit", "r=-1;t=abc")]),
        ] {
            assert_eq!(parse_rate_limit_headers(200, &h, NOW, None), None);
        }
    }
}
