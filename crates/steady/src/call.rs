//! One call from start to finish: attempts, verdicts, waits, and the result.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;

use crate::attempt::{Attempt, Decision};
use crate::classify::{AttemptView, Verdict};
use crate::duration::human;
use crate::error::{Kind, Layer};
use crate::request::Request;
use crate::retry::{may_replay, parse_retry_after, RetryAfter, Situation};
use crate::timeout::Deadline;
use crate::transport::{Exchange, Failure, RedirectProblem, Wire};
use crate::{Client, Error, Response};

impl Client {
    pub(crate) async fn execute(&self, request: Request) -> Result<Response, Error> {
        let inner = &*self.inner;
        let clock = &inner.clock;
        let scrubber = request.scrubber();
        let shown_url = scrubber.url(&request.url);
        let deadline = Deadline::new(
            clock.now(),
            request.deadline.unwrap_or(inner.timeouts.deadline),
        );
        let wire = Wire {
            http: &inner.http,
            redirects: inner.redirects,
            max_body: inner.max_body,
        };
        let max_attempts = inner.retry.max_retries.saturating_add(1);
        let mut log: Vec<Attempt> = Vec::new();
        let mut previous_wait: Option<Duration> = None;

        for number in 1..=max_attempts {
            let started = clock.now();
            let left = deadline.left(started);
            let result = match tokio::time::timeout(left, wire.exchange(&request)).await {
                Ok(result) => result,
                Err(_) => Err(Failure::new(
                    crate::classify::Fault::Deadline,
                    request.url.clone(),
                    false,
                )),
            };
            let duration = clock.now().saturating_duration_since(started);

            let semantic_problem = match &result {
                Ok(ex) if ex.status.is_success() => crate::semantic::check(&ex.headers, &ex.body),
                _ => None,
            };
            let view = match &result {
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
            let verdict = inner.classifier.classify(&view);

            let mut note = semantic_problem.clone();
            let retry_after = match &result {
                Ok(ex)
                    if matches!(
                        ex.status,
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    ) =>
                {
                    ex.headers.get(RETRY_AFTER).and_then(|value| {
                        let text = String::from_utf8_lossy(value.as_bytes());
                        match parse_retry_after(&text, clock.wall()) {
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
            let nothing_sent = matches!(&result, Err(f) if f.nothing_sent);
            let backoff = {
                let mut rng = inner.rng.lock().expect("jitter rng");
                inner
                    .retry
                    .backoff
                    .delay(number - 1, previous_wait, || rng.f64())
            };
            let decision = inner.retry.decide(&Situation {
                verdict,
                attempt: number,
                may_replay: may_replay(&request.method, &request.headers, nothing_sent),
                retry_after,
                left: deadline.left(clock.now()),
                total: deadline.total,
                backoff,
            });

            let layer = attempt_layer(&result, verdict, semantic_problem.is_some());
            let attempt = Attempt {
                number,
                of: max_attempts,
                started: started.saturating_duration_since(deadline.start),
                duration,
                status: result.as_ref().ok().map(|ex| ex.status),
                fault: result.as_ref().err().map(|f| f.fault),
                layer,
                verdict,
                decision,
                note,
                url: match &result {
                    Ok(ex) => scrubber.url(&ex.url),
                    Err(f) => scrubber.url(&f.url),
                },
            };
            log_attempt(&request, &shown_url, &attempt);
            log.push(attempt);

            match decision {
                Decision::Done => {
                    let ex = result.expect("a successful attempt has a response");
                    return Ok(Response {
                        version: ex.version,
                        method: request.method,
                        url: ex.url,
                        status: ex.status,
                        headers: ex.headers,
                        body: ex.body,
                        attempts: log,
                        elapsed: clock.now().saturating_duration_since(deadline.start),
                        scrubber,
                    });
                }
                Decision::Retry { wait, .. } => {
                    previous_wait = Some(wait);
                    clock.sleep(wait).await;
                }
                Decision::Stop(reason) => {
                    let elapsed = clock.now().saturating_duration_since(deadline.start);
                    return Err(final_error(result, semantic_problem, verdict)
                        .with_scrubber(scrubber)
                        .with_request(&request.method, shown_url)
                        .with_outcome(log, elapsed, reason, verdict == Verdict::Retryable));
                }
            }
        }
        unreachable!("the last attempt always ends in Done or Stop")
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
    semantic_problem: Option<String>,
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
                (None, Some(problem)) => Kind::Semantic(problem),
                (None, None) if ex.status.is_success() => Kind::Semantic(match verdict {
                    Verdict::Retryable => "the response was still not the one expected".into(),
                    _ => "the classifier rejected the response".into(),
                }),
                (None, None) => Kind::Status,
            };
            Error::new(kind).with_response(ex.version, ex.status, ex.headers, ex.body)
        }
    }
}

fn log_attempt(request: &Request, url: &str, attempt: &Attempt) {
    let layer = attempt
        .layer()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let note = attempt
        .note()
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default();
    let decision = match attempt.decision() {
        Decision::Done => String::new(),
        _ => format!("; {}", attempt.why()),
    };
    tracing::info!(
        target: "steady::attempt",
        attempt = attempt.number(),
        of = attempt.of(),
        method = %request.method,
        url = %url,
        status = attempt.status().map(|s| s.as_u16()),
        fault = attempt.fault().map(|f| f.name()),
        duration_ms = attempt.duration().as_millis() as u64,
        "attempt {}/{} {} {} -> {}{} in {}{}{}",
        attempt.number(),
        attempt.of(),
        request.method,
        url,
        attempt.outcome(),
        layer,
        human(attempt.duration()),
        decision,
        note,
    );
}
