//! Adaptive concurrency: as many calls in flight to a host as it can serve, no more.
//!
//! A fixed `--concurrency 64` is wrong twice: too high for a server with room for 8
//! (56 of every 64 requests are turned away, retried, turned away again, and the
//! retries keep the server saturated), too low for one that could take 200. The right
//! number is the server's, it changes during the run, and nobody knows it in advance.
//! So steady finds it, per host (scheme, host and port), the way TCP finds the
//! bandwidth of a path and Netflix's concurrency-limits, Envoy's adaptive concurrency
//! filter and failsafe-go's adaptive limiter find a service's capacity:
//!
//! - **slow start**: the limit begins small ([`AdaptiveConcurrency::initial`], 4) and
//!   grows by one for each call that succeeds while the limit was in use, doubling
//!   every round trip, until the first sign of overload;
//! - **additive increase**: after that it grows by half a call per round trip (one
//!   per two limits' worth of successes), probing slowly for room;
//! - **multiplicative decrease**: a sign of overload cuts it to 0.7 of itself (the
//!   first cut, ending slow start, halves it), once per round trip: answers to
//!   requests sent before the cut do not cut again, and the limit holds while the
//!   answers after the cut show whether it helped. Signs of overload: `503`, `429`,
//!   `504`, a timeout, or latency risen well above the host's unloaded latency (the
//!   recent average more than twice the lowest of the last 20 seconds and more than
//!   10 ms above it: a server with a backlog queues instead of refusing);
//! - **noise is not load**: a flaky backend that fails one call in five at any
//!   concurrency would otherwise drive the limit to 1 (TCP's trouble on lossy links).
//!   When a cut does not halve the share of overload answers (the 64 answers after
//!   it against the 64 before), and it stays under half, the cut is undone, and from
//!   then on only a share clearly above that one (half as much again, 10 points at
//!   least) cuts. More than half the answers overloaded always cuts.
//!
//! The limit never drops below [`AdaptiveConcurrency::min`] (1) nor rises above
//! [`AdaptiveConcurrency::max`]. A call waits for a place before each attempt, within
//! its deadline, and gives it back when the attempt ends. Off by default for a
//! [`Client`](crate::Client) (opt in with
//! [`ClientBuilder::adaptive_concurrency`](crate::ClientBuilder::adaptive_concurrency));
//! on by default in `steady batch`, with `--concurrency` as the maximum.
//!
//! Hand-written: the crates that limit concurrency (tower's `ConcurrencyLimit`,
//! `tokio::sync::Semaphore`) have fixed limits; the adaptive ones are services of
//! other stacks (Envoy, Java, Go). The algorithm is small, and its state is plain data
//! driven by the caller's clock, so tests step it without sleeping.

mod aimd;
mod hosts;
pub(crate) mod stage;

pub use aimd::Signal;
pub(crate) use aimd::Window;
pub(crate) use hosts::{Limits, Permit};

use std::time::Duration;

/// Adaptive concurrency settings. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use]
pub struct AdaptiveConcurrency {
    pub(crate) initial: u32,
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) decrease: f64,
    pub(crate) latency_ratio: f64,
    pub(crate) latency_margin: Duration,
}

impl AdaptiveConcurrency {
    /// At most `max` calls in flight per host (at least 1), starting from 4 (or `max`
    /// if lower).
    pub fn new(max: u32) -> Self {
        let max = max.max(1);
        AdaptiveConcurrency {
            initial: 4.min(max),
            min: 1,
            max,
            decrease: 0.7,
            latency_ratio: 2.0,
            latency_margin: Duration::from_millis(10),
        }
    }

    /// The limit a host starts with (default 4, within `min..=max`).
    pub fn initial(mut self, n: u32) -> Self {
        self.initial = n;
        self
    }

    /// The lowest the limit goes (default 1).
    pub fn min(mut self, n: u32) -> Self {
        self.min = n.max(1);
        self
    }

    /// The highest the limit goes.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// What a sign of overload multiplies the limit by (default 0.7; kept within
    /// 0.1 to 0.95).
    pub fn decrease(mut self, factor: f64) -> Self {
        self.decrease = factor.clamp(0.1, 0.95);
        self
    }

    /// When rising latency counts as overload: the recent average above `ratio` times
    /// the lowest latency of the last 20s and more than `margin` above it (default 2.0
    /// and 10ms). A ratio of 0 turns the latency signal off.
    pub fn latency(mut self, ratio: f64, margin: Duration) -> Self {
        self.latency_ratio = ratio.max(0.0);
        self.latency_margin = margin;
        self
    }

    fn start(&self) -> f64 {
        let min = self.min.min(self.max);
        f64::from(self.initial.clamp(min, self.max))
    }
}

/// What a host's limit has been: for a progress line and a summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LimitStats {
    /// The limit now (calls in flight allowed).
    pub limit: u32,
    /// Calls in flight now.
    pub in_flight: u32,
    /// The lowest the limit was.
    pub lowest: u32,
    /// The highest the limit was.
    pub highest: u32,
    /// Signs of overload that cut the limit.
    pub decreases: u64,
}
