//! The limit of one host: slow start, additive increase, multiplicative decrease.
//! Plain data; the caller passes the time.

use std::time::{Duration, Instant};

use super::{AdaptiveConcurrency, LimitStats};

/// What an attempt's end says about the host's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// An answer (any status but the overload ones): the host had room.
    Success,
    /// `503`, `429`, `504` or a timeout: the host has no room.
    Overload,
    /// Nothing about load (a refused or reset connection, a cancelled attempt): the
    /// place is given back and the limit stays.
    Neutral,
}

/// How long each of the two buckets of the unloaded-latency minimum lasts.
const MIN_BUCKET: Duration = Duration::from_secs(10);
/// Weight of the newest latency in the recent average.
const RECENT_WEIGHT: f64 = 0.2;

/// One host's window of calls in flight.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    limit: f64,
    in_flight: u32,
    slow_start: bool,
    /// Bumped by each decrease; a place taken before it cannot cut again.
    epoch: u64,
    /// Recent average latency, ms.
    recent: Option<f64>,
    /// Lowest latency in the current and the previous bucket, ms.
    min_now: f64,
    min_before: f64,
    bucket_since: Option<Instant>,
    lowest: u32,
    highest: u32,
    decreases: u64,
}

impl Window {
    pub(crate) fn new(cfg: &AdaptiveConcurrency) -> Self {
        let start = cfg.start();
        Window {
            limit: start,
            in_flight: 0,
            slow_start: true,
            epoch: 0,
            recent: None,
            min_now: f64::INFINITY,
            min_before: f64::INFINITY,
            bucket_since: None,
            lowest: start as u32,
            highest: start as u32,
            decreases: 0,
        }
    }

    /// The whole calls allowed in flight.
    pub(crate) fn limit(&self) -> u32 {
        (self.limit as u32).max(1)
    }

    /// Takes a place if there is one: the epoch it was taken in.
    pub(crate) fn try_acquire(&mut self) -> Option<u64> {
        if self.in_flight < self.limit() {
            self.in_flight += 1;
            Some(self.epoch)
        } else {
            None
        }
    }

    /// Places free now.
    pub(crate) fn room(&self) -> u32 {
        self.limit().saturating_sub(self.in_flight)
    }

    /// Gives a place back, with what its attempt said and how long it took.
    pub(crate) fn release(
        &mut self,
        cfg: &AdaptiveConcurrency,
        epoch: u64,
        signal: Signal,
        latency: Duration,
        now: Instant,
    ) {
        let in_flight = self.in_flight;
        self.in_flight = self.in_flight.saturating_sub(1);
        let overloaded = match signal {
            Signal::Neutral => return,
            Signal::Overload => true,
            Signal::Success => self.latency_risen(cfg, latency, now),
        };
        if overloaded {
            if epoch == self.epoch {
                self.limit = (self.limit * cfg.decrease).max(f64::from(cfg.min.min(cfg.max)));
                self.slow_start = false;
                self.epoch += 1;
                self.decreases += 1;
            }
        } else if f64::from(in_flight) * 2.0 >= self.limit {
            // Grow only on evidence: the limit was at least half in use.
            self.limit += if self.slow_start {
                1.0
            } else {
                0.5 / self.limit
            };
            self.limit = self.limit.min(f64::from(cfg.max));
        }
        let limit = self.limit();
        self.lowest = self.lowest.min(limit);
        self.highest = self.highest.max(limit);
    }

    /// Notes a success's latency; true when the recent average has risen well above
    /// the host's unloaded latency.
    fn latency_risen(
        &mut self,
        cfg: &AdaptiveConcurrency,
        latency: Duration,
        now: Instant,
    ) -> bool {
        let ms = latency.as_secs_f64() * 1000.0;
        match self.bucket_since {
            Some(since) if now.saturating_duration_since(since) < MIN_BUCKET => {
                self.min_now = self.min_now.min(ms);
            }
            _ => {
                self.min_before = self.min_now;
                self.min_now = ms;
                self.bucket_since = Some(now);
            }
        }
        let recent = match self.recent {
            Some(r) => r + RECENT_WEIGHT * (ms - r),
            None => ms,
        };
        self.recent = Some(recent);
        let unloaded = self.min_now.min(self.min_before);
        cfg.latency_ratio > 0.0
            && recent > unloaded * cfg.latency_ratio
            && recent - unloaded > cfg.latency_margin.as_secs_f64() * 1000.0
    }

