//! The bulkhead: a bound on calls in flight to one host.
//!
//! Without one, a slow host soaks up every task of the program: each call waits for
//! its timeout while new ones pile up behind it, and a slow dependency becomes an
//! outage of the caller. A bulkhead admits at most `max_in_flight` calls per host and
//! lets a further call wait at most `max_wait` (and never past its deadline) before it
//! fails fast with layer `guard`. Off by default; in-process only (it counts this
//! process's calls).

pub(crate) mod stage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bulkhead settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bulkhead {
    pub(crate) max_in_flight: usize,
    pub(crate) max_wait: Duration,
}

impl Bulkhead {
    /// At most `max_in_flight` calls per host; a call waits at most `max_wait` for a
    /// place.
    pub fn new(max_in_flight: usize, max_wait: Duration) -> Self {
        Bulkhead {
            max_in_flight: max_in_flight.max(1),
            max_wait,
        }
    }
}

/// The semaphores of every host.
#[derive(Debug)]
pub(crate) struct Bulkheads {
    cfg: Bulkhead,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Bulkheads {
    pub(crate) fn new(cfg: Bulkhead) -> Self {
        Bulkheads {
            cfg,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a place for `host`, at most `max_wait` and `left`.
    pub(crate) async fn acquire(
        &self,
        host: &str,
        left: Duration,
    ) -> Result<OwnedSemaphorePermit, String> {
        let semaphore = Arc::clone(
            self.hosts
                .lock()
                .expect("bulkheads")
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.max_in_flight))),
        );
        let wait = self.cfg.max_wait.min(left);
        match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(format!(
                "{} calls already in flight to {host} (the bulkhead's limit); waited {}",
                self.cfg.max_in_flight,
                crate::duration::human(wait)
            )),
        }
    }
}
