//! Fault specifications: one fault, its knobs, its probability and its schedule.
//!
//! A spec is a comma-separated list of `key[=value]` pairs; the first key names the
//! fault. Hand-written because the grammar is tiny and the errors must name the
//! offending part.
//!
//! | spec | fault |
//! |---|---|
//! | `status=503` | that status with a JSON error body |
//! | `status=429,retry-after=2` | ... with `Retry-After: 2` (`retry-after-date=2` for an HTTP date 2s ahead) |
//! | `latency=200ms` / `latency=200ms..800ms` | delay before answering (then the normal answer) |
//! | `hang` | accept the request, never answer |
//! | `reset` / `reset=mid` | reset the connection before the response / in the middle of the body |
//! | `drip=100ms` | send the body one byte per interval |
//! | `truncate` | close before `Content-Length` is reached |
//! | `error-200` | `200 OK` with `{"error": ...}` |
//! | `bad-json` | `200 OK`, `Content-Type: application/json`, a body that does not parse |
//! | `huge=50MiB` | a body of that size |
//! | `gzip-bomb=100MiB` | a small gzip body that inflates to that size |
//! | `redirect=same` / `redirect=cross` | a 302 to the same URL on this origin / on another origin (`localhost` vs `127.0.0.1`) |
//! | `rate-limit=10/s` | beyond 10 requests per second, `429` with `Retry-After` and rate-limit headers |
//! | `outage=10s,at=5s` | refuse connections from second 5 for 10 seconds |
//! | `flap=3s/1s` | up for 3 seconds, refusing connections for 1, repeatedly |
//! | `capacity=8` | room for 8 requests in flight: one more gets `503` at once (an overloaded server shedding load) |
//! | `capacity=8,queue` | ... one more waits for room instead (queueing latency, as a server with a backlog) |
//!
//! Common knobs: `rate=0.2` (probability, default 1), `at=5s` and `for=10s` (active from
//! second 5 for 10 seconds after start), `path=/items` (only paths starting with it),
//! `first=2` (only the first 2 requests to each target, path and query: an item that
//! fails at most twice, then succeeds).
//! A request counts against `capacity` from when it is read until its answer is
//! written, latency included; `rate` does not apply to it.

use std::fmt;
use std::time::Duration;

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer this status with a JSON error body.
    Status {
        /// The status.
        status: u16,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u64>,
        /// Send `Retry-After` as an HTTP date instead of seconds.
        retry_after_date: bool,
    },
    /// Wait before answering normally; a range draws uniformly.
    Latency {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// Never answer.
    Hang,
    /// Reset the connection before the response.
    Reset,
    /// Reset the connection in the middle of the body.
    ResetMid,
    /// Send the body one byte per interval.
    Drip(Duration),
    /// Close before `Content-Length` is reached.
    Truncate,
    /// `200 OK` with an error object.
    Error200,
    /// `200 OK` with a JSON content type and a body that does not parse.
    BadJson,
    /// A body of this many bytes.
    Huge(u64),
    /// A gzip body that inflates to this many bytes.
    GzipBomb(u64),
    /// A redirect to the same path: same origin, or another origin.
    Redirect {
        /// Another origin (`localhost` instead of `127.0.0.1`).
        cross: bool,
    },
    /// Beyond this many requests per period, answer 429.
    RateLimit {
        /// Requests allowed per period.
        limit: u32,
        /// The period.
        per: Duration,
    },
    /// Refuse connections for this long, starting at `at`.
    Outage(Duration),
    /// Up for the first duration, refusing connections for the second, repeatedly.
    Flap {
        /// Time up.
        up: Duration,
        /// Time down.
        down: Duration,
    },
    /// Room for this many requests in flight; beyond it, `503` at once, or a wait for
    /// room (`queue`).
    Capacity {
        /// Requests in flight at once.
        limit: u32,
        /// Wait for room instead of answering `503`.
        queue: bool,
    },
}

