//! Every decision a call makes, as a value: [`Event`], told to the [`Listener`]s an
//! application registers with [`ClientBuilder::listener`].
//!
//! Why events and not log lines: a service that wants to count circuit openings,
//! alert on a spent retry budget or export spans needs the decision itself (the
//! breaker went from closed to open, for this reason), not a sentence to parse. steady
//! builds its own outputs from the same values: the attempt log of a [`Response`] or
//! an [`Error`], `-v` on the command line (through `tracing`), its spans and its
//! metrics ([`crate::telemetry`]).
//!
//! A listener's methods default to doing nothing. Events are plain values borrowed
//! from the call (no allocation); with no listener, only steady's own telemetry reads
//! them. Listeners are called on the task that
//! runs the call, in order: keep them quick (count, enqueue), never block.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::sync::Arc;
//! use steady::event::{CallInfo, Event, Listener};
//! use steady::breaker::Phase;
//!
//! #[derive(Default)]
//! struct Openings(AtomicU32);
//!
//! impl Listener for Openings {
//!     fn on_event(&self, call: &CallInfo<'_>, event: &Event<'_>) {
//!         if let Event::BreakerTransition { to: Phase::Open, reason, .. } = event {
//!             eprintln!("circuit for {} opened: {reason}", call.host);
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! let openings = Arc::new(Openings::default());
//! let client = steady::Client::builder().listener(openings.clone()).build()?;
//! # let _ = client;
//! # Ok::<(), steady::Error>(())
//! ```
//!
//! [`ClientBuilder::listener`]: crate::ClientBuilder::listener
//! [`Response`]: crate::Response
//! [`Error`]: crate::Error

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::breaker::Phase;
use crate::classify::{Fault, Verdict};
use crate::guard::GuardKind;
use crate::{Attempt, ErrorKind};

/// Which call an event belongs to.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallInfo<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URL, credentials redacted.
    pub url: &'a str,
    /// The host key the guards use: `scheme://host:port`.
    pub host: &'a str,
}

/// Why a call waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitCause {
    /// The backoff before a retry.
    Backoff,
    /// The server's `Retry-After` before a retry.
    RetryAfter,
    /// The circuit was open: waiting for its probe.
    BreakerProbe,
    /// The retry budget was spent: waiting for it to allow a retry.
    Budget,
    /// The client's own rate limit.
    RateLimit,
    /// A pause or pace the server asked for (429 `Retry-After`, RateLimit headers).
    ServerLimit,
    /// The adaptive concurrency limit had no place.
    Concurrency,
    /// The bulkhead had no place.
    Bulkhead,
}

impl WaitCause {
    /// `backoff`, `retry_after`, `breaker_probe`, `budget`, `rate_limit`,
    /// `server_limit`, `concurrency`, `bulkhead`.
    pub fn name(self) -> &'static str {
        match self {
            WaitCause::Backoff => "backoff",
            WaitCause::RetryAfter => "retry_after",
            WaitCause::BreakerProbe => "breaker_probe",
            WaitCause::Budget => "budget",
            WaitCause::RateLimit => "rate_limit",
            WaitCause::ServerLimit => "server_limit",
            WaitCause::Concurrency => "concurrency",
            WaitCause::Bulkhead => "bulkhead",
        }
    }

    pub(crate) fn of_guard(guard: GuardKind) -> Option<WaitCause> {
        Some(match guard {
            GuardKind::Breaker => WaitCause::BreakerProbe,
            GuardKind::Budget => WaitCause::Budget,
            GuardKind::RateLimit => WaitCause::RateLimit,
            GuardKind::ServerLimit => WaitCause::ServerLimit,
            GuardKind::Bulkhead => WaitCause::Bulkhead,
            GuardKind::Concurrency => WaitCause::Concurrency,
            GuardKind::Hedge => return None,
        })
    }

    /// The guard that made the call wait, when a guard did (not a retry's backoff).
    pub(crate) fn guard(self) -> Option<GuardKind> {
        Some(match self {
            WaitCause::BreakerProbe => GuardKind::Breaker,
            WaitCause::Budget => GuardKind::Budget,
            WaitCause::RateLimit => GuardKind::RateLimit,
            WaitCause::ServerLimit => GuardKind::ServerLimit,
            WaitCause::Bulkhead => GuardKind::Bulkhead,
            WaitCause::Concurrency => GuardKind::Concurrency,
            WaitCause::Backoff | WaitCause::RetryAfter => return None,
        })
    }
}

