//! What follows an attempt: the retry policy's decision, the budget a retry takes,
//! the attempt's line in the log, and the error a call ends with.

use std::time::{Duration, Instant};

use crate::attempt::{Attempt, Decision, StopReason};
use crate::call::judge::Judged;
use crate::call::{Call, Failed, Said};
use crate::classify::Verdict;
use crate::download::Part;
use crate::duration::human;
use crate::error::{Kind, Layer};
use crate::event::{Event, WaitCause};
use crate::guard::{wall_ms, GuardKind};
use crate::retry::{may_replay, Situation};
use crate::transport::{Exchange, Failure, RedirectProblem};
use crate::Error;

impl Call<'_> {
    /// The retry policy's decision on attempt `number`, with the budget a retry
    /// takes (or waits for, within the deadline).
    pub(crate) fn decide(
        &mut self,
        number: u32,
        result: &Result<Exchange, Failure>,
        judged: &mut Judged,
        part: Option<&Part>,
    ) -> Decision {
        let inner = &self.client.inner;
        let request = self.request;
        let nothing_sent = matches!(result, Err(f) if f.nothing_sent);
        let backoff = {
            let mut rng = inner.rng.lock().expect("jitter rng");
            inner
                .retry
                .backoff
                .delay(number - 1, self.previous_wait, || rng.f64())
        };
        let mut decision = inner.retry.decide(&Situation {
            verdict: judged.verdict,
            attempt: number,
            may_replay: may_replay(&request.method, &request.headers, nothing_sent),
            retry_after: judged.retry_after,
            left: self.left(),
            total: self.deadline.total,
            backoff,
            retries: request.retries,
        });
        let streamed = part.map_or(0, Part::streamed);
        if streamed > 0 && result.is_err() && matches!(decision, Decision::Retry { .. }) {
            // Part of the body is out already: another attempt would repeat it.
            judged.note = Some(format!(
                "{} already written to the output: not retried (what was written cannot be taken back)",
                crate::duration::human_size(streamed)
            ));
            return Decision::Stop(StopReason::NotRetryable);
        }
        let spent = request.upload.as_ref().filter(|u| u.spent());
        if let (Some(upload), Decision::Retry { .. }) = (spent, &decision) {
            // A stream is read once: what left cannot be sent again.
            judged.note = Some(format!(
                "{} of the streamed request body already sent: not retried (a stream cannot be sent twice)",
                crate::duration::human_size(upload.sent())
            ));
            return Decision::Stop(StopReason::NotRetryable);
        }
        if let Decision::Retry { wait, .. } = &mut decision {
            let now_ms = wall_ms(inner.clock.wall());
            if let Err((message, allowed_at)) = inner.guards.withdraw(self.key(), now_ms) {
                // Wait for the budget when it allows a retry before the deadline.
                let until = allowed_at
                    .filter(|_| !inner.guards.config.fail_fast)
                    .map(|at| Duration::from_millis(at.saturating_sub(now_ms)))
                    .filter(|until| (*until).max(*wait) < self.left());
                match until {
                    Some(until) => {
                        // The backoff first; then `admit` waits for the budget,
                        // looking now and then whether the host is back.
                        let longer = until.saturating_sub(*wait);
                        self.owes_budget = true;
                        self.event(
                            GuardKind::Budget,
                            Said::Wait(longer),
                            format!(
                                "{message}; the retry waits {} for it",
                                human((*wait).max(until))
                            ),
                        );
                    }
                    None => {
                        self.event(GuardKind::Budget, Said::Refused, message);
                        decision = Decision::Stop(StopReason::BudgetExhausted);
                    }
                }
            }
        }
        decision
    }

    /// The attempt's line: into the log, its span, telemetry and the listeners.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        number: u32,
        of: u32,
        started: Instant,
        duration: Duration,
        result: &Result<Exchange, Failure>,
        judged: &Judged,
        decision: Decision,
        span: &tracing::Span,
        scrubber: &crate::redact::Scrubber,
    ) {
        let request = self.request;
        let note = judged.note.clone();
        let attempt = Attempt {
            number,
            of,
            started: started.saturating_duration_since(self.deadline.start),
            duration,
            status: result.as_ref().ok().map(|ex| ex.status),
            fault: result.as_ref().err().map(|f| f.fault),
            layer: attempt_layer(result, judged.verdict, judged.problem.is_some()),
            verdict: judged.verdict,
            decision,
            note,
            url: match result {
                // Redact again only when a redirect moved the request.
                Ok(ex) if ex.url == request.url => self.shown_url.clone(),
                Ok(ex) => scrubber.url(&ex.url),
                Err(f) if f.url == request.url => self.shown_url.clone(),
                Err(f) => scrubber.url(&f.url),
            },
        };
        crate::telemetry::record_outcome(
            span,
            attempt.status(),
            crate::telemetry::attempt_error_type(&attempt).as_deref(),
        );
        self.tell(Event::AttemptEnded(&attempt));
        if let Decision::Retry { wait, reason } = attempt.decision() {
            self.tell(Event::RetryScheduled {
                attempt: number + 1,
                delay: wait,
                cause: match reason {
                    crate::WaitReason::RetryAfter => WaitCause::RetryAfter,
                    _ => WaitCause::Backoff,
                },
                status: attempt.status(),
                fault: attempt.fault(),
            });
        }
        self.log.push(attempt);
        if !matches!(decision, Decision::Retry { .. }) {
            self.settle();
        }
    }

    /// The error for a failed attempt that ends the call with `stop`.
    pub(crate) fn fail(
        &mut self,
        failed: Failed,
        stop: StopReason,
        scrubber: crate::redact::Scrubber,
    ) -> Error {
        if let Some(last) = self.log.last_mut() {
            last.decision = Decision::Stop(stop);
        }
        let elapsed = self.elapsed();
        let answered_at = match &failed.result {
            Ok(ex) if ex.url != self.request.url => Some(scrubber.url(&ex.url)),
            Err(f) if f.url != self.request.url => Some(scrubber.url(&f.url)),
            _ => None,
        };
        let err = final_error(failed.result, failed.semantic_problem, failed.verdict);
        let err = match answered_at {
            Some(url) => err.answered_at(url),
            None => err,
        };
        err.with_scrubber(scrubber)
            .with_request(&self.request.method, self.shown_url.clone())
            .with_outcome(
                std::mem::take(&mut self.log),
                elapsed,
                stop,
                failed.verdict == Verdict::Retryable,
            )
            .with_guard_log(std::mem::take(&mut self.guard_log))
    }
}