/// One fault with its probability, schedule and path filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// What the fault does.
    pub kind: FaultKind,
    /// Probability per request, 0 to 1 (default 1).
    pub rate: f64,
    /// Active from this long after start (default 0).
    pub at: Duration,
    /// Active for this long (default: for ever).
    pub duration: Option<Duration>,
    /// Only requests whose path starts with this.
    pub path: Option<String>,
    /// Only the first this many requests to each target (path and query): a fault
    /// that an item meets a known number of times at most, then never again.
    pub first: Option<u32>,
    /// The text it was parsed from.
    pub text: String,
}

impl FaultSpec {
    /// A short stable name for logs and stats: `status-503`, `latency`, `reset`, ...
    pub fn name(&self) -> String {
        match &self.kind {
            FaultKind::Status { status, .. } => format!("status-{status}"),
            FaultKind::Latency { .. } => "latency".into(),
            FaultKind::Hang => "hang".into(),
            FaultKind::Reset => "reset".into(),
            FaultKind::ResetMid => "reset-mid".into(),
            FaultKind::Drip(_) => "drip".into(),
            FaultKind::Truncate => "truncate".into(),
            FaultKind::Error200 => "error-200".into(),
            FaultKind::BadJson => "bad-json".into(),
            FaultKind::Huge(_) => "huge".into(),
            FaultKind::GzipBomb(_) => "gzip-bomb".into(),
            FaultKind::Redirect { cross: false } => "redirect-same".into(),
            FaultKind::Redirect { cross: true } => "redirect-cross".into(),
            FaultKind::RateLimit { .. } => "rate-limit".into(),
            FaultKind::Outage(_) => "outage".into(),
            FaultKind::Flap { .. } => "flap".into(),
            FaultKind::Capacity { queue: false, .. } => "capacity".into(),
            FaultKind::Capacity { queue: true, .. } => "capacity-queue".into(),
        }
    }

    /// Whether the fault acts on connections (outage, flap) rather than requests.
    pub fn is_connection_fault(&self) -> bool {
        matches!(self.kind, FaultKind::Outage(_) | FaultKind::Flap { .. })
    }

    /// Whether the schedule has the fault active `since_start` after the server started.
    pub fn active_at(&self, since_start: Duration) -> bool {
        since_start >= self.at
            && self
                .duration
                .is_none_or(|d| since_start < self.at.saturating_add(d))
    }

