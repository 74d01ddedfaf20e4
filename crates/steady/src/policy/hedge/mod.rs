//! Hedging: when an idempotent call is slow, send a second one and take whichever
//! answers first.
//!
//! Tail latency is often one slow server or one lost packet, not a slow service; a
//! second request after a short delay usually beats the first ("The Tail at Scale",
//! Dean and Barroso). Opt-in, for idempotent requests only (or ones with an
//! `Idempotency-Key`), and paid from the retry budget so it cannot double the load on a
//! struggling service. The delay is fixed (`250ms`) or a percentile of the host's
//! recent latencies (`p95`, once 20 calls are known). The first complete response
//! wins (a transport failure of one leg waits for the other); the other leg is
//! cancelled, which closes its connection.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// When to send the second request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hedge {
    /// After a fixed delay.
    After(Duration),
    /// After this percentile (0 to 1) of the host's recent latencies.
    Percentile(f64),
}

/// Latencies kept per host for percentile hedging.
const SAMPLES: usize = 100;
/// Latencies needed before a percentile is trusted.
const MIN_SAMPLES: usize = 20;

impl std::str::FromStr for Hedge {
    type Err = String;

    /// `250ms`, `1.5s` or `p95` / `p99.9`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(p) = s.strip_prefix('p') {
            let p: f64 = p
                .parse()
                .ok()
                .filter(|p| *p > 0.0 && *p < 100.0)
                .ok_or_else(|| format!("'{s}' is not a percentile: expected p50 to p99.9"))?;
            return Ok(Hedge::Percentile(p / 100.0));
        }
        crate::duration::parse_duration(s).map(Hedge::After)
    }
}

/// Recent latencies per host.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    hosts: Mutex<HashMap<String, VecDeque<Duration>>>,
}

impl Latencies {
    pub(crate) fn record(&self, host: &str, latency: Duration) {
        let mut hosts = self.hosts.lock().expect("latencies");
        if !hosts.contains_key(host) {
            hosts.insert(host.to_owned(), VecDeque::new());
        }
        let samples = hosts.get_mut(host).expect("just inserted");
        samples.push_back(latency);
        while samples.len() > SAMPLES {
            samples.pop_front();
        }
    }

    /// The `p` percentile of `host`'s latencies, once enough are known.
    pub(crate) fn percentile(&self, host: &str, p: f64) -> Option<Duration> {
        let hosts = self.hosts.lock().expect("latencies");
        let samples = hosts.get(host)?;
        if samples.len() < MIN_SAMPLES {
            return None;
        }
        let mut sorted: Vec<Duration> = samples.iter().copied().collect();
        sorted.sort();
        let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        Some(sorted[index])
    }
}

impl Hedge {
    pub(crate) fn delay(&self, latencies: &Latencies, host: &str) -> Option<Duration> {
        match *self {
            Hedge::After(d) => Some(d),
            Hedge::Percentile(p) => latencies.percentile(host, p),
        }
    }
}

pub(crate) mod stage;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_delays_and_percentiles() {
        assert_eq!(
            "250ms".parse(),
            Ok(Hedge::After(Duration::from_millis(250)))
        );
        assert_eq!("p95".parse(), Ok(Hedge::Percentile(0.95)));
        assert!("p100".parse::<Hedge>().is_err());
    }

    #[test]
    fn percentile_needs_enough_samples() {
        let l = Latencies::default();
        for ms in 1..=19 {
            l.record("h", Duration::from_millis(ms));
        }
        assert_eq!(l.percentile("h", 0.95), None);
        l.record("h", Duration::from_millis(20));
        assert_eq!(l.percentile("h", 0.95), Some(Duration::from_millis(19)));
        assert_eq!(l.percentile("h", 0.5), Some(Duration::from_millis(10)));
    }
}
