//! Retrying only what can succeed, never faster than the server asked, never past the
//! deadline.
//!
//! A retry is sent only when all of these hold, checked in this order (the first that
//! fails is the [`StopReason`] in the attempt log):
//!
//! 1. the [classifier](crate::classify) says the failure is [`Verdict::Retryable`]:
//!    never a 4xx other than 408/429, never a semantic failure;
//! 2. attempts are left (`max_retries`, default 3: four attempts in all);
//! 3. the request may be replayed ([`may_replay`]): an idempotent method, an
//!    `Idempotency-Key`, or a failure that proves nothing was sent;
//! 4. the wait ends before the call's deadline: steady never sleeps into a deadline
//!    it knows it cannot meet, and says so at once;
//! 5. a `Retry-After` on a 429 or 503 is a floor for the wait, and the call stops at
//!    once when it asks for more than `retry_after_max` (default 6h).
//!
//! The wait is the [`Backoff`] delay (exponential from 1s, capped at 30s, full jitter),
//! raised to the `Retry-After` value when the server sent one.

mod backoff;
mod idempotency;
mod retry_after;
pub(crate) mod stage;

use std::time::Duration;

pub use backoff::{Backoff, Jitter};
pub use idempotency::{is_idempotent, may_replay, IDEMPOTENCY_KEY};
pub use retry_after::{parse_retry_after, RetryAfter};

use crate::attempt::{Decision, StopReason, WaitReason};
use crate::classify::Verdict;

/// The retry policy of a client.
///
/// ```
/// use std::time::Duration;
/// use steady::retry::{Jitter, Retry};
///
/// let retry = Retry::exponential()
///     .max_retries(5)
///     .base(Duration::from_millis(200))
///     .max_backoff(Duration::from_secs(10))
///     .jitter(Jitter::Equal);
/// let client = steady::Client::builder().retry(retry).build()?;
/// # let _ = client;
/// # Ok::<(), steady::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Retry {
    pub(crate) max_retries: u32,
    pub(crate) backoff: Backoff,
    pub(crate) retry_after_max: Duration,
    pub(crate) seed: Option<u64>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry::exponential()
    }
}

impl Retry {
    /// Default cap on a server's `Retry-After`: 6 hours.
    pub const DEFAULT_RETRY_AFTER_MAX: Duration = Duration::from_secs(6 * 3600);

    /// Exponential backoff with steady's defaults: 3 retries, 1s base, 30s cap, full
    /// jitter, `Retry-After` honoured up to 6h.
    pub fn exponential() -> Self {
        Retry {
            max_retries: 3,
            backoff: Backoff::default(),
            retry_after_max: Self::DEFAULT_RETRY_AFTER_MAX,
            seed: None,
        }
    }

    /// No retries: one attempt, still under every timeout.
    pub fn none() -> Self {
        Retry::exponential().max_retries(0)
    }

    /// Retries after the first attempt (default 3; 0 disables retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first backoff delay, doubled for each retry (default 1s).
    pub fn base(mut self, base: Duration) -> Self {
        self.backoff.base = base;
        self
    }

    /// The longest backoff delay (default 30s). A `Retry-After` may ask for longer.
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.backoff.max = max;
        self
    }

    /// How randomness is mixed into the delay (default [`Jitter::Full`]).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.backoff.jitter = jitter;
        self
    }

    /// The longest `Retry-After` steady will honour (default 6h). A server asking for
    /// more ends the call at once with that reason, instead of a sleep of days.
    pub fn retry_after_max(mut self, max: Duration) -> Self {
        self.retry_after_max = max;
        self
    }

    /// Seeds the jitter's random numbers, for reproducible waits (default: random).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The configured backoff.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The configured number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// Decides what follows a failed attempt. Pure: everything it depends on is in
    /// `situation`.
    pub(crate) fn decide(&self, s: &Situation) -> Decision {
        if s.verdict == Verdict::Success {
            return Decision::Done;
        }
        if s.verdict == Verdict::Fatal {
            return Decision::Stop(StopReason::NotRetryable);
        }
        let retries = s.retries.unwrap_or(self.max_retries);
        if s.attempt > retries {
            return Decision::Stop(StopReason::RetriesExhausted { retries });
        }
        if !s.may_replay {
            return Decision::Stop(StopReason::UnsafeMethod);
        }
        if s.left.is_zero() {
            return Decision::Stop(StopReason::DeadlineReached);
        }
        let (wait, reason) = match s.retry_after {
            Some(asked) if asked >= s.backoff => (asked, WaitReason::RetryAfter),
            _ => (s.backoff, WaitReason::Backoff),
        };
        if wait >= s.left {
            return Decision::Stop(match reason {
                WaitReason::RetryAfter => StopReason::RetryAfterPastDeadline {
                    asked: wait,
                    left: s.left,
                    total: s.total,
                },
                WaitReason::Backoff => StopReason::BackoffPastDeadline {
                    wait,
                    left: s.left,
                    total: s.total,
                },
            });
        }
        if reason == WaitReason::RetryAfter && wait > self.retry_after_max {
            return Decision::Stop(StopReason::RetryAfterTooLong {
                asked: wait,
                max: self.retry_after_max,
            });
        }
        Decision::Retry { wait, reason }
    }
}

/// Everything a retry decision depends on.
#[derive(Debug, Clone)]
pub(crate) struct Situation {
    pub(crate) verdict: Verdict,
    /// The attempt just finished, from 1.
    pub(crate) attempt: u32,
    pub(crate) may_replay: bool,
    /// A valid `Retry-After` of a 429 or 503.
    pub(crate) retry_after: Option<Duration>,
    /// What is left of the deadline.
    pub(crate) left: Duration,
    /// The whole deadline.
    pub(crate) total: Duration,
    /// The backoff delay drawn for this retry.
    pub(crate) backoff: Duration,
    /// This request's own number of retries, instead of the policy's.
    pub(crate) retries: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation() -> Situation {
        Situation {
            verdict: Verdict::Retryable,
            attempt: 1,
            may_replay: true,
            retry_after: None,
            left: Duration::from_secs(60),
            total: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
            retries: None,
        }
    }