    /// Whether connections are refused `since_start` after start (outage and flap).
    pub fn refuses_at(&self, since_start: Duration) -> bool {
        match self.kind {
            FaultKind::Outage(d) => {
                since_start >= self.at && since_start < self.at.saturating_add(d)
            }
            FaultKind::Flap { up, down } => {
                if !self.active_at(since_start) {
                    return false;
                }
                let cycle = (up + down).as_nanos().max(1);
                let offset = (since_start - self.at).as_nanos() % cycle;
                offset >= up.as_nanos()
            }
            _ => false,
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

/// Parses a fault spec; the error names the offending part.
pub fn parse(text: &str) -> Result<FaultSpec, String> {
    let mut parts = text.split(',').map(str::trim).filter(|p| !p.is_empty());
    let head = parts
        .next()
        .ok_or_else(|| "empty fault spec: expected e.g. status=503,rate=0.2".to_owned())?;
    let (name, value) = split(head);
    let mut retry_after = None;
    let mut retry_after_date = false;
    let mut rate = 1.0;
    let mut at = Duration::ZERO;
    let mut duration = None;
    let mut path = None;
    let mut first = None;
    let mut queue = false;
    for part in parts {
        let (key, v) = split(part);
        let need = |what: &str| {
            v.ok_or_else(|| format!("'{part}' in fault '{text}' needs a value ({what})"))
        };
        match key {
            "rate" => {
                rate = need("a probability from 0 to 1")?
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("'{part}' in fault '{text}': rate is a probability from 0 to 1"))?;
            }
            "retry-after" | "retry-after-date" => {
                retry_after = Some(need("seconds")?.trim_end_matches('s').parse::<u64>().map_err(|_| {
                    format!("'{part}' in fault '{text}': {key} is a whole number of seconds")
                })?);
                retry_after_date = key == "retry-after-date";
            }
            "at" => at = duration_of(need("a duration")?, part, text)?,
            "for" => duration = Some(duration_of(need("a duration")?, part, text)?),
            "path" => path = Some(need("a path prefix")?.to_owned()),
            "first" => {
                first = Some(
                    need("requests per target")?
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            format!("'{part}' in fault '{text}': first is a positive whole number of requests")
                        })?,
                )
            }
            "queue" if v.is_none() => queue = true,
            other => {
                return Err(format!(
                    "unknown knob '{other}' in fault '{text}': expected rate, at, for, path, first, queue, retry-after or retry-after-date"
                ))
            }
        }
    }
    let need = |what: &str| {
        value.ok_or_else(|| format!("fault '{name}' in '{text}' needs a value ({what})"))
    };
    let kind = match name {
        "status" => {
            let status = need("a status code")?
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| format!("'{head}' in fault '{text}': status is a code from 100 to 599"))?;
            FaultKind::Status {
                status,
                retry_after,
                retry_after_date,
            }
        }
        "latency" => {
            let v = need("a duration or a range like 200ms..800ms")?;
            let (min, max) = match v.split_once("..") {
                Some((a, b)) => (duration_of(a, head, text)?, duration_of(b, head, text)?),
                None => {
                    let d = duration_of(v, head, text)?;
                    (d, d)
                }
            };
            if min > max {
                return Err(format!("'{head}' in fault '{text}': the range goes backwards"));
            }
            FaultKind::Latency { min, max }
        }
        "hang" => FaultKind::Hang,
        "reset" => match value {
            None | Some("before") => FaultKind::Reset,
            Some("mid") => FaultKind::ResetMid,
            Some(other) => {
                return Err(format!("'reset={other}' in fault '{text}': expected reset or reset=mid"))
            }
        },
        "drip" => FaultKind::Drip(duration_of(value.unwrap_or("100ms"), head, text)?),
        "truncate" => FaultKind::Truncate,
        "error-200" => FaultKind::Error200,
        "bad-json" => FaultKind::BadJson,
        "huge" => FaultKind::Huge(size_of(value.unwrap_or("10MiB"), head, text)?),
        "gzip-bomb" => FaultKind::GzipBomb(size_of(value.unwrap_or("100MiB"), head, text)?),
        "redirect" => match value.unwrap_or("same") {
            "same" => FaultKind::Redirect { cross: false },
            "cross" => FaultKind::Redirect { cross: true },
            other => {
                return Err(format!("'redirect={other}' in fault '{text}': expected same or cross"))
            }
        },
        "rate-limit" => {
            let v = need("requests per period, like 10/s")?;
            let (n, unit) = v
                .split_once('/')
                .ok_or_else(|| format!("'{head}' in fault '{text}': expected N/s, N/m or N/h"))?;
            let limit = n
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("'{head}' in fault '{text}': '{n}' is not a positive whole number"))?;
            let per = match unit {
                "s" => Duration::from_secs(1),
                "m" => Duration::from_secs(60),
                "h" => Duration::from_secs(3600),
                other => return Err(format!("'{head}' in fault '{text}': unknown period '{other}', use s, m or h")),
            };
            FaultKind::RateLimit { limit, per }
        }
        "outage" => FaultKind::Outage(duration_of(need("a duration")?, head, text)?),
        "flap" => {
            let v = need("UP/DOWN durations, like 3s/1s")?;
            let (up, down) = v
                .split_once('/')
                .ok_or_else(|| format!("'{head}' in fault '{text}': expected UP/DOWN, like 3s/1s"))?;
            FaultKind::Flap {
                up: duration_of(up, head, text)?,
                down: duration_of(down, head, text)?,
            }
        }
        "capacity" => {
            let v = need("requests in flight, like 8")?;
            let limit = v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("'{head}' in fault '{text}': '{v}' is not a positive whole number"))?;
            FaultKind::Capacity { limit, queue }
        }
        other => {
            return Err(format!(
                "unknown fault '{other}' in '{text}': expected status, latency, hang, reset, drip, truncate, error-200, bad-json, huge, gzip-bomb, redirect, rate-limit, outage, flap or capacity"
            ))
        }
    };
    if queue && !matches!(kind, FaultKind::Capacity { .. }) {
        return Err(format!("queue in fault '{text}' goes with capacity=N"));
    }
    if retry_after.is_some() && !matches!(kind, FaultKind::Status { .. }) {
        return Err(format!(
            "retry-after in fault '{text}' goes with status=..."
        ));
    }
    Ok(FaultSpec {
        kind,
        rate,
        at,
        duration,
        path,
        first,
        text: text.to_owned(),
    })
}