fn attempt_layer(
    result: &Result<Exchange, Failure>,
    verdict: Verdict,
    semantic_problem: bool,
) -> Option<Layer> {
    if verdict == Verdict::Success {
        return None;
    }
    Some(match result {
        Err(_) => Layer::Transport,
        Ok(ex) if ex.status.is_success() || semantic_problem => Layer::Semantic,
        Ok(_) => Layer::Http,
    })
}

fn final_error(
    result: Result<Exchange, Failure>,
    semantic_problem: Option<crate::semantic::Problem>,
    verdict: Verdict,
) -> Error {
    match result {
        Err(failure) => {
            let err = Error::new(Kind::Fault(failure.fault));
            match failure.source {
                Some(source) => err.with_source(source),
                None => err,
            }
        }
        Ok(ex) => {
            let kind = match (&ex.redirect_problem, semantic_problem) {
                (Some(RedirectProblem::NotFollowed), _) => Kind::RedirectNotFollowed,
                (Some(RedirectProblem::TooMany(max)), _) => Kind::TooManyRedirects(*max),
                (Some(RedirectProblem::Refused(why)), _) => Kind::RedirectRefused(why.clone()),
                (None, Some(problem)) => Kind::Semantic(problem.kind, problem.message),
                (None, None) if ex.status.is_success() => Kind::Semantic(
                    crate::ErrorKind::Semantic,
                    match verdict {
                        Verdict::Retryable => "the response was still not the one expected".into(),
                        _ => "the classifier rejected the response".into(),
                    },
                ),
                (None, None) => Kind::Status,
            };
            let quiet = matches!(&kind, Kind::Semantic(k, _) if !matches!(k, crate::ErrorKind::ErrorInBody | crate::ErrorKind::Semantic));
            let err = Error::new(kind).with_response(ex.version, ex.status, ex.headers, ex.body);
            if quiet {
                err.without_server_message()
            } else {
                err
            }
        }
    }
}
