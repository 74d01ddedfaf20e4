//! One call from start to finish: guards, attempts, verdicts, waits, and the result.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;

use crate::attempt::{Attempt, Decision, StopReason};
use crate::breaker::{Health, Transition};
use crate::classify::{AttemptView, Fault, Verdict};
use crate::download::Part;
use crate::duration::human;
use crate::error::{Kind, Layer};
use crate::event::{CallInfo, Event, WaitCause};
use crate::guard::{host_key, wall_ms, Admit, GuardEvent, GuardKind};
use crate::rate::parse_rate_limit_headers;
use crate::request::Request;
use crate::retry::{may_replay, parse_retry_after, RetryAfter, Situation};
use crate::timeout::Deadline;
use crate::transport::{Exchange, Failure, RedirectProblem, Wire};
use crate::{Client, Error, Response};

/// The result of the last failed attempt, kept while steady decides and waits.
struct Failed {
    result: Result<Exchange, Failure>,
    semantic_problem: Option<crate::semantic::Problem>,
    verdict: Verdict,
}

/// The per-call bookkeeping shared by the steps below.
struct Call<'a> {
    client: &'a Client,
    request: &'a Request,
    host: String,
    shown_url: String,
    deadline: Deadline,
    log: Vec<Attempt>,
    guard_log: Vec<GuardEvent>,
    /// The call's health, told to the breaker once, when the call ends.
    pending: Option<Health>,
    /// The hash of the URL's path, for the breaker's view of which URLs fail.
    url_key: u64,
    /// The current attempt is the half-open circuit's probe.
    probe: bool,
    /// The next attempt still has to take its retry from the budget (it was spent
    /// when the retry was decided, and the call waits for it).
    owes_budget: bool,
}

/// What a guard's event says: the call waits this long, is refused, or only a note.
#[derive(Debug, Clone, Copy)]
enum Said {
    Wait(Duration),
    Refused,
    Note,
}

/// How often a call waiting on a half-open circuit looks whether its probe closed it.
const PROBE_POLL: Duration = Duration::from_millis(100);
/// How often a retry waiting for the budget looks whether the host is back.
const BUDGET_POLL: Duration = Duration::from_millis(250);

impl Client {
    /// One call, in its span; its end told to telemetry and the listeners.
    pub(crate) async fn execute(&self, request: Request) -> Result<Response, Error> {
        use tracing::Instrument as _;
        let method = request.method.clone();
        let host = host_key(&request.url);
        let url = request.scrubber().url(&request.url);
        let span = crate::telemetry::call_span(&method, &url, &host);
        let result = self
            .run(request, host.clone(), url.clone())
            .instrument(span.clone())
            .await;
        let (status, error, attempts, duration, verdict) = match &result {
            Ok(resp) => (
                Some(resp.status()),
                None,
                resp.attempts(),
                resp.elapsed(),
                Some(Verdict::Success),
            ),
            Err(err) => (
                err.status(),
                Some(err.kind()),
                err.attempts(),
                err.elapsed(),
                err.attempt_log().last().map(|a| a.verdict()),
            ),
        };
        crate::telemetry::record_outcome(&span, status, error.map(|e| e.name()));
        let info = CallInfo {
            method: &method,
            url: &url,
            host: &host,
        };
        let event = Event::CallEnded {
            status,
            error,
            attempts,
            duration,
            verdict,
        };
        crate::telemetry::on_event(&info, &event);
        self.inner.listeners.tell(&info, &event);
        result
    }

