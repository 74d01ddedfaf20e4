//! Guards: what stops a client from hammering a sick service.
//!
//! Retries alone turn someone else's outage into a retry storm: every caller multiplies
//! its load exactly when the service can least take it, and the storm can keep the
//! service down after the trigger is gone (a metastable failure). The guards, per host
//! (scheme, host and port), are:
//!
//! - the [circuit breaker](crate::breaker): fail fast while a host is down, probe it
//!   now and then (on by default);
//! - the [retry budget](crate::budget): retries and hedges add at most ~20% load (on
//!   by default);
//! - [rate limits](crate::rate): the client's own pace (`--rate`) and the pace the
//!   server asks for (`429` + `Retry-After`, `X-RateLimit-*`, `RateLimit`; honoured by
//!   default);
//! - the [bulkhead](crate::bulkhead): a bound on calls in flight (opt-in);
//! - [hedging](crate::hedge): a second request when an idempotent one is slow (opt-in);
//! - [adaptive concurrency](crate::limit): as many calls in flight as the host has
//!   shown room for (opt-in; on in `steady batch`).
//!
//! The deadline is the one "how long": a call that meets an open circuit, a spent retry
//! budget, a pause or a pace waits for the probe, the permit or the end of the pause
//! when that comes before its deadline, and goes on once the host is back; it fails at
//! once only when the wait would end after the deadline. A latency-critical service
//! that would rather fail than wait sets [`ClientBuilder::fail_fast`]: an open circuit
//! or a spent budget then fails the call at once (pauses and paces stay bounded by the
//! deadline).
//!
//! The breaker judges a host from calls, not attempts: a call tells it its outcome
//! once, when it ends (and a half-open circuit's probe at once), so one call retrying
//! a failing URL is one failed call, never a streak that opens the circuit for every
//! other URL of the host.
//!
//! Their state is plain data per host ([`HostState`]) kept in a [`GuardStore`]: in
//! memory for the life of the client by default, or in a SQLite file shared by
//! successive and concurrent processes (`ClientBuilder::state_file`, `--state`), so a
//! cron job that runs every minute against a dead API notices that it is dead.

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "state")]
mod sqlite;
pub(crate) mod stage;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "state")]
pub use sqlite::SqliteStore;

use crate::breaker::{Admission, Breaker, BreakerState, Health, Transition};
use crate::budget::{BudgetState, RetryBudget};
use crate::bulkhead::{Bulkhead, Bulkheads};
use crate::hedge::{Hedge, Latencies};
use crate::limit::{AdaptiveConcurrency, Limits};
use crate::rate::{Rate, RateState, ServerLimit};
#[cfg(doc)]
use crate::ClientBuilder;

/// Everything steady remembers about one host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostState {
    /// The circuit.
    pub breaker: BreakerState,
    /// The retry budget.
    pub budget: BudgetState,
    /// Client and server rate limits.
    pub rate: RateState,
}

/// Where host states live. Each update is atomic: read, change, write.
pub trait GuardStore: Send + Sync + fmt::Debug + 'static {
    /// Applies `change` to the state of `host` atomically.
    ///
    /// # Errors
    /// When the store cannot be read or written; steady then goes on without that
    /// guard decision and logs a warning.
    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) -> Result<(), String>;

    /// The state of `host` (the default state for an unknown host).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn load(&self, host: &str) -> Result<HostState, String>;
}

/// Host states in memory, for the life of the client (the default).
#[derive(Debug, Default)]
pub struct MemoryStore {
    hosts: Mutex<HashMap<String, HostState>>,
}

impl GuardStore for MemoryStore {
    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) -> Result<(), String> {
        let mut hosts = self
            .hosts
            .lock()
            .map_err(|_| "guard state lock poisoned".to_owned())?;
        // The key is copied only for a new host, not on every call.
        match hosts.get_mut(host) {
            Some(state) => change(state),
            None => change(hosts.entry(host.to_owned()).or_default()),
        }
        Ok(())
    }

    fn load(&self, host: &str) -> Result<HostState, String> {
        let hosts = self
            .hosts
            .lock()
            .map_err(|_| "guard state lock poisoned".to_owned())?;
        Ok(hosts.get(host).cloned().unwrap_or_default())
    }
}

/// The key every per-host guard state is kept under: `scheme://host:port`, the port
/// written even when it is the scheme's default (`https://api.example.com:443`), so
/// that one host has one key wherever its URLs come from.
///
/// ```
/// let url = steady::Url::parse("https://api.example.com/v1/items").unwrap();
/// assert_eq!(steady::guard::host_key(&url), "https://api.example.com:443");
/// ```
pub fn host_key(url: &reqwest::Url) -> String {
    use std::fmt::Write;
    // Built by hand: `format!` of the whole costs several times as much, once a call.
    let (scheme, host) = (url.scheme(), url.host_str().unwrap_or(""));
    let port = url.port_or_known_default().unwrap_or(0);
    let mut key = String::with_capacity(scheme.len() + host.len() + 9);
    key.push_str(scheme);
    key.push_str("://");
    key.push_str(host);
    key.push(':');
    let _ = write!(key, "{port}");
    key
}

