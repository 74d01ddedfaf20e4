//! What the chaos server received and injected, served at `/__chaos/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

/// Counters of a running chaos server.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    injected: u64,
    faults: BTreeMap<String, u64>,
    paths: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
    refusing_periods: u64,
    in_flight: u64,
    peak_in_flight: u64,
}

/// A request being answered; counted in flight until dropped.
pub(crate) struct Busy<'a>(&'a Stats);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.inner.lock().expect("stats").in_flight -= 1;
    }
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            inner: Mutex::new(Counts::default()),
        }
    }
}

impl Stats {
    pub(crate) fn request(&self, path: &str) {
        let mut c = self.inner.lock().expect("stats");
        c.requests += 1;
        *c.paths.entry(path.to_owned()).or_default() += 1;
    }

    pub(crate) fn injected(&self, fault: &str) {
        let mut c = self.inner.lock().expect("stats");
        c.injected += 1;
        *c.faults.entry(fault.to_owned()).or_default() += 1;
    }

    pub(crate) fn status(&self, status: u16) {
        *self
            .inner
            .lock()
            .expect("stats")
            .statuses
            .entry(status)
            .or_default() += 1;
    }

    pub(crate) fn refusing(&self) {
        self.inner.lock().expect("stats").refusing_periods += 1;
    }

    /// Counts a request in flight from now until the guard drops (its answer written).
    pub(crate) fn busy(&self) -> Busy<'_> {
        let mut c = self.inner.lock().expect("stats");
        c.in_flight += 1;
        c.peak_in_flight = c.peak_in_flight.max(c.in_flight);
        Busy(self)
    }

    /// The most requests that were being answered at once (read until written,
    /// latency included), `/__chaos/` endpoints included.
    pub fn peak_in_flight(&self) -> u64 {
        self.inner.lock().expect("stats").peak_in_flight
    }

    /// Requests received (not counting `/__chaos/` endpoints).
    pub fn requests(&self) -> u64 {
        self.inner.lock().expect("stats").requests
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> u64 {
        self.inner
            .lock()
            .expect("stats")
            .paths
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Times the fault named `name` was injected.
    pub fn injected_count(&self, name: &str) -> u64 {
        self.inner
            .lock()
            .expect("stats")
            .faults
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Everything, as the `/__chaos/stats` JSON.
    pub fn to_json(&self) -> Value {
        let c = self.inner.lock().expect("stats");
        json!({
            "uptime_ms": self.started.elapsed().as_millis() as u64,
            "requests": c.requests,
            "injected": c.injected,
            "faults": c.faults,
            "paths": c.paths,
            "statuses": c.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "outages": c.refusing_periods,
            "peak_in_flight": c.peak_in_flight,
        })
    }
}
