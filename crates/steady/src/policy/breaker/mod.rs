//! The circuit breaker: stop calling a host that is down, probe it now and then.
//!
//! Retries help with blips; against a host that is down they multiply the load on it
//! and make every caller wait for a timeout. A breaker watches the outcomes of calls to
//! one host (keyed by scheme, host and port) and, once the host looks down, fails calls
//! at once without touching the network, until a probe shows it is back:
//!
//! - **closed** (normal): outcomes are recorded, one per call (a call's retries are one
//!   outcome, told when it ends). The circuit opens when the failure ratio over the
//!   last `window` (a time window) reaches `failure_ratio`, judged once it holds at
//!   least `min_calls` calls and the failures are of at least two URLs (paths) or
//!   nothing succeeded (one broken endpoint is not a host that is down), or when at
//!   least `consecutive_failures` calls in a row failed over at least `streak_span`
//!   (nothing but failures for that long: the host is down, however busy or quiet the
//!   client);
//! - **open**: calls fail fast (layer `guard`, exit code 8) for `open_for`;
//! - **half-open**: up to `probes` calls go through; a success closes the circuit, a
//!   failure opens it again for twice as long as last time, up to `open_max`.
//!
//! What counts as a failure: transport faults and timeouts, 5xx, 429. A 4xx never does
//! (it is the caller's mistake, and proves the host is up); semantic failures count
//! only when [`Breaker::count_semantic`] says so.
//!
//! Defaults, and why: a 10s window judged from 20 calls at a 50% ratio (a real
//! majority of a meaningful sample, as resilience4j's time-based window); 5 failures
//! in a row spanning at least 2s (a blip shorter than that is ridden out by retries,
//! not turned into seconds of fast failures; a busy client facing a dead host trips
//! after 2s; a cron job calling once a minute trips on its second run); open for 2s at first, doubling with each failed probe up to 5 minutes: most
//! outages of a remote API are blips, and a probe costs one request, so a blip costs
//! a couple of seconds of fast failures while a dead host gets one request at 2s, 6s,
//! 14s, 30s, ... and then one every 5 minutes; one probe at a time (a struggling
//! service gets one request, not a burst).
//!
//! The state is plain data ([`BreakerState`]) so that it can live in memory or in a
//! file shared by processes (`--state`), and time is passed in, so tests drive it with
//! a fake clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::seconds::Seconds;

/// Circuit breaker settings. See the [module docs](self) for defaults and reasons.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Breaker {
    pub(crate) consecutive_failures: u32,
    pub(crate) streak_span: Duration,
    pub(crate) failure_ratio: f64,
    pub(crate) window: Duration,
    pub(crate) min_calls: u32,
    pub(crate) open_for: Duration,
    pub(crate) open_max: Duration,
    pub(crate) probes: u32,
    pub(crate) count_semantic: bool,
    pub(crate) quorum: u32,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            consecutive_failures: 5,
            streak_span: Duration::from_secs(2),
            failure_ratio: 0.5,
            window: Duration::from_secs(10),
            min_calls: 20,
            open_for: Duration::from_secs(2),
            open_max: Duration::from_secs(300),
            probes: 1,
            count_semantic: false,
            quorum: 1,
        }
    }
}

impl Breaker {
    /// A breaker with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open after this many failures in a row (default 5; 0 turns this rule off)
    /// spanning at least [`Breaker::streak_span`].
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive_failures = n;
        self
    }

    /// How long a streak of failures must last before it opens the circuit (default
    /// 2s; zero: the count alone decides).
    pub fn streak_span(mut self, span: Duration) -> Self {
        self.streak_span = span;
        self
    }

    /// Open when this share of the calls in the window failed (default 0.5).
    pub fn failure_ratio(mut self, ratio: f64) -> Self {
        self.failure_ratio = ratio.clamp(0.0, 1.0);
        self
    }

    /// How far back the ratio looks (default 10s, in one-second slots) and how many
    /// calls it needs before it judges (default 20).
    pub fn window(mut self, window: Duration, min_calls: u32) -> Self {
        self.window = window.max(Duration::from_secs(1));
        self.min_calls = min_calls.max(1);
        self
    }

    /// How long the circuit stays open the first time (default 2s), and the most it
    /// stays open after repeated failed probes (default 5m); each failed probe doubles it.
    pub fn open_for(mut self, first: Duration, max: Duration) -> Self {
        self.open_for = first;
        self.open_max = max.max(first);
        self
    }

    /// Calls let through while half-open (default 1).
    pub fn probes(mut self, n: u32) -> Self {
        self.probes = n.max(1);
        self
    }

    /// Opens only when at least `k` distinct clients (processes sharing the state, with
    /// `--state`) saw failures within the window (default 1: any). With a fleet
    /// sharing Redis, one bad node (a broken network path, a misconfigured pod) then
    /// cannot trip the circuit for everyone. A failed probe reopens it regardless.
    pub fn quorum(mut self, k: u32) -> Self {
        self.quorum = k.max(1);
        self
    }

    /// Whether semantic failures (a 2xx with the wrong content) count against the
    /// host (default false: the host answered; the content is another matter).
    pub fn count_semantic(mut self, yes: bool) -> Self {
        self.count_semantic = yes;
        self
    }
}