/// Which guard acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GuardKind {
    /// The circuit breaker.
    Breaker,
    /// The retry budget.
    Budget,
    /// The client's own rate limit.
    RateLimit,
    /// A pause or pace the server asked for.
    ServerLimit,
    /// The bulkhead.
    Bulkhead,
    /// Hedging.
    Hedge,
    /// The adaptive concurrency limit.
    Concurrency,
}

impl GuardKind {
    /// `breaker`, `budget`, `rate_limit`, `server_limit`, `bulkhead`, `hedge`,
    /// `concurrency`.
    pub fn name(self) -> &'static str {
        match self {
            GuardKind::Breaker => "breaker",
            GuardKind::Budget => "budget",
            GuardKind::RateLimit => "rate_limit",
            GuardKind::ServerLimit => "server_limit",
            GuardKind::Bulkhead => "bulkhead",
            GuardKind::Hedge => "hedge",
            GuardKind::Concurrency => "concurrency",
        }
    }
}

/// One guard decision, for the attempt log, `-v` and `--format json`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardEvent {
    pub(crate) at: Duration,
    pub(crate) guard: GuardKind,
    pub(crate) wait: Option<Duration>,
    pub(crate) message: String,
}

impl GuardEvent {
    /// When, from the start of the call.
    pub fn at(&self) -> Duration {
        self.at
    }

    /// Which guard.
    pub fn guard(&self) -> GuardKind {
        self.guard
    }

    /// How long the call waited because of it, if it did.
    pub fn wait(&self) -> Option<Duration> {
        self.wait
    }

    /// What happened, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The guard configuration of a client.
#[derive(Debug, Clone)]
pub(crate) struct GuardConfig {
    pub(crate) breaker: Option<Breaker>,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) rate: Option<Rate>,
    pub(crate) server_limits: bool,
    pub(crate) bulkhead: Option<Bulkhead>,
    pub(crate) hedge: Option<Hedge>,
    pub(crate) adaptive: Option<AdaptiveConcurrency>,
    /// Fail at once on an open circuit, a spent budget or a server pause, instead of
    /// waiting within the deadline.
    pub(crate) fail_fast: bool,
    /// Path prefixes guarded apart from the rest of their host, with their scope's
    /// name, longest first ([`crate::ClientBuilder::scope_path`]).
    pub(crate) scopes: Vec<(String, String)>,
}

impl GuardConfig {
    /// The scope a request to `path` is guarded in: the request's own name, else the
    /// longest path prefix configured, else none (the host's).
    pub(crate) fn scope_of<'a>(&'a self, named: Option<&'a str>, path: &str) -> Option<&'a str> {
        named.or_else(|| {
            self.scopes
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix.as_str()))
                .map(|(_, name)| name.as_str())
        })
    }
}

/// The key the guards keep a scope's state under: the host key, and the scope's name
/// in brackets after a space (which no host key holds).
pub(crate) fn scoped_key(host: &str, scope: Option<&str>) -> Option<String> {
    scope.map(|scope| format!("{host} ({scope})"))
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            breaker: Some(Breaker::default()),
            budget: Some(RetryBudget::default()),
            rate: None,
            server_limits: true,
            bulkhead: None,
            hedge: None,
            adaptive: None,
            fail_fast: false,
            scopes: Vec::new(),
        }
    }
}

/// The guards of a client, with their state.
#[derive(Debug)]
pub(crate) struct Guards {
    pub(crate) config: GuardConfig,
    pub(crate) store: Box<dyn GuardStore>,
    pub(crate) bulkheads: Option<Bulkheads>,
    pub(crate) limits: Option<Limits>,
    pub(crate) latencies: Latencies,
    /// This client among the ones sharing the state ([`Breaker::quorum`]).
    pub(crate) client: u64,
}

/// The guards' answer before an attempt.
#[derive(Debug)]
pub(crate) enum Admit {
    Go {
        wait: Option<(Duration, GuardKind, String)>,
        transition: Option<Transition>,
        /// The attempt is the half-open circuit's probe: its outcome decides.
        probe: bool,
    },
    Refused {
        guard: GuardKind,
        message: String,
        /// When the circuit lets a call through again (wall clock, ms).
        retry_at_ms: u64,
        /// A probe is in flight: its outcome may close the circuit any moment.
        probing: bool,
    },
}

pub(crate) fn wall_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `12:03:04 UTC` for a wall-clock time in ms.
pub(crate) fn clock_time(ms: u64) -> String {
    let s = (ms / 1000) % 86400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, (s / 60) % 60, s % 60)
}

