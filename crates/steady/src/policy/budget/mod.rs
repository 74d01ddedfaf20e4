//! The retry budget: retries may add only a bounded share of load on top of first
//! attempts.
//!
//! Why budgets and not only a maximum of retries per call? Three retries per call are
//! harmless when one call in a hundred fails and a fourfold load when all of them do:
//! exactly when the service is down and can least take it. A budget caps retries as a
//! share of first attempts over a sliding window, so a healthy client retries freely
//! and a client facing an outage falls back to about one extra request in five (Envoy
//! retry budgets, Finagle and tower's `TpsBudget`, the AWS SDKs' retry quota, gRPC
//! retry throttling all follow this idea). Hedged requests spend the same budget.
//!
//! A retry is allowed while the retries in the last `window` stay under
//! `floor + ratio x first attempts`. Defaults: ratio 0.2 (at most ~20% extra load) and,
//! as Finagle's budget, a floor of 10 retries a second (100 in the 10s window), so
//! that the budget bites only under load: a quiet client, or a service calling three
//! paths of one host a few times a second, retries its rare failures freely, and a
//! client sending hundreds of calls a second into an outage adds about 20%.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::seconds::Seconds;

/// Retry budget settings. See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct RetryBudget {
    pub(crate) ratio: f64,
    pub(crate) floor: Floor,
    pub(crate) window: Duration,
}

/// The retries always allowed, however quiet the client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Floor {
    /// So many a second (scaled by the window).
    PerSecond(u32),
    /// So many per window.
    PerWindow(u32),
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            ratio: 0.2,
            floor: Floor::PerSecond(10),
            window: Duration::from_secs(10),
        }
    }
}

impl RetryBudget {
    /// A budget with the defaults: 20% of first attempts plus 10 retries a second,
    /// over a 10s window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Retries allowed per first attempt (default 0.2).
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio.max(0.0);
        self
    }

    /// Retries always allowed per second, whatever the traffic (default 10, as
    /// Finagle's `minRetriesPerSec`): the budget bites only when the retries of a
    /// host outrun both this and the ratio.
    pub fn min_per_second(mut self, n: u32) -> Self {
        self.floor = Floor::PerSecond(n);
        self
    }

    /// Retries always allowed per window, whatever the traffic, instead of
    /// [`RetryBudget::min_per_second`] (`min_retries(2)` with `ratio(0.0)`: two
    /// retries per window, for a test or a strict setting).
    pub fn min_retries(mut self, n: u32) -> Self {
        self.floor = Floor::PerWindow(n);
        self
    }

    /// The retries always allowed per window.
    pub(crate) fn min_retries_per_window(&self) -> u32 {
        match self.floor {
            Floor::PerSecond(n) => n.saturating_mul(self.slots() as u32),
            Floor::PerWindow(n) => n,
        }
    }

    /// The sliding window (default 10s, counted in one-second slots).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    fn slots(&self) -> u64 {
        self.window.as_secs().max(1)
    }
}

/// One host's budget: first attempts and retries per second, for the last seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    /// `(second, first attempts, retries)`, oldest first.
    pub(crate) slots: Seconds,
}

impl BudgetState {
    /// First attempts and retries in the window.
    pub fn counts(&self) -> (u32, u32) {
        self.slots.totals()
    }

    /// Counts a first attempt.
    pub(crate) fn deposit(&mut self, cfg: &RetryBudget, now_ms: u64) {
        *self.slots.at(now_ms, cfg.slots()).0 += 1;
    }

    /// Takes one retry from the budget if there is one; `Err` says why not.
    pub(crate) fn withdraw(&mut self, cfg: &RetryBudget, now_ms: u64) -> Result<(), String> {
        self.slots.trim(now_ms, cfg.slots());
        let (firsts, retries) = self.counts();
        let floor = cfg.min_retries_per_window();
        let allowed = f64::from(floor) + cfg.ratio * f64::from(firsts);
        if f64::from(retries) + 1.0 > allowed {
            return Err(format!(
                "the retry budget is spent: {retries} retries in the last {} against {firsts} first attempts (allowed: {floor} + {:.0}% of first attempts)",
                crate::duration::human(cfg.window),
                cfg.ratio * 100.0
            ));
        }
        *self.slots.at(now_ms, cfg.slots()).1 += 1;
        Ok(())
    }