/// The phase of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Calls go through.
    #[default]
    Closed,
    /// Calls fail fast.
    Open,
    /// A few probes go through.
    HalfOpen,
}

impl Phase {
    /// `closed`, `open` or `half_open`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half_open",
        }
    }
}

/// What a call's outcome means to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    Success,
    Failure,
}

/// The state of one host's circuit: plain data, times in wall-clock milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakerState {
    pub(crate) phase: Phase,
    /// `(second, calls, failures)` for the last seconds, oldest first.
    pub(crate) window: Seconds,
    pub(crate) consecutive: u32,
    /// When the current streak of failures began.
    #[serde(default)]
    pub(crate) streak_since_ms: u64,
    /// When the current phase began.
    pub(crate) since_ms: u64,
    /// How long the circuit stays open this time.
    pub(crate) open_for_ms: u64,
    /// Failed probes since the circuit last closed.
    pub(crate) reopened: u32,
    /// Probes let through in this half-open phase, and when the last one started.
    pub(crate) probes_out: u32,
    pub(crate) probe_started_ms: u64,
    /// Why the circuit opened.
    pub(crate) reason: String,
    /// The URLs (path hashes) that failed lately, one entry each with its second, at
    /// most 8: the ratio rule needs failures of two URLs (or no success at all), so
    /// one broken endpoint never opens the circuit for a host that serves the rest.
    #[serde(default)]
    pub(crate) failed_urls: Vec<(u64, u64)>,
    /// The clients that saw failures lately, one entry each with its second, at most
    /// 16: for [`Breaker::quorum`].
    #[serde(default)]
    pub(crate) failed_clients: Vec<(u64, u64)>,
    /// When a call last succeeded (wall clock, ms): a call waiting for the retry
    /// budget goes on once the host answers others again.
    #[serde(default)]
    pub(crate) last_success_ms: u64,
}

/// URLs remembered for the ratio rule.
const FAILED_URLS: usize = 8;

/// The breaker's answer to "may this call go?".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Admission {
    Go {
        probe: bool,
    },
    Refused {
        since_ms: u64,
        reason: String,
        probe_at_ms: u64,
    },
}

/// A change of phase, for the log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transition {
    pub(crate) from: Phase,
    pub(crate) to: Phase,
    pub(crate) message: String,
}

impl BreakerState {
    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the phase began (wall clock, milliseconds since the epoch).
    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// Failures and calls in the current window.
    pub fn window_failures(&self) -> (u32, u32) {
        let (calls, failures) = self.window.totals();
        (failures, calls)
    }