impl Guards {
    pub(crate) fn new(config: GuardConfig, store: Box<dyn GuardStore>) -> Self {
        Guards {
            bulkheads: config.bulkhead.map(Bulkheads::new),
            limits: config.adaptive.map(Limits::new),
            client: fastrand::u64(1..),
            config,
            store,
            latencies: Latencies::default(),
        }
    }

    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) {
        if let Err(err) = self.store.update(host, change) {
            tracing::warn!(target: "steady::state", "guard state for {host} unavailable, going on without it: {err}");
        }
    }

    /// Before attempt `number`: breaker, first-attempt deposit, server pause, client rate.
    pub(crate) fn admit(&self, host: &str, number: u32, now_ms: u64) -> Admit {
        let go = || Admit::Go {
            wait: None,
            transition: None,
            probe: false,
        };
        let mut answer = go();
        let config = &self.config;
        self.update(host, &mut |state| {
            answer = go();
            let mut transition = None;
            let mut probe = false;
            if let Some(breaker) = &config.breaker {
                let (admission, t) = state.breaker.admit(breaker, now_ms);
                transition = t;
                match admission {
                    Admission::Go { probe: p } => probe = p,
                    Admission::Refused {
                        since_ms,
                        reason,
                        probe_at_ms,
                    } => {
                        let probing = state.breaker.phase() == crate::breaker::Phase::HalfOpen;
                        let wait = Duration::from_millis(probe_at_ms.saturating_sub(now_ms));
                        answer = Admit::Refused {
                            guard: GuardKind::Breaker,
                            message: format!(
                                "circuit open for {host} since {} because {reason}; next probe at {} (in {})",
                                clock_time(since_ms),
                                clock_time(probe_at_ms),
                                crate::duration::human(wait)
                            ),
                            retry_at_ms: probe_at_ms,
                            probing,
                        };
                        return;
                    }
                }
            }
            if number == 1 {
                if let Some(budget) = &config.budget {
                    state.budget.deposit(budget, now_ms);
                }
            }
            let mut wait: Option<(Duration, GuardKind, String)> = None;
            if config.server_limits {
                if let Some((w, reason)) = state.rate.server_wait(now_ms) {
                    wait = Some((w, GuardKind::ServerLimit, reason));
                }
            }
            if let Some(rate) = &config.rate {
                let w = state.rate.reserve(rate, now_ms);
                if !w.is_zero() && wait.as_ref().is_none_or(|(current, _, _)| w > *current) {
                    wait = Some((w, GuardKind::RateLimit, format!("client rate limit {rate}")));
                }
            }
            answer = Admit::Go {
                wait,
                transition,
                probe,
            };
        });
        answer
    }

    /// Takes a retry (or a hedge) from the budget. `Err` says why not, and when the
    /// budget would allow one (wall clock, ms), if ever.
    pub(crate) fn withdraw(&self, host: &str, now_ms: u64) -> Result<(), (String, Option<u64>)> {
        let Some(budget) = &self.config.budget else {
            return Ok(());
        };
        let mut result = Ok(());
        self.update(host, &mut |state| {
            result = state
                .budget
                .withdraw(budget, now_ms)
                .map_err(|why| (why, state.budget.next_allowed_ms(budget, now_ms)))
        });
        result
    }

    /// Whether a call to `host` succeeded after `since_ms`; if so, counts a retry the
    /// budget did not allow (a waiting retry goes on: the host is back).
    pub(crate) fn recovered_since(&self, host: &str, since_ms: u64) -> bool {
        let mut back = false;
        let config = &self.config;
        self.update(host, &mut |state| {
            back = state.breaker.last_success_ms > since_ms;
            if back {
                if let Some(budget) = &config.budget {
                    state.budget.force(budget, since_ms);
                }
            }
        });
        back
    }

    /// After an attempt: what the server said about limits, and, when given, the
    /// breaker's view of the call (`health`, with the hash of the URL's path, is given
    /// once per call, when it ends, and for each probe).
    pub(crate) fn record(
        &self,
        host: &str,
        health: Option<(Health, u64)>,
        limit: Option<&ServerLimit>,
        now_ms: u64,
    ) -> Option<Transition> {
        if health.is_none() && (limit.is_none() || !self.config.server_limits) {
            return None;
        }
        let mut transition = None;
        let config = &self.config;
        let client = self.client;
        self.update(host, &mut |state| {
            transition = config
                .breaker
                .as_ref()
                .zip(health)
                .and_then(|(b, (health, url))| {
                    state.breaker.record_url(b, health, url, client, now_ms)
                });
            // Kept with or without a breaker: a retry waiting for the budget reads it.
            if let Some((Health::Success, _)) = health {
                state.breaker.last_success_ms = state.breaker.last_success_ms.max(now_ms);
            }
            if config.server_limits {
                if let Some(limit) = limit {
                    state.rate.apply(limit, now_ms);
                }
            }
        });
        transition
    }

    /// Whether semantic failures count against a host.
    pub(crate) fn count_semantic(&self) -> bool {
        self.config
            .breaker
            .as_ref()
            .is_some_and(|b| b.count_semantic)
    }
}