/// One decision of a call.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Attempt `attempt` is about to be sent (every guard let it go).
    AttemptStarted {
        /// From 1.
        attempt: u32,
        /// Resent attempts before this one (`http.request.resend_count`).
        resend_count: u32,
    },
    /// An attempt ended, and what steady decided next (in [`Attempt::decision`]).
    AttemptEnded(&'a Attempt),
    /// Another attempt was decided, after `delay`. A guard may still refuse it when
    /// its time comes ([`Event::GuardRefused`] then follows, and the call ends with
    /// the failure that was to be retried).
    RetryScheduled {
        /// The attempt that will be made.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Backoff, or the server's `Retry-After`.
        cause: WaitCause,
        /// What failed: the status, or the fault.
        status: Option<StatusCode>,
        /// The fault, when no response came.
        fault: Option<Fault>,
    },
    /// The call waited for a guard.
    Waited {
        /// Why.
        cause: WaitCause,
        /// How long (planned: a wait polled in steps may end earlier).
        duration: Duration,
        /// What the guard said, in words.
        message: &'a str,
    },
    /// A guard refused the call or its retry: nothing more is sent.
    GuardRefused {
        /// Which guard.
        guard: GuardKind,
        /// Why, in words.
        message: &'a str,
    },
    /// The breaker of the call's host changed phase.
    BreakerTransition {
        /// The phase it left.
        from: Phase,
        /// The phase it entered.
        to: Phase,
        /// Why, in words.
        reason: &'a str,
    },
    /// A second request was sent while the first had not answered.
    HedgeSent {
        /// How long the first had been out.
        after: Duration,
    },
    /// One of two hedged requests answered first; the other was cancelled.
    HedgeWon {
        /// The second (the hedge) won.
        second: bool,
    },
    /// The adaptive concurrency limit of the host moved.
    ConcurrencyLimitChanged {
        /// Before.
        from: u32,
        /// After.
        to: u32,
    },
    /// A guard noted something without deciding (a server limit read from headers).
    GuardNote {
        /// Which guard.
        guard: GuardKind,
        /// What, in words.
        message: &'a str,
    },
    /// A fallback answered for the failed live call.
    FallbackUsed {
        /// Where the answer came from: `cache`, `alternative` or `default`.
        source: &'a str,
    },
    /// The call ended.
    CallEnded {
        /// The final status, when a response came.
        status: Option<StatusCode>,
        /// What failed, when it failed.
        error: Option<ErrorKind>,
        /// Attempts made.
        attempts: u32,
        /// From start to end.
        duration: Duration,
        /// The last verdict.
        verdict: Option<Verdict>,
    },
}

/// Hears the events of every call of a client. Every method defaults to doing nothing.
pub trait Listener: Send + Sync + 'static {
    /// One event of the call `call`.
    fn on_event(&self, call: &CallInfo<'_>, event: &Event<'_>) {
        let _ = (call, event);
    }
}

impl Listener for () {}

impl<L: Listener + ?Sized> Listener for Arc<L> {
    fn on_event(&self, call: &CallInfo<'_>, event: &Event<'_>) {
        (**self).on_event(call, event);
    }
}

/// The listeners of a client.
#[derive(Clone, Default)]
pub(crate) struct Listeners(pub(crate) Vec<Arc<dyn Listener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} listeners", self.0.len())
    }
}

impl Listeners {
    /// Whether any listener is registered (events are built only then).
    pub(crate) fn any(&self) -> bool {
        !self.0.is_empty()
    }

    pub(crate) fn tell(&self, call: &CallInfo<'_>, event: &Event<'_>) {
        for listener in &self.0 {
            listener.on_event(call, event);
        }
    }
}