    /// Failures in a row.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive
    }

    /// Why the circuit opened (empty while closed).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// When a call to the host last succeeded (the client's wall clock, ms since the
    /// epoch; 0: never). Kept whether or not the client has a breaker, and shared like
    /// the rest of the state: a batch asks it whether its host answered anyone while an
    /// item failed, which tells a host that is down from an item that fails.
    pub fn last_success_ms(&self) -> u64 {
        self.last_success_ms
    }

    /// When an open circuit lets a probe through (wall clock, ms since the epoch).
    pub fn probe_at_ms(&self) -> u64 {
        self.since_ms.saturating_add(self.open_for_ms)
    }

    /// May a call go at `now_ms`? Moves an open circuit whose time is up to
    /// half-open and counts the probe.
    pub(crate) fn admit(&mut self, cfg: &Breaker, now_ms: u64) -> (Admission, Option<Transition>) {
        match self.phase {
            Phase::Closed => (Admission::Go { probe: false }, None),
            Phase::Open if now_ms < self.probe_at_ms() => (self.refused(), None),
            Phase::Open => {
                self.phase = Phase::HalfOpen;
                self.since_ms = now_ms;
                self.probes_out = 1;
                self.probe_started_ms = now_ms;
                let t = Transition {
                    from: Phase::Open,
                    to: Phase::HalfOpen,
                    message: "half-open: letting a probe through".into(),
                };
                (Admission::Go { probe: true }, Some(t))
            }
            Phase::HalfOpen => {
                // A probe that never reported (its process died) frees its place after
                // one open period.
                let stale =
                    now_ms.saturating_sub(self.probe_started_ms) > self.open_for_ms.max(1000);
                if self.probes_out < cfg.probes || stale {
                    self.probes_out = if stale { 1 } else { self.probes_out + 1 };
                    self.probe_started_ms = now_ms;
                    (Admission::Go { probe: true }, None)
                } else {
                    (
                        Admission::Refused {
                            since_ms: self.since_ms,
                            reason: format!(
                                "{} (half-open: a probe is already in flight)",
                                self.reason
                            ),
                            probe_at_ms: self
                                .probe_started_ms
                                .saturating_add(self.open_for_ms.max(1000)),
                        },
                        None,
                    )
                }
            }
        }
    }

    fn refused(&self) -> Admission {
        Admission::Refused {
            since_ms: self.since_ms,
            reason: self.reason.clone(),
            probe_at_ms: self.probe_at_ms(),
        }
    }

    /// Records a call's outcome at `now_ms`, for any URL of the host.
    #[cfg(test)]
    pub(crate) fn record(
        &mut self,
        cfg: &Breaker,
        health: Health,
        now_ms: u64,
    ) -> Option<Transition> {
        self.record_url(cfg, health, 0, 0, now_ms)
    }

    /// Records the outcome at `now_ms` of a call to the URL whose path hashes to `url`.
    pub(crate) fn record_url(
        &mut self,
        cfg: &Breaker,
        health: Health,
        url: u64,
        client: u64,
        now_ms: u64,
    ) -> Option<Transition> {
        let failed = health == Health::Failure;
        if !failed {
            self.last_success_ms = self.last_success_ms.max(now_ms);
        }
        match self.phase {
            Phase::HalfOpen => {
                self.probes_out = self.probes_out.saturating_sub(1);
                if failed {
                    self.reopened += 1;
                    let factor = 2u64.saturating_pow(self.reopened.min(20));
                    let open_for = (cfg.open_for.as_millis() as u64)
                        .saturating_mul(factor)
                        .min(cfg.open_max.as_millis() as u64);
                    self.reason = "the probe failed".into();
                    Some(self.open(now_ms, open_for))
                } else {
                    self.close(now_ms);
                    Some(Transition {
                        from: Phase::HalfOpen,
                        to: Phase::Closed,
                        message: "closed: the probe succeeded".into(),
                    })
                }
            }
            // Outcomes of calls admitted before the circuit opened change nothing.
            Phase::Open => None,
            Phase::Closed => {
                let (calls, failures) = self.window.at(now_ms, cfg.window.as_secs());
                *calls += 1;
                *failures += u32::from(failed);
                if !failed {
                    self.consecutive = 0;
                    return None;
                }
                if self.consecutive == 0 {
                    self.streak_since_ms = now_ms;
                }
                self.consecutive += 1;
                let now_s = now_ms / 1000;
                let oldest = now_s.saturating_sub(cfg.window.as_secs().max(1) - 1);
                self.failed_urls
                    .retain(|(s, u)| *u != url && *s >= oldest && *s <= now_s + 1);
                if self.failed_urls.len() >= FAILED_URLS {
                    self.failed_urls.remove(0);
                }
                self.failed_urls.push((now_s, url));
                self.failed_clients
                    .retain(|(s, c)| *c != client && *s >= oldest && *s <= now_s + 1);
                if self.failed_clients.len() >= 16 {
                    self.failed_clients.remove(0);
                }
                self.failed_clients.push((now_s, client));
                if (self.failed_clients.len() as u32) < cfg.quorum {
                    return None;
                }
                let (failures, calls) = self.window_failures();
                let streak = Duration::from_millis(now_ms.saturating_sub(self.streak_since_ms));
                let more_than_one_url = self.failed_urls.len() >= 2 || failures == calls;
                if calls >= cfg.min_calls
                    && more_than_one_url
                    && f64::from(failures) >= cfg.failure_ratio * f64::from(calls)
                {
                    self.reason = format!(
                        "{failures} of {calls} calls in the last {} failed",
                        crate::duration::human(cfg.window)
                    );
                } else if cfg.consecutive_failures > 0
                    && self.consecutive >= cfg.consecutive_failures
                    && streak >= cfg.streak_span
                {
                    self.reason = format!(
                        "{} calls in a row failed over {}",
                        self.consecutive,
                        crate::duration::human(streak)
                    );
                } else {
                    return None;
                }
                if cfg.quorum > 1 {
                    self.reason
                        .push_str(&format!(" (seen by {} clients)", self.failed_clients.len()));
                }
                Some(self.open(now_ms, cfg.open_for.as_millis() as u64))
            }
        }
    }

    fn open(&mut self, now_ms: u64, open_for_ms: u64) -> Transition {
        let from = self.phase;
        self.phase = Phase::Open;
        self.since_ms = now_ms;
        self.open_for_ms = open_for_ms;
        self.probes_out = 0;
        Transition {
            from,
            to: Phase::Open,
            message: format!(
                "opened: {}; failing fast for {}",
                self.reason,
                crate::duration::human(Duration::from_millis(open_for_ms))
            ),
        }
    }

    fn close(&mut self, now_ms: u64) {
        *self = BreakerState {
            since_ms: now_ms,
            last_success_ms: self.last_success_ms,
            ..BreakerState::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn fail(state: &mut BreakerState, cfg: &Breaker, now: u64) -> Option<Transition> {
        state.record(cfg, Health::Failure, now)
    }

    #[test]
    fn opens_after_consecutive_failures_spanning_two_seconds() {
        let cfg = Breaker::new();
        let mut st = BreakerState::default();
        for i in 0..4 {
            assert_eq!(fail(&mut st, &cfg, i * 500), None);
        }
        let t = fail(&mut st, &cfg, 2_000).unwrap();
        assert_eq!(t.to, Phase::Open);
        assert!(
            t.message.contains("5 calls in a row failed over 2s"),
            "{}",
            t.message
        );
        assert!(matches!(st.admit(&cfg, 2_001).0, Admission::Refused { .. }));
    }

    #[test]
    fn a_burst_of_failures_shorter_than_the_span_does_not_open() {
        let cfg = Breaker::new();
        let mut st = BreakerState::default();
        for i in 0..15 {
            assert_eq!(fail(&mut st, &cfg, i * 100), None, "call {i}");
        }
        assert!(
            fail(&mut st, &cfg, 2_000).is_some(),
            "still failing after 2s: open"
        );
    }

    #[test]
    fn opens_on_the_failure_ratio_only_with_enough_calls() {
        let cfg = Breaker::new()
            .consecutive_failures(0)
            .window(Duration::from_secs(10), 6)
            .failure_ratio(0.5);
        let mut st = BreakerState::default();
        // success, failure alternating: 50% once 6 calls are in.
        let mut opened_at = None;
        for i in 0..10u64 {
            let health = if i % 2 == 0 {
                Health::Success
            } else {
                Health::Failure
            };
            if let Some(t) = st.record_url(&cfg, health, i % 4, 0, i * 100) {
                opened_at = Some((i, t.message));
                break;
            }
        }
        let (at, message) = opened_at.unwrap();
        assert_eq!(at, 5, "the 6th call makes 3 of 6");
        assert!(
            message.contains("3 of 6 calls in the last 10s failed"),
            "{message}"
        );
    }

    #[test]
    fn a_busy_client_rides_out_a_blip_and_trips_on_an_outage() {
        let cfg = Breaker::new();
        let mut st = BreakerState::default();
        let mut now = 0;
        // 8s of healthy traffic at 50 calls a second ...
        for _ in 0..400 {
            now += 20;
            assert_eq!(st.record(&cfg, Health::Success, now), None);
        }
        // ... then a 1.5s blip: 75 failures in a row, a minority of the window.
        for _ in 0..75 {
            now += 20;
            assert_eq!(st.record(&cfg, Health::Failure, now), None);
        }
        assert_eq!(st.phase(), Phase::Closed);
        st.record(&cfg, Health::Success, now);
        // A real outage: nothing but failures for 2s opens the circuit.
        let mut tripped = None;
        for i in 0..400 {
            now += 20;
            if let Some(t) = st.record(&cfg, Health::Failure, now) {
                tripped = Some((i, t));
                break;
            }
        }
        let (i, t) = tripped.unwrap();
        assert_eq!(i, 100, "2s at 50 calls a second");
        assert!(
            t.message.contains("101 calls in a row failed over 2s"),
            "{}",
            t.message
        );
    }

    #[test]
    fn the_window_forgets_old_seconds() {
        let cfg = Breaker::new()
            .consecutive_failures(0)
            .window(Duration::from_secs(2), 4);
        let mut st = BreakerState::default();
        for t in [0, 100, 200] {
            st.record(&cfg, Health::Failure, t);
        }
        assert_eq!(st.window_failures(), (3, 3));
        st.record(&cfg, Health::Success, 5_000);
        assert_eq!(st.window_failures(), (0, 1));
    }

    #[test]
    fn half_open_admits_one_probe_then_closes_on_success() {
        let cfg = Breaker::new()
            .consecutive_failures(1)
            .streak_span(Duration::ZERO)
            .open_for(Duration::from_secs(30), Duration::from_secs(300));
        let mut st = BreakerState::default();
        fail(&mut st, &cfg, 0);
        assert!(
            matches!(st.admit(&cfg, 29 * S).0, Admission::Refused { probe_at_ms, .. } if probe_at_ms == 30 * S)
        );
        let (admission, t) = st.admit(&cfg, 30 * S);
        assert_eq!(admission, Admission::Go { probe: true });
        assert_eq!(t.unwrap().to, Phase::HalfOpen);
        assert!(
            matches!(st.admit(&cfg, 30 * S + 1).0, Admission::Refused { .. }),
            "one probe at a time"
        );
        let t = st.record(&cfg, Health::Success, 30 * S + 5).unwrap();
        assert_eq!(t.to, Phase::Closed);
        assert_eq!(st.admit(&cfg, 30 * S + 6).0, Admission::Go { probe: false });
        assert_eq!(st.window_failures(), (0, 0));
    }

    #[test]
    fn a_failed_probe_reopens_for_longer_up_to_the_cap() {
        let cfg = Breaker::new()
            .consecutive_failures(1)
            .streak_span(Duration::ZERO)
            .open_for(Duration::from_secs(30), Duration::from_secs(100));
        let mut st = BreakerState::default();
        fail(&mut st, &cfg, 0);
        let mut now = 0;
        let mut periods = Vec::new();
        for _ in 0..4 {
            now = st.probe_at_ms();
            assert_eq!(st.admit(&cfg, now).0, Admission::Go { probe: true });
            let t = fail(&mut st, &cfg, now).unwrap();
            assert_eq!(t.to, Phase::Open);
            periods.push(st.open_for_ms / S);
        }
        assert_eq!(periods, [60, 100, 100, 100]);
        assert!(now > 0);
    }

    #[test]
    fn a_probe_that_never_reports_frees_its_place() {
        let cfg = Breaker::new()
            .consecutive_failures(1)
            .streak_span(Duration::ZERO)
            .open_for(Duration::from_secs(30), Duration::from_secs(300));
        let mut st = BreakerState::default();
        fail(&mut st, &cfg, 0);
        assert_eq!(st.admit(&cfg, 30 * S).0, Admission::Go { probe: true });
        assert!(matches!(
            st.admit(&cfg, 31 * S).0,
            Admission::Refused { .. }
        ));
        assert_eq!(st.admit(&cfg, 61 * S).0, Admission::Go { probe: true });
    }

    #[test]
    fn one_failing_url_among_successes_never_opens_the_circuit() {
        let cfg = Breaker::new().window(Duration::from_secs(10), 10);
        let mut st = BreakerState::default();
        // Two calls in three fail, all to one URL; the third, to others, succeed.
        for i in 0..60u64 {
            let t = if i % 3 == 2 {
                st.record_url(&cfg, Health::Success, 100 + i, 0, i * 50)
            } else {
                st.record_url(&cfg, Health::Failure, 7, 0, i * 50)
            };
            assert_eq!(t, None, "call {i}");
        }
        // A second failing URL makes it the host's trouble.
        let t = st.record_url(&cfg, Health::Failure, 8, 0, 3_000).unwrap();
        assert!(
            t.message.contains("calls in the last 10s failed"),
            "{}",
            t.message
        );
    }

    #[test]
    fn with_a_quorum_one_client_alone_never_opens_the_circuit() {
        let cfg = Breaker::new().streak_span(Duration::ZERO).quorum(2);
        let mut st = BreakerState::default();
        for i in 0..20 {
            assert_eq!(
                st.record_url(&cfg, Health::Failure, 1, 7, i * 10),
                None,
                "client 7 alone"
            );
        }
        let t = st.record_url(&cfg, Health::Failure, 1, 8, 300).unwrap();
        assert!(t.message.contains("(seen by 2 clients)"), "{}", t.message);
    }

    #[test]
    fn successes_reset_the_streak() {
        let cfg = Breaker::new().window(Duration::from_secs(10), 100);
        let mut st = BreakerState::default();
        for i in 0..20 {
            fail(&mut st, &cfg, i);
            fail(&mut st, &cfg, i);
            st.record(&cfg, Health::Success, i);
        }
        assert_eq!(st.phase(), Phase::Closed);
    }
}