    /// Counts a retry the budget did not allow (the host recovered meanwhile).
    pub(crate) fn force(&mut self, cfg: &RetryBudget, now_ms: u64) {
        *self.slots.at(now_ms, cfg.slots()).1 += 1;
    }

    /// When a retry refused at `now_ms` would be allowed, as the oldest seconds leave
    /// the window (wall clock, ms); `None` when the budget can never allow one (no
    /// floor and nothing left to leave).
    pub(crate) fn next_allowed_ms(&self, cfg: &RetryBudget, now_ms: u64) -> Option<u64> {
        let (mut firsts, mut retries) = self.counts();
        let floor = f64::from(cfg.min_retries_per_window());
        let allowed = |firsts: u32, retries: u32| {
            f64::from(retries) + 1.0 <= floor + cfg.ratio * f64::from(firsts)
        };
        if allowed(firsts, retries) {
            return Some(now_ms);
        }
        for (second, f, r) in self.slots.iter() {
            firsts -= f;
            retries -= r;
            if allowed(firsts, retries) {
                // The second leaves a window of `slots` seconds once that many more began.
                return Some(((second + cfg.slots()) * 1000).max(now_ms));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_floor_is_ten_a_second_so_low_traffic_keeps_its_retries() {
        // Three paths of one host, 8 first attempts and 11 retries in 10s: the case a
        // floor of 10 per window refused.
        let cfg = RetryBudget::new();
        let mut b = BudgetState::default();
        for _ in 0..8 {
            b.deposit(&cfg, 0);
        }
        for _ in 0..11 {
            b.withdraw(&cfg, 0).unwrap();
        }
        // 100 + 20% of 8 = 101.6 in the window.
        let allowed = 11 + (0..200).take_while(|_| b.withdraw(&cfg, 0).is_ok()).count();
        assert_eq!(allowed, 101);
        let err = b.withdraw(&cfg, 0).unwrap_err();
        assert!(
            err.contains("(allowed: 100 + 20% of first attempts)"),
            "{err}"
        );
    }

    #[test]
    fn a_quiet_client_gets_the_floor() {
        let cfg = RetryBudget::new().min_retries(10);
        let mut b = BudgetState::default();
        b.deposit(&cfg, 0);
        for _ in 0..10 {
            b.withdraw(&cfg, 0).unwrap();
        }
        let err = b.withdraw(&cfg, 0).unwrap_err();
        assert!(
            err.contains("10 retries in the last 10s against 1 first attempts"),
            "{err}"
        );
    }

    #[test]
    fn retries_grow_with_traffic_at_the_ratio() {
        let cfg = RetryBudget::new().min_retries(0);
        let mut b = BudgetState::default();
        for _ in 0..100 {
            b.deposit(&cfg, 5_000);
        }
        let allowed = (0..100)
            .take_while(|_| b.withdraw(&cfg, 5_000).is_ok())
            .count();
        assert_eq!(allowed, 20);
    }

    #[test]
    fn a_spent_budget_says_when_the_next_retry_is_allowed() {
        let cfg = RetryBudget::new().min_retries(2).ratio(0.0);
        let mut b = BudgetState::default();
        b.withdraw(&cfg, 1_200).unwrap();
        b.withdraw(&cfg, 3_500).unwrap();
        assert!(b.withdraw(&cfg, 4_000).is_err());
        // The retry of second 1 leaves the 10s window when second 11 begins.
        assert_eq!(b.next_allowed_ms(&cfg, 4_000), Some(11_000));
        b.withdraw(&cfg, 11_000).unwrap();
        let none = RetryBudget::new().min_retries(0).ratio(0.0);
        assert_eq!(BudgetState::default().next_allowed_ms(&none, 0), None);
    }

    #[test]
    fn the_window_slides() {
        let cfg = RetryBudget::new().min_retries(1).ratio(0.0);
        let mut b = BudgetState::default();
        b.withdraw(&cfg, 0).unwrap();
        assert!(
            b.withdraw(&cfg, 9_999).is_err(),
            "still inside the 10s window"
        );
        b.withdraw(&cfg, 10_000).unwrap();
        assert_eq!(b.slots.len(), 1, "old seconds are dropped");
    }
}
