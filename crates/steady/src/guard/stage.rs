//! The guards' stage: the retry budget a retry owes, the circuit (waiting for its
//! probe within the deadline), the server's pauses and the client's pace.

use std::time::Duration;

use crate::attempt::StopReason;
use crate::call::{Call, Said};
use crate::duration::human;
use crate::guard::{wall_ms, Admit, GuardKind};

/// How often a call waiting on a half-open circuit looks whether its probe closed it.
const PROBE_POLL: Duration = Duration::from_millis(100);
/// How often a retry waiting for the budget looks whether the host is back.
const BUDGET_POLL: Duration = Duration::from_millis(250);

impl Call<'_> {
    /// Asks the guards whether attempt `number` may go, and waits for permits: the
    /// retry budget (when the retry was decided on a spent one), the circuit (an open
    /// one lets the call wait for its probe when that comes before the deadline), then
    /// pauses and the client's pace. `Err` carries the refusing guard, its message and
    /// the stop reason for a retry.
    pub(crate) async fn admit(
        &mut self,
        number: u32,
    ) -> Result<(), (GuardKind, String, StopReason)> {
        let inner = &self.client.inner;
        let fail_fast = inner.guards.config.fail_fast;
        let waiting_since = wall_ms(inner.clock.wall());
        while std::mem::take(&mut self.owes_budget) {
            let now_ms = wall_ms(inner.clock.wall());
            let Err((message, allowed_at)) = inner.guards.withdraw(self.key(), now_ms) else {
                break;
            };
            // The host answered another call while this retry waited: it is back, and
            // the budget (which guards a failing host) need not hold the retry longer.
            if inner
                .guards
                .recovered_since(self.key(), waiting_since.saturating_sub(1))
            {
                self.event(
                    GuardKind::Budget,
                    Said::Note,
                    "the host answered another call meanwhile: retrying without waiting for the budget".into(),
                );
                break;
            }
            // Another call took the retry the wait was for: wait again, within the deadline.
            let until = allowed_at.map(|at| Duration::from_millis(at.saturating_sub(now_ms)));
            match until.filter(|until| *until < self.left()) {
                Some(until) => {
                    // In steps, to notice a recovery (another call's success) early;
                    // the wait was announced when the retry was decided.
                    let step = until.min(BUDGET_POLL);
                    self.owes_budget = true;
                    inner.clock.sleep(step.max(Duration::from_millis(1))).await;
                }
                None => {
                    self.event(GuardKind::Budget, Said::Refused, message.clone());
                    return Err((GuardKind::Budget, message, StopReason::BudgetExhausted));
                }
            }
        }
        let mut waiting: Option<String> = None;
        loop {
            let now_ms = wall_ms(inner.clock.wall());
            match inner.guards.admit(self.key(), number, now_ms) {
                Admit::Refused {
                    guard,
                    message,
                    retry_at_ms,
                    probing,
                } => {
                    let until = Duration::from_millis(retry_at_ms.saturating_sub(now_ms));
                    let left = self.left();
                    if fail_fast || until >= left {
                        let message = match &waiting {
                            Some(_) => format!(
                                "{message}; waited for it, but the probe comes {} before the deadline",
                                human(left)
                            ),
                            None => message,
                        };
                        self.event(guard, Said::Refused, message.clone());
                        return Err((guard, message, StopReason::CircuitOpen));
                    }
                    // Once per reason: a wait polled in steps is one event.
                    if waiting.as_deref() != Some(message.as_str()) {
                        self.event(
                            guard,
                            Said::Wait(until),
                            format!("{message}; waiting for it ({} left)", human(left)),
                        );
                        waiting = Some(message);
                    }
                    let step = if probing {
                        until.min(PROBE_POLL)
                    } else {
                        until
                    };
                    inner.clock.sleep(step.max(Duration::from_millis(1))).await;
                }
                Admit::Go {
                    wait,
                    transition,
                    probe,
                } => {
                    if let Some(t) = transition {
                        self.transition(t);
                    }
                    self.probe = probe;
                    if let Some((wait, guard, reason)) = wait {
                        let left = self.left();
                        if wait >= left {
                            let message = format!(
                                "{reason}: the next permit is in {}, {} before the deadline",
                                human(wait),
                                human(left)
                            );
                            self.event(guard, Said::Refused, message.clone());
                            return Err((guard, message, StopReason::GuardWaitPastDeadline));
                        }
                        let message = match guard {
                            GuardKind::ServerLimit => {
                                format!("paused {} because {reason}", human(wait))
                            }
                            _ => format!("waited {} for a permit ({reason})", human(wait)),
                        };
                        self.event(guard, Said::Wait(wait), message);
                        inner.clock.sleep(wait).await;
                    }
                    return Ok(());
                }
            }
        }
    }
}