    #[test]
    fn retryable_failure_with_time_left_is_retried_after_the_backoff() {
        assert_eq!(
            Retry::exponential().decide(&situation()),
            Decision::Retry {
                wait: Duration::from_secs(1),
                reason: WaitReason::Backoff
            }
        );
    }

    #[test]
    fn fatal_and_exhausted_and_unsafe_stop_in_that_order() {
        let retry = Retry::exponential().max_retries(1);
        let fatal = Situation {
            verdict: Verdict::Fatal,
            attempt: 9,
            may_replay: false,
            ..situation()
        };
        assert_eq!(
            retry.decide(&fatal),
            Decision::Stop(StopReason::NotRetryable)
        );
        let exhausted = Situation {
            attempt: 2,
            may_replay: false,
            ..situation()
        };
        assert_eq!(
            retry.decide(&exhausted),
            Decision::Stop(StopReason::RetriesExhausted { retries: 1 })
        );
        let unsafe_method = Situation {
            may_replay: false,
            ..situation()
        };
        assert_eq!(
            retry.decide(&unsafe_method),
            Decision::Stop(StopReason::UnsafeMethod)
        );
    }

    #[test]
    fn retry_after_is_a_floor_over_the_backoff() {
        let s = Situation {
            retry_after: Some(Duration::from_secs(5)),
            ..situation()
        };
        assert_eq!(
            Retry::exponential().decide(&s),
            Decision::Retry {
                wait: Duration::from_secs(5),
                reason: WaitReason::RetryAfter
            }
        );
        let shorter = Situation {
            retry_after: Some(Duration::ZERO),
            ..situation()
        };
        assert_eq!(
            Retry::exponential().decide(&shorter),
            Decision::Retry {
                wait: Duration::from_secs(1),
                reason: WaitReason::Backoff
            }
        );
    }

    #[test]
    fn retry_after_beyond_the_cap_or_the_deadline_stops_at_once() {
        let s = Situation {
            retry_after: Some(Duration::from_secs(7 * 3600)),
            left: Duration::from_secs(86400),
            ..situation()
        };
        assert!(matches!(
            Retry::exponential().decide(&s),
            Decision::Stop(StopReason::RetryAfterTooLong { .. })
        ));
        let s = Situation {
            retry_after: Some(Duration::from_secs(61)),
            ..situation()
        };
        assert_eq!(
            Retry::exponential().decide(&s),
            Decision::Stop(StopReason::RetryAfterPastDeadline {
                asked: Duration::from_secs(61),
                left: Duration::from_secs(60),
                total: Duration::from_secs(60),
            })
        );
    }

    #[test]
    fn backoff_that_would_end_past_the_deadline_stops() {
        let s = Situation {
            left: Duration::from_millis(500),
            ..situation()
        };
        assert_eq!(
            Retry::exponential().decide(&s),
            Decision::Stop(StopReason::BackoffPastDeadline {
                wait: Duration::from_secs(1),
                left: Duration::from_millis(500),
                total: Duration::from_secs(60),
            })
        );
    }

    mod properties {
        use super::*;
        use crate::retry::backoff::Backoff;
        use proptest::prelude::*;

        fn jitter() -> impl Strategy<Value = Jitter> {
            prop_oneof![
                Just(Jitter::None),
                Just(Jitter::Full),
                Just(Jitter::Equal),
                Just(Jitter::Decorrelated)
            ]
        }

        fn duration() -> impl Strategy<Value = Duration> {
            prop_oneof![
                (0u64..10_000).prop_map(Duration::from_millis),
                any::<u64>().prop_map(Duration::from_millis),
                Just(Duration::ZERO),
                Just(Duration::MAX),
            ]
        }

        proptest! {
            /// Never above the cap, whatever the base, cap, retry number, previous
            /// wait or random draw (including draws outside [0, 1)).
            #[test]
            fn backoff_never_exceeds_its_cap(
                base in duration(),
                max in duration(),
                retry in any::<u32>(),
                previous in proptest::option::of(duration()),
                unit in prop_oneof![any::<f64>(), 0.0..1.0f64],
                jitter in jitter(),
            ) {
                let d = Backoff { base, max, jitter }.delay(retry, previous, || unit);
                prop_assert!(d <= max, "{d:?} > cap {max:?}");
            }

            /// A retry is only ever scheduled to start before the deadline, and never
            /// after a wait longer than the Retry-After cap.
            #[test]
            fn no_wait_ends_past_the_deadline(
                attempt in 1u32..20,
                retries in 0u32..20,
                retry_after in proptest::option::of(duration()),
                left in duration(),
                backoff in duration(),
                may_replay in any::<bool>(),
                retry_after_max in duration(),
            ) {
                let policy = Retry::exponential().max_retries(retries).retry_after_max(retry_after_max);
                let s = Situation {
                    verdict: Verdict::Retryable,
                    attempt,
                    may_replay,
                    retry_after,
                    left,
                    total: left,
                    backoff,
                    retries: None,
                };
                if let Decision::Retry { wait, reason } = policy.decide(&s) {
                    prop_assert!(wait < left, "waits {wait:?} with {left:?} left");
                    prop_assert!(attempt <= retries);
                    prop_assert!(may_replay);
                    if reason == WaitReason::RetryAfter {
                        prop_assert!(wait <= retry_after_max);
                    }
                }
            }
        }
    }
}