    pub(crate) fn stats(&self) -> LimitStats {
        LimitStats {
            limit: self.limit(),
            in_flight: self.in_flight,
            lowest: self.lowest,
            highest: self.highest,
            decreases: self.decreases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Calls in flight, oldest first, kept at the limit as a busy client would.
    struct Flight(Vec<u64>);

    impl Flight {
        fn fill(&mut self, w: &mut Window) {
            while let Some(epoch) = w.try_acquire() {
                self.0.push(epoch);
            }
        }

        /// Completes as many calls as the limit was, refilling after each.
        fn round(
            &mut self,
            w: &mut Window,
            cfg: &AdaptiveConcurrency,
            signal: Signal,
            latency: Duration,
            now: Instant,
        ) {
            self.fill(w);
            for _ in 0..w.limit() {
                let epoch = self.0.remove(0);
                w.release(cfg, epoch, signal, latency, now);
                self.fill(w);
            }
        }
    }

    fn round(
        w: &mut Window,
        cfg: &AdaptiveConcurrency,
        signal: Signal,
        latency: Duration,
        now: Instant,
    ) {
        let mut flight = Flight(Vec::new());
        flight.round(w, cfg, signal, latency, now);
        for epoch in flight.0 {
            w.release(cfg, epoch, Signal::Neutral, latency, now);
        }
    }

    #[test]
    fn slow_start_doubles_each_round_up_to_the_maximum() {
        let cfg = AdaptiveConcurrency::new(64);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        let mut flight = Flight(Vec::new());
        let mut limits = vec![w.limit()];
        for _ in 0..6 {
            flight.round(&mut w, &cfg, Signal::Success, 5 * MS, now);
            limits.push(w.limit());
        }
        assert_eq!(limits, [4, 8, 16, 32, 64, 64, 64]);
    }

    #[test]
    fn overload_cuts_once_per_round_then_growth_is_additive() {
        let cfg = AdaptiveConcurrency::new(64).initial(20);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        let mut flight = Flight(Vec::new());
        flight.fill(&mut w);
        // A whole window of 503s: one cut, not twenty.
        for _ in 0..20 {
            let epoch = flight.0.remove(0);
            w.release(&cfg, epoch, Signal::Overload, MS, now);
        }
        assert_eq!(w.limit(), 14);
        assert_eq!(w.stats().decreases, 1);
        // Additive now: half a call per full round.
        let mut limits = Vec::new();
        for _ in 0..4 {
            flight.round(&mut w, &cfg, Signal::Success, 5 * MS, now);
            limits.push(w.limit());
        }
        assert_eq!(limits, [14, 14, 15, 15]);
        let stats = w.stats();
        assert_eq!((stats.lowest, stats.highest), (14, 20));
    }

    #[test]
    fn an_idle_limit_does_not_grow() {
        let cfg = AdaptiveConcurrency::new(64);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        for _ in 0..100 {
            let epoch = w.try_acquire().unwrap();
            w.release(&cfg, epoch, Signal::Success, MS, now);
        }
        assert_eq!(
            w.limit(),
            4,
            "one call at a time proves nothing about room for more"
        );
    }

    #[test]
    fn never_below_the_minimum_and_neutral_outcomes_change_nothing() {
        let cfg = AdaptiveConcurrency::new(8).min(2);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        for _ in 0..20 {
            round(&mut w, &cfg, Signal::Overload, MS, now);
        }
        assert_eq!(w.limit(), 2);
        round(&mut w, &cfg, Signal::Neutral, MS, now);
        assert_eq!((w.limit(), w.stats().in_flight), (2, 0));
    }

    #[test]
    fn queueing_latency_cuts_the_limit_and_noise_on_a_fast_host_does_not() {
        let cfg = AdaptiveConcurrency::new(64).initial(16);
        let now = Instant::now();
        // A fast host whose latency wanders from 0.2 to 6 ms: under the 10 ms margin.
        let mut w = Window::new(&cfg);
        for i in 0..200u64 {
            let epoch = w.try_acquire().unwrap();
            w.release(
                &cfg,
                epoch,
                Signal::Success,
                Duration::from_micros(200 + (i * 997) % 5_800),
                now,
            );
        }
        assert_eq!(w.stats().decreases, 0);
        // A server that queues: 20 ms unloaded, then 45 ms once the backlog builds.
        let mut w = Window::new(&cfg);
        let mut flight = Flight(Vec::new());
        flight.round(&mut w, &cfg, Signal::Success, 20 * MS, now);
        let before = w.limit();
        for _ in 0..3 {
            flight.round(&mut w, &cfg, Signal::Success, 45 * MS, now);
        }
        assert!(w.limit() < before, "{} from {before}", w.limit());
        assert!(w.stats().decreases >= 1);
    }
}