fn split(part: &str) -> (&str, Option<&str>) {
    match part.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (part.trim(), None),
    }
}

/// Durations as `250ms`, `2s`, `1.5m`, or seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("'{s}' is not a duration"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}' has an unknown unit: use ms, s, m or h")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn duration_of(s: &str, part: &str, text: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| format!("'{part}' in fault '{text}': {e}"))
}

fn size_of(s: &str, part: &str, text: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{part}' in fault '{text}': '{s}' is not a size"))?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "'{part}' in fault '{text}': unknown size unit '{other}'"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{part}' in fault '{text}': too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_parse() {
        let s = parse("status=503,rate=0.2").unwrap();
        assert_eq!(s.rate, 0.2);
        assert!(matches!(
            s.kind,
            FaultKind::Status {
                status: 503,
                retry_after: None,
                ..
            }
        ));
        let s = parse("status=429,retry-after=2,rate=0.1").unwrap();
        assert!(matches!(
            s.kind,
            FaultKind::Status {
                status: 429,
                retry_after: Some(2),
                retry_after_date: false
            }
        ));
        let s = parse("latency=200ms..800ms,rate=0.3").unwrap();
        assert_eq!(
            s.kind,
            FaultKind::Latency {
                min: Duration::from_millis(200),
                max: Duration::from_millis(800)
            }
        );
        assert_eq!(parse("reset,rate=0.05").unwrap().kind, FaultKind::Reset);
        assert_eq!(parse("hang,rate=0.01").unwrap().kind, FaultKind::Hang);
        let s = parse("outage=10s,at=5s").unwrap();
        assert_eq!(s.kind, FaultKind::Outage(Duration::from_secs(10)));
        assert!(!s.refuses_at(Duration::from_secs(4)));
        assert!(s.refuses_at(Duration::from_secs(5)));
        assert!(!s.refuses_at(Duration::from_secs(15)));
    }

    #[test]
    fn flapping_alternates() {
        let s = parse("flap=3s/1s").unwrap();
        let down: Vec<bool> = (0..8)
            .map(|t| s.refuses_at(Duration::from_secs(t)))
            .collect();
        assert_eq!(down, [false, false, false, true, false, false, false, true]);
    }

    #[test]
    fn bad_specs_name_the_problem() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("explode")
            .unwrap_err()
            .contains("unknown fault 'explode'"));
        assert!(parse("status=999").unwrap_err().contains("100 to 599"));
        assert!(parse("status=503,rate=2")
            .unwrap_err()
            .contains("probability"));
        assert!(parse("status=503,color=red")
            .unwrap_err()
            .contains("unknown knob 'color'"));
        assert!(parse("latency=2s..1s").unwrap_err().contains("backwards"));
        assert!(parse("rate-limit=10/d")
            .unwrap_err()
            .contains("unknown period"));
        assert!(parse("hang,retry-after=1")
            .unwrap_err()
            .contains("goes with status"));
    }
}
