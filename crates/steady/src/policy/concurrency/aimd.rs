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
/// Outcomes remembered for the share of overload answers, and the outcomes after a
/// cut that judge it.
const OUTCOMES: u32 = 64;

/// A cut for overload answers, waiting to be judged by the outcomes after it.
#[derive(Debug, Clone, Copy)]
struct Judged {
    /// The limit and phase before the first cut of the chain.
    limit: f64,
    slow_start: bool,
    /// The share of overload answers before this cut: over the last 64 answers, or,
    /// early on, after the previous cut of the chain.
    before: Option<f64>,
    /// Answers to calls sent after the last cut, and how many of them were overload.
    after: u32,
    over: u32,
}

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
    /// The last outcomes, one bit each (1: an overload answer), and how many.
    outcomes: u64,
    seen: u32,
    /// The share of overload answers that cutting did not reduce: faults that do not
    /// come from load (a flaky backend), which a cut cannot help.
    noise: f64,
    judged: Option<Judged>,
    since_noise: u32,
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
            outcomes: 0,
            seen: 0,
            noise: 0.0,
            judged: None,
            since_noise: 0,
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
        let (overload, slow) = match signal {
            Signal::Neutral => return,
            Signal::Overload => (true, false),
            Signal::Success => (false, self.latency_risen(cfg, latency, now)),
        };
        self.note(cfg, overload, epoch);
        // An overload answer cuts when answers like it stand out from the noise; rising
        // latency always does (a queue is load by definition).
        let cut = epoch == self.epoch
            && ((overload && self.judged.is_none() && self.share() > self.noise_margin()) || slow);
        if cut {
            if overload {
                self.judged = Some(Judged {
                    limit: self.limit,
                    slow_start: self.slow_start,
                    before: (self.seen >= OUTCOMES / 2).then(|| self.share()),
                    after: 0,
                    over: 0,
                });
            }
            self.cut(cfg);
        } else if !overload && self.judged.is_none() && f64::from(in_flight) * 2.0 >= self.limit {
            // Grow only on evidence: the limit was at least half in use; and not while
            // a cut is being judged, which growth would blur.
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

    fn cut(&mut self, cfg: &AdaptiveConcurrency) {
        // Slow start overshoots by up to one round of doubling: the first cut halves.
        let factor = if self.slow_start {
            cfg.decrease.min(0.5)
        } else {
            cfg.decrease
        };
        self.limit = (self.limit * factor).max(f64::from(cfg.min.min(cfg.max)));
        self.slow_start = false;
        self.epoch += 1;
        self.decreases += 1;
    }

    /// Records the outcome of a call sent in `epoch`, judges the last cut once enough
    /// calls sent after it answered, and lets the noise fade when overload answers
    /// become rarer.
    ///
    /// A cut for overload answers is judged by the answers to the calls sent after it:
    /// hardly any (5% at most) means it helped; more than half means the host is
    /// overloaded whatever else is true, and cutting goes on. In between, they must
    /// have halved against the 64 answers before the cut (early on, against a second
    /// cut's); if not, they are not load (a flaky backend that fails one call in five
    /// at any concurrency), so the cuts are undone and from then on only clearly more
    /// of them than that cut.
    fn note(&mut self, cfg: &AdaptiveConcurrency, overload: bool, epoch: u64) {
        self.outcomes = (self.outcomes << 1) | u64::from(overload);
        self.seen = (self.seen + 1).min(OUTCOMES);
        if let Some(mut judged) = self.judged.take() {
            if epoch == self.epoch {
                judged.after += 1;
                judged.over += u32::from(overload);
            }
            let share = f64::from(judged.over) / f64::from(judged.after.max(1));
            if judged.after >= OUTCOMES / 4 && share > 0.5 {
                // Most answers since the cut are overload: no need to wait for the
                // rest (a server that sheds at once answers dozens in a millisecond).
            } else if judged.after < OUTCOMES {
                self.judged = Some(judged);
            } else if share <= 0.05 || share > 0.5 {
                // It helped, or the host is overloaded: the usual rules go on.
            } else {
                match judged.before {
                    // Halved: load. (A share of 64 answers wanders by several points;
                    // only a large fall tells load from chance.)
                    Some(before) if share < before * 0.5 => {}
                    Some(_) => {
                        self.limit = self.limit.max(judged.limit);
                        self.slow_start = judged.slow_start;
                        self.noise = self.noise.max(share);
                    }
                    None => {
                        // Too few answers before the cut to compare with: cut once
                        // more and compare with these.
                        self.cut(cfg);
                        self.judged = Some(Judged {
                            before: Some(share),
                            after: 0,
                            over: 0,
                            ..judged
                        });
                    }
                }
            }
        }
        self.since_noise += 1;
        if self.since_noise >= OUTCOMES {
            self.since_noise = 0;
            // Slowly: the share over 64 answers wanders; the noise should not.
            let share = self.share();
            if share < self.noise {
                self.noise -= (self.noise - share) / 4.0;
            }
        }
    }

    /// The share of overload answers among the last outcomes.
    fn share(&self) -> f64 {
        if self.seen == 0 {
            return 0.0;
        }
        let mask = if self.seen >= 64 {
            u64::MAX
        } else {
            (1 << self.seen) - 1
        };
        f64::from((self.outcomes & mask).count_ones()) / f64::from(self.seen)
    }

    /// The share of overload answers a cut needs: any, until cuts proved not to help;
    /// then clearly more than the noise (half as much again, 10 points at least).
    fn noise_margin(&self) -> f64 {
        if self.noise > 0.0 {
            self.noise + (self.noise / 2.0).max(0.1)
        } else {
            0.0
        }
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
        // A whole window of 503s: one cut, not twenty; the first, ending slow start,
        // halves.
        for _ in 0..20 {
            let epoch = flight.0.remove(0);
            w.release(&cfg, epoch, Signal::Overload, MS, now);
        }
        assert_eq!((w.limit(), w.stats().decreases), (10, 1));
        // Held while the answers after the cut judge it (64 of them), then half a call
        // per round.
        let mut limits = Vec::new();
        for _ in 0..12 {
            flight.round(&mut w, &cfg, Signal::Success, 5 * MS, now);
            limits.push(w.limit());
        }
        assert_eq!(limits, [10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 12, 12]);
        // Later cuts take it to 0.7 of itself.
        let epoch = flight.0.remove(0);
        w.release(&cfg, epoch, Signal::Overload, MS, now);
        assert_eq!(w.limit(), 8, "12.x times 0.7");
        let stats = w.stats();
        assert_eq!((stats.lowest, stats.highest, stats.decreases), (8, 20, 2));
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
    fn overload_answers_that_cuts_do_not_reduce_stop_holding_the_limit_down() {
        // One answer in five is a 503 whatever the load: a flaky backend, not a full one.
        let cfg = AdaptiveConcurrency::new(64);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        let mut flight = Flight(Vec::new());
        flight.fill(&mut w);
        for i in 0..4_000u32 {
            let signal = if i % 5 == 0 {
                Signal::Overload
            } else {
                Signal::Success
            };
            let epoch = flight.0.remove(0);
            w.release(&cfg, epoch, signal, 5 * MS, now);
            flight.fill(&mut w);
        }
        assert_eq!(w.limit(), 64, "{:?}", w.stats());
        assert!(w.noise >= 0.15, "{}", w.noise);
        // Load-related overload on top of it still cuts: most answers turn to 503.
        for _ in 0..64 {
            let epoch = flight.0.remove(0);
            w.release(&cfg, epoch, Signal::Overload, MS, now);
            flight.fill(&mut w);
        }
        assert!(w.limit() < 64, "{:?}", w.stats());
    }

    #[test]
    fn never_below_the_minimum_and_neutral_outcomes_change_nothing() {
        let cfg = AdaptiveConcurrency::new(8).min(2);
        let mut w = Window::new(&cfg);
        let now = Instant::now();
        for _ in 0..40 {
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
