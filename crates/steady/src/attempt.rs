//! The attempt log: what each attempt did and what steady decided after it.
//!
//! "It failed" is not enough to act on. The log says, per attempt, when it started,
//! how long it took, what came back (a status or a transport fault) and why steady
//! retried or stopped: available on success ([`crate::Response::attempt_log`]) and on
//! failure ([`crate::Error::attempt_log`]), printed by `-v` and in `--format json`.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::classify::{Fault, Layer, Verdict};
use crate::duration::human;

/// What steady did after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The attempt succeeded.
    Done,
    /// Waited, then tried again.
    Retry {
        /// How long it waited.
        wait: Duration,
        /// Why it waited that long.
        reason: WaitReason,
    },
    /// Gave up.
    Stop(StopReason),
}

/// Why a wait was as long as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// The exponential backoff with jitter.
    Backoff,
    /// The server's `Retry-After`, longer than the backoff.
    RetryAfter,
}

/// Why steady stopped retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The failure is not one that another attempt can fix.
    NotRetryable,
    /// Every allowed retry was used.
    RetriesExhausted {
        /// The configured number of retries.
        retries: u32,
    },
    /// The method is not idempotent and there is no `Idempotency-Key`.
    UnsafeMethod,
    /// The server's `Retry-After` asked for more than the configured maximum.
    RetryAfterTooLong {
        /// What the server asked for.
        asked: Duration,
        /// The configured maximum.
        max: Duration,
    },
    /// The server's `Retry-After` would end after the deadline.
    RetryAfterPastDeadline {
        /// What the server asked for.
        asked: Duration,
        /// What was left of the deadline.
        left: Duration,
        /// The whole deadline.
        total: Duration,
    },
    /// The backoff would end after the deadline.
    BackoffPastDeadline {
        /// The wait that was drawn.
        wait: Duration,
        /// What was left of the deadline.
        left: Duration,
        /// The whole deadline.
        total: Duration,
    },
    /// No time was left.
    DeadlineReached,
    /// The host's circuit breaker is open.
    CircuitOpen,
    /// The host's retry budget is spent.
    BudgetExhausted,
    /// A rate-limit permit or a server-requested pause would end after the deadline.
    GuardWaitPastDeadline,
    /// Too many calls in flight to the host.
    BulkheadFull,
}

impl StopReason {
    /// A stable snake_case name for machine output.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::NotRetryable => "not_retryable",
            StopReason::RetriesExhausted { .. } => "retries_exhausted",
            StopReason::UnsafeMethod => "unsafe_method",
            StopReason::RetryAfterTooLong { .. } => "retry_after_too_long",
            StopReason::RetryAfterPastDeadline { .. } => "retry_after_past_deadline",
            StopReason::BackoffPastDeadline { .. } => "backoff_past_deadline",
            StopReason::DeadlineReached => "deadline",
            StopReason::CircuitOpen => "circuit_open",
            StopReason::BudgetExhausted => "budget_exhausted",
            StopReason::GuardWaitPastDeadline => "guard_wait_past_deadline",
            StopReason::BulkheadFull => "bulkhead_full",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StopReason::NotRetryable => f.write_str("retrying will not help"),
            StopReason::RetriesExhausted { retries: 0 } => f.write_str("retries are off"),
            StopReason::RetriesExhausted { retries: 1 } => f.write_str("the one retry was used"),
            StopReason::RetriesExhausted { retries } => {
                write!(f, "all {retries} retries used")
            }
            StopReason::UnsafeMethod => f.write_str(
                "the method is not idempotent and has no Idempotency-Key, so a retry could repeat its effect (--idempotency-key auto makes it safe to retry)",
            ),
            StopReason::RetryAfterTooLong { asked, max } => write!(
                f,
                "the server asked to wait {} (Retry-After), more than the {} allowed",
                human(asked),
                human(max)
            ),
            StopReason::RetryAfterPastDeadline { asked, left, total } => write!(
                f,
                "the server asked to wait {} (Retry-After); {} left of the {} deadline",
                human(asked),
                human(left),
                human(total)
            ),
            StopReason::BackoffPastDeadline { wait, left, total } => write!(
                f,
                "the next attempt would start after the deadline (backoff {}; {} left of the {} deadline)",
                human(wait),
                human(left),
                human(total)
            ),
            StopReason::DeadlineReached => f.write_str("the deadline has passed"),
            StopReason::CircuitOpen => f.write_str("the circuit breaker for this host is open"),
            StopReason::BudgetExhausted => f.write_str("the retry budget for this host is spent"),
            StopReason::GuardWaitPastDeadline => {
                f.write_str("the next permit for this host would come after the deadline")
            }
            StopReason::BulkheadFull => f.write_str("too many calls are in flight to this host"),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Done => f.write_str("done"),
            Decision::Retry { wait, reason } => write!(
                f,
                "retrying after {} {}",
                human(*wait),
                match reason {
                    WaitReason::Backoff => "backoff",
                    WaitReason::RetryAfter => "(Retry-After)",
                }
            ),
            Decision::Stop(reason) => write!(f, "not retrying: {reason}"),
        }
    }
}

/// One attempt of a call.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub(crate) number: u32,
    pub(crate) of: u32,
    pub(crate) started: Duration,
    pub(crate) duration: Duration,
    pub(crate) status: Option<StatusCode>,
    pub(crate) fault: Option<Fault>,
    pub(crate) layer: Option<Layer>,
    pub(crate) verdict: Verdict,
    pub(crate) decision: Decision,
    pub(crate) note: Option<String>,
    pub(crate) url: String,
}

impl Attempt {
    /// The attempt's number, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The most attempts the call could make.
    pub fn of(&self) -> u32 {
        self.of
    }

    /// When it started, from the start of the call.
    pub fn started(&self) -> Duration {
        self.started
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The response status, when a complete response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The transport fault, when none did.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// The layer that failed; `None` for a success.
    pub fn layer(&self) -> Option<Layer> {
        self.layer
    }

    /// The classifier's verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// What steady did next.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// Anything else worth knowing (an ignored `Retry-After`, a semantic problem).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The URL of the final response of this attempt, credentials redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What steady decided and why, in words: `retrying after 1.6s backoff`, `not
    /// retrying: a 4xx will not change on retry`.
    pub fn why(&self) -> String {
        match self.decision {
            Decision::Stop(StopReason::NotRetryable) => {
                let what = match (self.layer, self.status, self.fault) {
                    (Some(Layer::Semantic), _, _) => "a semantic failure".to_owned(),
                    (_, _, Some(fault)) => format!("a {} failure", fault.name().replace('_', " ")),
                    (_, Some(s), _) if s.is_client_error() => "a 4xx".to_owned(),
                    (_, Some(s), _) if s.is_redirection() => "a redirect problem".to_owned(),
                    (_, Some(s), _) => format!("a {}", s.as_u16()),
                    _ => "this failure".to_owned(),
                };
                format!("not retrying: {what} will not change on retry")
            }
            other => other.to_string(),
        }
    }

    /// What came back, in words: `503 Service Unavailable`, `connection refused`.
    pub fn outcome(&self) -> String {
        match (self.status, self.fault) {
            (_, Some(fault)) => fault.words().to_owned(),
            (Some(status), None) => status_words(status),
            (None, None) => "no response".to_owned(),
        }
    }
}

/// `503 Service Unavailable`.
pub(crate) fn status_words(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
