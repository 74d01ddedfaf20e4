//! Rate limits: the client's own pace, and the pace the server asks for.
//!
//! - **Client side** (`--rate 10/s`): requests to one host are spaced evenly, one per
//!   `period / limit` (GCRA with no burst: `10/s` means one every 100ms). Waiting for a
//!   permit counts against the call's deadline; a wait that would pass it fails at once.
//! - **Server side**: a `429` with `Retry-After` pauses the whole host, not only the one
//!   request, because the server's limit is per client, not per request. The
//!   `X-RateLimit-Remaining` / `X-RateLimit-Reset` headers (GitHub style, reset in epoch
//!   seconds) and the IETF `RateLimit` / `RateLimit-Policy` fields (every published
//!   draft form) slow the host down *before* a 429 arrives: at zero remaining the host
//!   pauses until the reset; with less than a tenth of the quota left the remaining
//!   requests are spread evenly until the reset.
//!
//! Hand-written rather than `governor`: the limiter's whole state is one number (the
//! GCRA "theoretical arrival time"), which steady must store in the `--state` file
//! shared by processes and drive with the client's injected clock; governor keeps its
//! state private and reads its own clock.

mod headers;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use headers::{parse_rate_limit_headers, ServerLimit};

/// A client-side rate: `limit` requests per `per`, evenly spaced.
///
/// ```
/// let rate: steady::rate::Rate = "10/s".parse().unwrap();
/// assert_eq!(rate.interval(), std::time::Duration::from_millis(100));
/// assert!("10/fortnight".parse::<steady::rate::Rate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    limit: u32,
    per: Duration,
}

impl Rate {
    /// `limit` requests per `per`.
    pub fn new(limit: u32, per: Duration) -> Self {
        Rate {
            limit: limit.max(1),
            per: per.max(Duration::from_millis(1)),
        }
    }

    /// The time between two requests.
    pub fn interval(&self) -> Duration {
        self.per / self.limit
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s".to_owned(),
            60 => "m".to_owned(),
            3600 => "h".to_owned(),
            _ => crate::duration::human(self.per),
        };
        write!(f, "{}/{unit}", self.limit)
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, unit) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not a rate: expected N/s, N/m or N/h (e.g. 10/s)"))?;
        let limit: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("'{n}' in '{s}' is not a positive whole number"))?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("unknown period '{other}' in '{s}': use s, m or h")),
        };
        Ok(Rate::new(limit, per))
    }
}

/// One host's rate-limit state: plain data, wall-clock milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateState {
    /// The client-side limiter's theoretical arrival time.
    pub(crate) tat_ms: f64,
    /// The host is paused until then, because the server said so.
    pub(crate) paused_until_ms: u64,
    pub(crate) pause_reason: String,
    /// The server asked for this spacing until `pace_until_ms`.
    pub(crate) pace_interval_ms: u64,
    pub(crate) pace_until_ms: u64,
    pub(crate) pace_tat_ms: u64,
    pub(crate) pace_reason: String,
}

impl RateState {
    /// Reserves the next permit under the client-side `rate`; returns the wait.
    pub(crate) fn reserve(&mut self, rate: &Rate, now_ms: u64) -> Duration {
        let now = now_ms as f64;
        let tat = self.tat_ms.max(now);
        self.tat_ms = tat + rate.interval().as_secs_f64() * 1000.0;
        Duration::from_secs_f64(((tat - now) / 1000.0).max(0.0))
    }

    /// The wait the server asked for, if any, with its reason; reserves a paced slot.
    pub(crate) fn server_wait(&mut self, now_ms: u64) -> Option<(Duration, String)> {
        if now_ms < self.paused_until_ms {
            return Some((
                Duration::from_millis(self.paused_until_ms - now_ms),
                self.pause_reason.clone(),
            ));
        }
        if now_ms < self.pace_until_ms && self.pace_interval_ms > 0 {
            let slot = self.pace_tat_ms.max(now_ms);
            self.pace_tat_ms = slot + self.pace_interval_ms;
            if slot > now_ms {
                return Some((
                    Duration::from_millis(slot - now_ms),
                    self.pace_reason.clone(),
                ));
            }
        }
        None
    }

    /// Applies what a response said about the server's limits.
    pub(crate) fn apply(&mut self, limit: &ServerLimit, now_ms: u64) {
        match limit {
            ServerLimit::Pause { until_ms, reason }
                if *until_ms > now_ms && *until_ms > self.paused_until_ms =>
            {
                self.paused_until_ms = *until_ms;
                self.pause_reason = reason.clone();
            }
            ServerLimit::Pace {
                interval_ms,
                until_ms,
                reason,
            } if *until_ms > now_ms => {
                self.pace_interval_ms = *interval_ms;
                self.pace_until_ms = *until_ms;
                self.pace_reason = reason.clone();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_evenly_spaced() {
        let rate: Rate = "10/s".parse().unwrap();
        let mut st = RateState::default();
        let waits: Vec<u128> = (0..4)
            .map(|_| st.reserve(&rate, 1_000).as_millis())
            .collect();
        assert_eq!(waits, [0, 100, 200, 300]);
        // After a quiet second the first request goes at once.
        assert_eq!(st.reserve(&rate, 3_000), Duration::ZERO);
    }

    #[test]
    fn rates_parse_with_their_units() {
        assert_eq!(
            "100/m".parse::<Rate>().unwrap().interval(),
            Duration::from_millis(600)
        );
        assert_eq!(
            "2/h".parse::<Rate>().unwrap().interval(),
            Duration::from_secs(1800)
        );
        assert!("0/s".parse::<Rate>().unwrap_err().contains("positive"));
        assert!("ten".parse::<Rate>().unwrap_err().contains("expected N/s"));
    }

    #[test]
    fn a_server_pause_holds_the_host_then_pacing_spreads_requests() {
        let mut st = RateState::default();
        st.apply(
            &ServerLimit::Pause {
                until_ms: 5_000,
                reason: "429".into(),
            },
            1_000,
        );
        assert_eq!(
            st.server_wait(2_000),
            Some((Duration::from_secs(3), "429".into()))
        );
        assert_eq!(st.server_wait(5_000), None);
        st.apply(
            &ServerLimit::Pace {
                interval_ms: 500,
                until_ms: 10_000,
                reason: "few left".into(),
            },
            5_000,
        );
        assert_eq!(
            st.server_wait(5_000),
            None,
            "the first paced request goes at once"
        );
        assert_eq!(st.server_wait(5_000).unwrap().0, Duration::from_millis(500));
        assert_eq!(st.server_wait(11_000), None, "pacing ends at the reset");
    }
}
