//! The windows of every host, and the places calls wait for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{AdaptiveConcurrency, LimitStats, Signal, Window};

#[derive(Debug)]
struct Host {
    window: Mutex<Window>,
    /// Woken once per place given back (or made by a grown limit).
    room: Notify,
}

/// The adaptive limits of a client, per host.
#[derive(Debug)]
pub(crate) struct Limits {
    cfg: AdaptiveConcurrency,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// A place in a host's window, held for one attempt. Dropped without
/// [`Permit::finish`] (a cancelled attempt), it is given back with no signal.
#[derive(Debug)]
pub(crate) struct Permit {
    host: Arc<Host>,
    cfg: AdaptiveConcurrency,
    epoch: u64,
    released: bool,
}

impl Limits {
    pub(crate) fn new(cfg: AdaptiveConcurrency) -> Self {
        Limits {
            cfg,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, host: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().expect("limits");
        match hosts.get(host) {
            Some(h) => Arc::clone(h),
            None => Arc::clone(hosts.entry(host.to_owned()).or_insert_with(|| {
                Arc::new(Host {
                    window: Mutex::new(Window::new(&self.cfg)),
                    room: Notify::new(),
                })
            })),
        }
    }

    /// Waits for a place for `host`, at most `left`. `Err` says why there was none.
    pub(crate) async fn acquire(&self, host: &str, left: Duration) -> Result<Permit, String> {
        let entry = self.host(host);
        let give_up = tokio::time::Instant::now() + left;
        loop {
            // Registered before the look, so a place given back in between is not missed.
            let room = entry.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            let taken = entry.window.lock().expect("limit").try_acquire();
            if let Some(epoch) = taken {
                return Ok(Permit {
                    host: Arc::clone(&entry),
                    cfg: self.cfg,
                    epoch,
                    released: false,
                });
            }
            if tokio::time::timeout_at(give_up, room).await.is_err() {
                let stats = entry.window.lock().expect("limit").stats();
                return Err(format!(
                    "{} calls in flight to {host}, its adaptive limit now; no place came free within the {} left",
                    stats.in_flight,
                    crate::duration::human(left)
                ));
            }
        }
    }

    /// The limit of `host`, if it has been called.
    pub(crate) fn stats(&self, host: &str) -> Option<LimitStats> {
        let hosts = self.hosts.lock().expect("limits");
        hosts
            .get(host)
            .map(|h| h.window.lock().expect("limit").stats())
    }

    /// Every host's limit.
    pub(crate) fn all(&self) -> Vec<(String, LimitStats)> {
        let hosts = self.hosts.lock().expect("limits");
        hosts
            .iter()
            .map(|(k, h)| (k.clone(), h.window.lock().expect("limit").stats()))
            .collect()
    }
}

impl Permit {
    /// Gives the place back with what the attempt said about the host's load and how
    /// long it took; the limit's change, `(before, after)`, when it moved.
    pub(crate) fn finish(mut self, signal: Signal, latency: Duration) -> Option<(u32, u32)> {
        self.released = true;
        self.release(signal, latency)
    }

    fn release(&self, signal: Signal, latency: Duration) -> Option<(u32, u32)> {
        let (room, before, after) = {
            let mut window = self.host.window.lock().expect("limit");
            let before = window.limit();
            window.release(&self.cfg, self.epoch, signal, latency, Instant::now());
            (window.room(), before, window.limit())
        };
        for _ in 0..room {
            self.host.room.notify_one();
        }
        (before != after).then_some((before, after))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.released {
            self.release(Signal::Neutral, Duration::ZERO);
        }
    }
}
