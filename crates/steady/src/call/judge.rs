//! On the way back up: the semantic checks and the classifier judge the attempt, and
//! the guards hear how the host did.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;

use crate::breaker::Health;
use crate::call::{Call, Failed, Said};
use crate::classify::{AttemptView, Fault, Verdict};
use crate::guard::{wall_ms, GuardKind};
use crate::rate::parse_rate_limit_headers;
use crate::retry::{parse_retry_after, RetryAfter};
use crate::transport::{Exchange, Failure};

/// What the checks and the classifier made of an attempt.
pub(crate) struct Judged {
    pub(crate) problem: Option<crate::semantic::Problem>,
    pub(crate) verdict: Verdict,
    /// A note for the attempt log (a semantic problem, a Retry-After ignored).
    pub(crate) note: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

impl Judged {
    pub(crate) fn into_failed(self, result: Result<Exchange, Failure>) -> Failed {
        Failed {
            result,
            semantic_problem: self.problem,
            verdict: self.verdict,
        }
    }
}

impl Call<'_> {
    /// Judges an attempt: the request's checks on a response they apply to, the
    /// classifier's verdict, and the server's `Retry-After`.
    pub(crate) fn judge(&self, result: &Result<Exchange, Failure>) -> Judged {
        let inner = &self.client.inner;
        let request = self.request;
        let problem = match result {
            Ok(Exchange {
                saved: Some(saved), ..
            }) if saved.unchecked && request.checks.reads_any_body() => Some(
                crate::semantic::Problem::unchecked(saved.bytes, inner.max_body),
            ),
            Ok(ex) if ex.redirect_problem.is_none() && request.checks.applies(ex.status) => {
                request.checks.check(&AttemptView {
                    method: &request.method,
                    status: Some(ex.status),
                    headers: Some(&ex.headers),
                    body: Some(&ex.body),
                    fault: None,
                    semantic_problem: None,
                    redirect_problem: false,
                })
            }
            _ => None,
        };
        let semantic_problem = problem.as_ref().map(|p| p.message.clone());
        let view = match result {
            Ok(ex) => AttemptView {
                method: &request.method,
                status: Some(ex.status),
                headers: Some(&ex.headers),
                body: Some(&ex.body),
                fault: None,
                semantic_problem: semantic_problem.as_deref(),
                redirect_problem: ex.redirect_problem.is_some(),
            },
            Err(failure) => AttemptView {
                method: &request.method,
                status: None,
                headers: None,
                body: None,
                fault: Some(failure.fault),
                semantic_problem: None,
                redirect_problem: false,
            },
        };
        let mut verdict = inner.classifier.classify(&view);
        match (&problem, result) {
            // Polling: the condition is not met yet; ask again.
            (Some(p), _) if p.retryable => verdict = Verdict::Retryable,
            // A status the request listed as expected is a success once it passed the checks.
            (None, Ok(ex))
                if ex.redirect_problem.is_none() && request.checks.expects(ex.status) =>
            {
                verdict = Verdict::Success
            }
            _ => {}
        }
        let mut note = semantic_problem;
        let retry_after = match result {
            Ok(ex)
                if matches!(
                    ex.status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                ) =>
            {
                ex.headers.get(RETRY_AFTER).and_then(|value| {
                    let text = String::from_utf8_lossy(value.as_bytes());
                    match parse_retry_after(&text, inner.clock.wall()) {
                        RetryAfter::Wait(wait) => Some(wait),
                        RetryAfter::Invalid(why) => {
                            note = Some(format!("Retry-After ignored: {why}"));
                            None
                        }
                    }
                })
            }
            _ => None,
        };
        Judged {
            problem,
            verdict,
            note,
            retry_after,
        }
    }

    /// What the attempt tells the guards about the host: its health (the breaker
    /// hears of a probe at once, of any other call when it ends), the limits its
    /// headers announce, its latency (for hedging's delay).
    pub(crate) fn inform_guards(
        &mut self,
        result: &Result<Exchange, Failure>,
        judged: &Judged,
        duration: Duration,
    ) {
        let inner = &self.client.inner;
        let now_ms = wall_ms(inner.clock.wall());
        let health = self.health(result, judged.problem.is_some());
        let limit = result.as_ref().ok().and_then(|ex| {
            parse_rate_limit_headers(ex.status.as_u16(), &ex.headers, now_ms, judged.retry_after)
        });
        if inner.guards.config.hedge.is_some() && result.is_ok() && health == Health::Success {
            inner.guards.latencies.record(self.key(), duration);
        }
        if let Some(limit) = &limit {
            self.event(GuardKind::ServerLimit, Said::Note, describe_limit(limit));
        }
        let told = if std::mem::take(&mut self.probe) {
            self.pending = None;
            Some((health, self.url_key))
        } else {
            self.pending = Some(health);
            None
        };
        if let Some(t) = inner
            .guards
            .record(self.key(), told, limit.as_ref(), now_ms)
        {
            self.transition(t);
        }
    }

    /// What an attempt says about the host's health.
    pub(crate) fn health(&self, result: &Result<Exchange, Failure>, semantic: bool) -> Health {
        match result {
            Err(f) if f.fault == Fault::BodyTooLarge => Health::Success,
            Err(_) => Health::Failure,
            Ok(ex) if ex.status.is_server_error() || ex.status == StatusCode::TOO_MANY_REQUESTS => {
                Health::Failure
            }
            Ok(_) if semantic && self.client.inner.guards.count_semantic() => Health::Failure,
            Ok(_) => Health::Success,
        }
    }
}

fn describe_limit(limit: &crate::rate::ServerLimit) -> String {
    match limit {
        crate::rate::ServerLimit::Pause { reason, .. } => format!("host paused: {reason}"),
        crate::rate::ServerLimit::Pace { reason, .. } => format!("host paced: {reason}"),
    }
}