    async fn run(
        &self,
        request: Request,
        host: String,
        shown_url: String,
    ) -> Result<Response, Error> {
        let inner = &*self.inner;
        // Unverified certificates matter only over https (a redirect to another scheme
        // drops the credentials on its way).
        inner
            .trust
            .check_credentials(request.url.scheme() == "https" && request.has_credentials())?;
        if inner.trust.insecure && request.url.scheme() == "https" {
            tracing::warn!(
                target: "steady::tls",
                "certificate checks are off for this call (--insecure): the server is not verified"
            );
        }
        let clock = &inner.clock;
        let scrubber = request.scrubber();
        let mut call = Call {
            client: self,
            request: &request,
            host,
            shown_url,
            deadline: Deadline::new(
                clock.now(),
                request.deadline.unwrap_or(inner.timeouts.deadline),
            ),
            log: Vec::new(),
            guard_log: Vec::new(),
            pending: None,
            url_key: {
                use std::hash::{Hash, Hasher};
                // Fixed keys: the same hash in every process sharing a state file.
                let mut h = std::hash::DefaultHasher::new();
                request.url.path().hash(&mut h);
                h.finish()
            },
            probe: false,
            owes_budget: false,
        };
        let wire = Wire {
            http: &inner.http,
            redirects: inner.redirects,
            max_body: inner.max_body,
            read_timeout: inner.timeouts.read,
            cookies: inner.cookies.as_deref(),
            user_agent: &inner.user_agent,
            sensitive: &inner.sensitive,
        };
        // A download's temporary file, made before anything is sent.
        let mut part = match (&request.save_to, &request.stream_to) {
            (Some(path), _) => Some(
                Part::create(path)
                    .map_err(|e| e.with_request(&request.method, call.shown_url.clone()))?,
            ),
            // Hedged calls race two answers: one stream cannot take both.
            (None, Some(out)) if inner.guards.config.hedge.is_none() => {
                Some(Part::stream(out.clone()))
            }
            (None, _) => None,
        };
        let max_attempts = request
            .retries
            .unwrap_or(inner.retry.max_retries)
            .saturating_add(1);
        let mut previous_wait: Option<Duration> = None;
        let mut failed: Option<Failed> = None;

        for number in 1..=max_attempts {
            // The guards, before any byte is sent.
            if let Err((guard, message, stop)) = call.admit(number).await {
                call.settle();
                {
                    return Err(match failed.take() {
                        // A retry was refused: the last real failure, with the reason.
                        Some(failed) => call.fail(failed, stop, scrubber),
                        None => Error::new(Kind::Guard(guard, message))
                            .with_scrubber(scrubber)
                            .with_request(&request.method, call.shown_url.clone())
                            .with_guard_log(std::mem::take(&mut call.guard_log))
                            .with_elapsed(call.elapsed()),
                    });
                }
            }
            let permit = match &inner.guards.bulkheads {
                Some(bulkheads) => match bulkheads.acquire(&call.host, call.left()).await {
                    Ok(permit) => Some(permit),
                    Err(message) => {
                        call.event(GuardKind::Bulkhead, Said::Refused, message.clone());
                        call.settle();
                        return Err(match failed.take() {
                            Some(failed) => call.fail(failed, StopReason::BulkheadFull, scrubber),
                            None => Error::new(Kind::Guard(GuardKind::Bulkhead, message))
                                .with_scrubber(scrubber)
                                .with_request(&request.method, call.shown_url.clone())
                                .with_guard_log(std::mem::take(&mut call.guard_log))
                                .with_elapsed(call.elapsed()),
                        });
                    }
                },
                None => None,
            };
            let place = match &inner.guards.limits {
                Some(limits) => match limits.acquire(&call.host, call.left()).await {
                    Ok(place) => Some(place),
                    Err(message) => {
                        drop(permit);
                        call.event(GuardKind::Concurrency, Said::Refused, message.clone());
                        call.settle();
                        return Err(match failed.take() {
                            Some(failed) => call.fail(failed, StopReason::BulkheadFull, scrubber),
                            None => Error::new(Kind::Guard(GuardKind::Concurrency, message))
                                .with_scrubber(scrubber)
                                .with_request(&request.method, call.shown_url.clone())
                                .with_guard_log(std::mem::take(&mut call.guard_log))
                                .with_elapsed(call.elapsed()),
                        });
                    }
                },
                None => None,
            };

            call.tell(Event::AttemptStarted {
                attempt: number,
                resend_count: number - 1,
            });
            let span = crate::telemetry::attempt_span(
                &request.method,
                &call.shown_url,
                &call.host,
                number - 1,
            );
            let started = clock.now();
            let result = {
                use tracing::Instrument as _;
                call.attempt(&wire, part.as_mut())
                    .instrument(span.clone())
                    .await
            };
            let duration = clock.now().saturating_duration_since(started);
            drop(permit);
            if let Some(place) = place {
                if let Some((from, to)) = place.finish(load_signal(&result), duration) {
                    call.tell(Event::ConcurrencyLimitChanged { from, to });
                }
            }
            if let (Err(failure), Some(part)) = (&result, &part) {
                if let Some(why) = &failure.write_error {
                    call.settle();
                    // The local disk failed, not the network: no retry helps.
                    return Err(crate::download::save_error(part.destination(), why)
                        .with_request(&request.method, call.shown_url.clone())
                        .with_elapsed(call.elapsed()));
                }
            }

            let problem = match &result {
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
            let mut verdict = inner.classifier.classify(&view);
            match (&problem, &result) {
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

            // What the attempt tells the guards about the host.
            let now_ms = wall_ms(clock.wall());
            let health = call.health(&result, semantic_problem.is_some());
            let limit = result.as_ref().ok().and_then(|ex| {
                parse_rate_limit_headers(ex.status.as_u16(), &ex.headers, now_ms, retry_after)
            });
            // Latencies only serve hedging's delay.
            if inner.guards.config.hedge.is_some() && result.is_ok() && health == Health::Success {
                inner.guards.latencies.record(&call.host, duration);
            }
            if let Some(limit) = &limit {
                call.event(GuardKind::ServerLimit, Said::Note, describe_limit(limit));
            }
            // The breaker hears of a probe at once, of any other call when it ends.
            let told = if std::mem::take(&mut call.probe) {
                call.pending = None;
                Some((health, call.url_key))
            } else {
                call.pending = Some(health);
                None
            };
            if let Some(t) = inner
                .guards
                .record(&call.host, told, limit.as_ref(), now_ms)
            {
                call.transition(t);
            }

            let nothing_sent = matches!(&result, Err(f) if f.nothing_sent);
            let backoff = {
                let mut rng = inner.rng.lock().expect("jitter rng");
                inner
                    .retry
                    .backoff
                    .delay(number - 1, previous_wait, || rng.f64())
            };
            let mut decision = inner.retry.decide(&Situation {
                verdict,
                attempt: number,
                may_replay: may_replay(&request.method, &request.headers, nothing_sent),
                retry_after,
                left: call.left(),
                total: call.deadline.total,
                backoff,
                retries: request.retries,
            });
            let streamed = part.as_ref().map_or(0, Part::streamed);
            if streamed > 0 && result.is_err() && matches!(decision, Decision::Retry { .. }) {
                // Part of the body is out already: another attempt would repeat it.
                decision = Decision::Stop(StopReason::NotRetryable);
                note = Some(format!(
                    "{} already written to the output: not retried (what was written cannot be taken back)",
                    crate::duration::human_size(streamed)
                ));
            }
            if let Decision::Retry { wait, .. } = &mut decision {
                let now_ms = wall_ms(clock.wall());
                if let Err((message, allowed_at)) = inner.guards.withdraw(&call.host, now_ms) {
                    // Wait for the budget when it allows a retry before the deadline.
                    let until = allowed_at
                        .filter(|_| !inner.guards.config.fail_fast)
                        .map(|at| Duration::from_millis(at.saturating_sub(now_ms)))
                        .filter(|until| (*until).max(*wait) < call.left());
                    match until {
                        Some(until) => {
                            // The backoff first; then `admit` waits for the budget,
                            // looking now and then whether the host is back.
                            let longer = until.saturating_sub(*wait);
                            call.owes_budget = true;
                            call.event(
                                GuardKind::Budget,
                                Said::Wait(longer),
                                format!(
                                    "{message}; the retry waits {} for it",
                                    human((*wait).max(until))
                                ),
                            );
                        }
                        None => {
                            call.event(GuardKind::Budget, Said::Refused, message);
                            decision = Decision::Stop(StopReason::BudgetExhausted);
                        }
                    }
                }
            }

            let layer = attempt_layer(&result, verdict, semantic_problem.is_some());
            let attempt = Attempt {
                number,
                of: max_attempts,
                started: started.saturating_duration_since(call.deadline.start),
                duration,
                status: result.as_ref().ok().map(|ex| ex.status),
                fault: result.as_ref().err().map(|f| f.fault),
                layer,
                verdict,
                decision,
                note,
                url: match &result {
                    // Redact again only when a redirect moved the request.
                    Ok(ex) if ex.url == request.url => call.shown_url.clone(),
                    Ok(ex) => scrubber.url(&ex.url),
                    Err(f) if f.url == request.url => call.shown_url.clone(),
                    Err(f) => scrubber.url(&f.url),
                },
            };
            crate::telemetry::record_outcome(
                &span,
                attempt.status(),
                crate::telemetry::error_type_of(&attempt).as_deref(),
            );
            call.tell(Event::AttemptEnded(&attempt));
            if let Decision::Retry { wait, reason } = attempt.decision() {
                call.tell(Event::RetryScheduled {
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
            call.log.push(attempt);

            if !matches!(decision, Decision::Retry { .. }) {
                call.settle();
            }
            match decision {
                Decision::Done => {
                    let ex = result.expect("a successful attempt has a response");
                    let saved = match (part, ex.saved) {
                        (Some(part), Some(saved)) => Some((
                            part.persist().map_err(|e| {
                                e.with_request(&request.method, call.shown_url.clone())
                                    .with_elapsed(call.elapsed())
                            })?,
                            saved.bytes,
                        )),
                        _ => None,
                    };
                    let elapsed = call.elapsed();
                    return Ok(Response {
                        version: ex.version,
                        method: request.method.clone(),
                        url: ex.url,
                        status: ex.status,
                        headers: ex.headers,
                        body: ex.body,
                        attempts: call.log,
                        guard_log: call.guard_log,
                        elapsed,
                        scrubber,
                        saved,
                    });
                }
                Decision::Retry { wait, .. } => {
                    previous_wait = Some(wait);
                    failed = Some(Failed {
                        result,
                        semantic_problem: problem,
                        verdict,
                    });
                    clock.sleep(wait).await;
                }
                Decision::Stop(reason) => {
                    let failed = Failed {
                        result,
                        semantic_problem: problem,
                        verdict,
                    };
                    return Err(call.fail(failed, reason, scrubber));
                }
            }
        }
        unreachable!("the last attempt always ends in Done or Stop")
    }
}

impl Call<'_> {
    fn elapsed(&self) -> Duration {
        self.client
            .inner
            .clock
            .now()
            .saturating_duration_since(self.deadline.start)
    }

    fn left(&self) -> Duration {
        self.deadline.left(self.client.inner.clock.now())
    }

    /// The call's identity, for listeners.
    fn info(&self) -> CallInfo<'_> {
        CallInfo {
            method: &self.request.method,
            url: &self.shown_url,
            host: &self.host,
        }
    }

    /// Tells telemetry (logs, metrics) and the client's listeners of `event`.
    fn tell(&self, event: Event<'_>) {
        let info = self.info();
        crate::telemetry::on_event(&info, &event);
        let listeners = &self.client.inner.listeners;
        if listeners.any() {
            listeners.tell(&info, &event);
        }
    }

    /// A guard's decision: into the call's guard log, `-v` (through `tracing`) and the
    /// listeners, from one place.
    fn event(&mut self, guard: GuardKind, said: Said, message: String) {
        let wait = match said {
            Said::Wait(wait) => Some(wait),
            Said::Refused | Said::Note => None,
        };
        let event = match (said, WaitCause::of_guard(guard)) {
            (Said::Wait(duration), Some(cause)) => Event::Waited {
                cause,
                duration,
                message: &message,
            },
            (Said::Refused, _) => Event::GuardRefused {
                guard,
                message: &message,
            },
            _ => Event::GuardNote {
                guard,
                message: &message,
            },
        };
        self.tell(event);
        self.guard_log.push(GuardEvent {
            at: self.elapsed(),
            guard,
            wait,
            message,
        });
    }

    fn transition(&mut self, t: Transition) {
        self.tell(Event::BreakerTransition {
            from: t.from,
            to: t.to,
            reason: &t.message,
        });
        self.guard_log.push(GuardEvent {
            at: self.elapsed(),
            guard: GuardKind::Breaker,
            wait: None,
            message: format!("circuit {}", t.message),
        });
    }

    /// Tells the breaker how the call went, once, when it ends.
    fn settle(&mut self) {
        let Some(health) = self.pending.take() else {
            return;
        };
        let guards = &self.client.inner.guards;
        let now_ms = wall_ms(self.client.inner.clock.wall());
        if let Some(t) = guards.record(&self.host, Some((health, self.url_key)), None, now_ms) {
            self.transition(t);
        }
    }

    /// Asks the guards whether attempt `number` may go, and waits for permits: the
    /// retry budget (when the retry was decided on a spent one), the circuit (an open
    /// one lets the call wait for its probe when that comes before the deadline), then
    /// pauses and the client's pace. `Err` carries the refusing guard, its message and
    /// the stop reason for a retry.
    async fn admit(&mut self, number: u32) -> Result<(), (GuardKind, String, StopReason)> {
        let inner = &self.client.inner;
        let fail_fast = inner.guards.config.fail_fast;
        let waiting_since = wall_ms(inner.clock.wall());
        while std::mem::take(&mut self.owes_budget) {
            let now_ms = wall_ms(inner.clock.wall());
            let Err((message, allowed_at)) = inner.guards.withdraw(&self.host, now_ms) else {
                break;
            };
            // The host answered another call while this retry waited: it is back, and
            // the budget (which guards a failing host) need not hold the retry longer.
            if inner
                .guards
                .recovered_since(&self.host, waiting_since.saturating_sub(1))
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
            match inner.guards.admit(&self.host, number, now_ms) {
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

    /// One attempt, hedged when the client hedges and the request may be replayed
    /// (never a download: two attempts cannot share its file).
    async fn attempt(
        &mut self,
        wire: &Wire<'_>,
        part: Option<&mut Part>,
    ) -> Result<Exchange, Failure> {
        let inner = &self.client.inner;
        let request = self.request;
        let left = self.left();
        if part.is_some() {
            return wire.watched(request, part, left).await;
        }
        let hedge_after = inner
            .guards
            .config
            .hedge
            .as_ref()
            .filter(|_| may_replay(&request.method, &request.headers, false))
            .and_then(|h| h.delay(&inner.guards.latencies, &self.host))
            .filter(|d| *d < left);
        let Some(delay) = hedge_after else {
            return wire.watched(request, None, left).await;
        };
        // Boxed: the hedged path holds two exchanges, and inline they would make every
        // call's state machine (hedged or not) twice as large to create and move.
        let mut primary = Box::pin(wire.watched(request, None, left));
        tokio::select! {
            result = &mut primary => return result,
            _ = inner.clock.sleep(delay) => {}
        }
        if let Err((message, _)) = inner
            .guards
            .withdraw(&self.host, wall_ms(inner.clock.wall()))
        {
            self.event(
                GuardKind::Hedge,
                Said::Note,
                format!("not hedged after {}: {message}", human(delay)),
            );
            return primary.await;
        }
        self.tell(Event::HedgeSent { after: delay });
        self.event(
            GuardKind::Hedge,
            Said::Note,
            format!("no answer after {}: sent a second request", human(delay)),
        );
        let mut secondary = Box::pin(wire.watched(request, None, self.left()));
        let (mut first_failed, mut second_failed) = (None, None);
        loop {
            tokio::select! {
                result = &mut primary, if first_failed.is_none() => match result {
                    Ok(ex) => {
                        self.tell(Event::HedgeWon { second: false });
                        self.event(GuardKind::Hedge, Said::Note, "the first request answered first; the second was cancelled".into());
                        return Ok(ex);
                    }
                    Err(f) => first_failed = Some(f),
                },
                result = &mut secondary, if second_failed.is_none() => match result {
                    Ok(ex) => {
                        self.tell(Event::HedgeWon { second: true });
                        self.event(GuardKind::Hedge, Said::Note, "the second request answered first; the first was cancelled".into());
                        return Ok(ex);
                    }
                    Err(f) => second_failed = Some(f),
                },
            }
            if second_failed.is_some() {
                if let Some(first) = first_failed.take() {
                    return Err(first);
                }
            }
        }
    }

    /// What an attempt says about the host's health.
    fn health(&self, result: &Result<Exchange, Failure>, semantic: bool) -> Health {
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

    /// The error for a failed attempt that ends the call with `stop`.
    fn fail(
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

/// What an attempt says about the host's load, for the adaptive limit.
fn load_signal(result: &Result<Exchange, Failure>) -> crate::limit::Signal {
    use crate::limit::Signal;
    match result {
        Ok(ex)
            if matches!(
                ex.status,
                StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::GATEWAY_TIMEOUT
            ) =>
        {
            Signal::Overload
        }
        Ok(_) => Signal::Success,
        Err(f) if matches!(f.fault, Fault::ConnectTimeout | Fault::ReadTimeout) => Signal::Overload,
        Err(_) => Signal::Neutral,
    }
}

fn describe_limit(limit: &crate::rate::ServerLimit) -> String {
    match limit {
        crate::rate::ServerLimit::Pause { reason, .. } => format!("host paused: {reason}"),
        crate::rate::ServerLimit::Pace { reason, .. } => format!("host paced: {reason}"),
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
