//! One call from start to finish: the loop that drives it, on one screen.
//!
//! Each attempt goes down the stack ([`stack`]: the order, written once) and back up:
//! the guards admit it or refuse it, the transport exchanges it, the semantic checks
//! and the classifier judge it ([`judge`]), the guards hear how the host did, the
//! retry policy and the budget decide what follows ([`decide`]), and the deadline
//! bounds every wait. Every decision is an [`Event`] told to telemetry and the
//! listeners from one place ([`Call::tell`]).

pub(crate) mod judge;
pub(crate) mod stack;

use std::time::Duration;

use crate::attempt::{Attempt, Decision};
use crate::breaker::{Health, Transition};
use crate::classify::Verdict;
use crate::download::Part;
use crate::event::{CallInfo, Event, WaitCause};
use crate::guard::{host_key, wall_ms, GuardEvent, GuardKind};
use crate::request::Request;
use crate::timeout::Deadline;
use crate::transport::{Exchange, Failure, Wire};
use crate::{Client, Error, Response};

/// The result of the last failed attempt, kept while steady decides and waits.
pub(crate) struct Failed {
    pub(crate) result: Result<Exchange, Failure>,
    pub(crate) semantic_problem: Option<crate::semantic::Problem>,
    pub(crate) verdict: Verdict,
}

/// The per-call bookkeeping shared by the steps below.
pub(crate) struct Call<'a> {
    pub(crate) client: &'a Client,
    pub(crate) request: &'a Request,
    pub(crate) host: String,
    /// The guards' key when the call is in a scope of its host ([`Call::key`]).
    pub(crate) scoped: Option<String>,
    pub(crate) shown_url: String,
    pub(crate) deadline: Deadline,
    pub(crate) log: Vec<Attempt>,
    pub(crate) guard_log: Vec<GuardEvent>,
    /// The call's health, told to the breaker once, when the call ends.
    pub(crate) pending: Option<Health>,
    /// The hash of the URL's path, for the breaker's view of which URLs fail.
    pub(crate) url_key: u64,
    /// The current attempt is the half-open circuit's probe.
    pub(crate) probe: bool,
    /// The next attempt still has to take its retry from the budget (it was spent
    /// when the retry was decided, and the call waits for it).
    pub(crate) owes_budget: bool,
    /// The wait before the last retry (decorrelated jitter grows from it).
    pub(crate) previous_wait: Option<Duration>,
}

/// What a guard's event says: the call waits this long, is refused, or only a note.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Said {
    Wait(Duration),
    Refused,
    Note,
}

impl Client {
    /// One call, in its span; its end told to telemetry and the listeners.
    pub(crate) async fn execute(&self, request: Request) -> Result<Response, Error> {
        self.execute_via(request, None).await
    }

    /// One call whose attempts go through `via` instead of the client's transport
    /// when given (a reqwest-middleware chain).
    pub(crate) async fn execute_via<'a>(
        &'a self,
        mut request: Request,
        via: Option<&'a crate::transport::Via<'a>>,
    ) -> Result<Response, Error> {
        use tracing::Instrument as _;
        request.add_defaults(self);
        let method = request.method.clone();
        let host = host_key(&request.url);
        let scrubber = request.scrubber();
        let url = scrubber.url(&request.url);
        let span = crate::telemetry::call_span(&method, &url, &host);
        let result = self
            .run(request, scrubber, host.clone(), url.clone(), via)
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

    async fn run<'a>(
        &'a self,
        request: Request,
        scrubber: crate::redact::Scrubber,
        host: String,
        shown_url: String,
        via: Option<&'a crate::transport::Via<'a>>,
    ) -> Result<Response, Error> {
        let inner = &*self.inner;
        if request.upload.is_some() && (via.is_some() || self.http.is_service()) {
            return Err(Error::usage(crate::stream::upload::NOT_THROUGH));
        }
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
        let mut call = Call::new(self, &request, host, shown_url);
        let wire = Wire {
            http: &self.http,
            via,
            redirects: inner.redirects,
            max_body: inner.max_body,
            read_timeout: inner.timeouts.read,
            #[cfg(feature = "cookies")]
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
        let mut failed: Option<Failed> = None;

        for number in 1..=max_attempts {
            // Down the stack: every stage admits the attempt, waits, or refuses it.
            let places = match call.enter(number).await {
                Ok(places) => places,
                Err(refusal) => return Err(call.refused(refusal, failed.take(), scrubber)),
            };
            let started = clock.now();
            let (result, span) = call.send(&wire, part.as_mut(), number).await;
            let duration = clock.now().saturating_duration_since(started);
            call.leave(places, &result, duration);
            if let Some(err) = call.unwritable(&result, part.as_ref()) {
                return Err(err);
            }
            // Back up: judged, told to the guards, decided.
            let mut judged = call.judge(&result);
            call.inform_guards(&result, &judged, duration);
            let decision = call.decide(number, &result, &mut judged, part.as_ref());
            call.record(
                number,
                max_attempts,
                started,
                duration,
                &result,
                &judged,
                decision,
                &span,
                &scrubber,
            );
            match decision {
                Decision::Done => return call.done(result, part, scrubber),
                Decision::Retry { wait, .. } => {
                    call.previous_wait = Some(wait);
                    failed = Some(judged.into_failed(result));
                    clock.sleep(wait).await;
                }
                Decision::Stop(reason) => {
                    return Err(call.fail(judged.into_failed(result), reason, scrubber))
                }
            }
        }
        unreachable!("the last attempt always ends in Done or Stop")
    }
}

impl<'a> Call<'a> {
    fn new(client: &'a Client, request: &'a Request, host: String, shown_url: String) -> Self {
        let inner = &client.inner;
        Call {
            client,
            request,
            scoped: crate::guard::scoped_key(
                &host,
                inner
                    .guards
                    .config
                    .scope_of(request.scope.as_deref(), request.url.path()),
            ),
            host,
            shown_url,
            deadline: Deadline::new(
                inner.clock.now(),
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
            previous_wait: None,
        }
    }
}

impl Call<'_> {
    /// What the guards keep this call's state under: its scope's key, else its host's.
    pub(crate) fn key(&self) -> &str {
        self.scoped.as_deref().unwrap_or(&self.host)
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.client
            .inner
            .clock
            .now()
            .saturating_duration_since(self.deadline.start)
    }

    pub(crate) fn left(&self) -> Duration {
        self.deadline.left(self.client.inner.clock.now())
    }

    /// The call's identity, for listeners.
    pub(crate) fn info(&self) -> CallInfo<'_> {
        CallInfo {
            method: &self.request.method,
            url: &self.shown_url,
            host: &self.host,
        }
    }

    /// Tells telemetry (logs, metrics, `-v`) and the client's listeners of `event`, and
    /// keeps the guards' decisions among them in the call's guard log: one event, every
    /// view of it.
    pub(crate) fn tell(&mut self, event: Event<'_>) {
        let info = self.info();
        crate::telemetry::on_event(&info, &event);
        let listeners = &self.client.inner.listeners;
        if listeners.any() {
            listeners.tell(&info, &event);
        }
        let (guard, wait, message) = match event {
            Event::Waited {
                cause,
                duration,
                message,
            } => match cause.guard() {
                Some(guard) => (guard, Some(duration), message.to_owned()),
                None => return,
            },
            Event::GuardRefused { guard, message } | Event::GuardNote { guard, message } => {
                (guard, None, message.to_owned())
            }
            Event::BreakerTransition { reason, .. } => {
                (GuardKind::Breaker, None, format!("circuit {reason}"))
            }
            _ => return,
        };
        self.guard_log.push(GuardEvent {
            at: self.elapsed(),
            guard,
            wait,
            message,
        });
    }

    /// A guard's decision, as its event.
    pub(crate) fn event(&mut self, guard: GuardKind, said: Said, message: String) {
        if guard == GuardKind::Hedge {
            // Hedging has typed events of its own (HedgeSent, HedgeWon): its notes go
            // to the guard log and -v only.
            tracing::info!(target: "steady::guard", guard = guard.name(), "{} {}: {message}", guard.name(), self.shown_url);
            self.guard_log.push(GuardEvent {
                at: self.elapsed(),
                guard,
                wait: None,
                message,
            });
            return;
        }
        self.tell(match (said, WaitCause::of_guard(guard)) {
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
        });
    }

    pub(crate) fn transition(&mut self, t: Transition) {
        self.tell(Event::BreakerTransition {
            from: t.from,
            to: t.to,
            reason: &t.message,
        });
    }

    /// Tells the breaker how the call went, once, when it ends.
    pub(crate) fn settle(&mut self) {
        let Some(health) = self.pending.take() else {
            return;
        };
        let guards = &self.client.inner.guards;
        let now_ms = wall_ms(self.client.inner.clock.wall());
        if let Some(t) = guards.record(self.key(), Some((health, self.url_key)), None, now_ms) {
            self.transition(t);
        }
    }

    /// A call that ended with a response: the download put in place, the response.
    fn done(
        self,
        result: Result<Exchange, Failure>,
        part: Option<Part>,
        scrubber: crate::redact::Scrubber,
    ) -> Result<Response, Error> {
        let request = self.request;
        let ex = result.expect("a successful attempt has a response");
        let saved = match (part, ex.saved) {
            (Some(part), Some(saved)) => Some((
                part.persist().map_err(|e| {
                    e.with_request(&request.method, self.shown_url.clone())
                        .with_elapsed(self.elapsed())
                })?,
                saved.bytes,
            )),
            _ => None,
        };
        let elapsed = self.elapsed();
        Ok(Response {
            version: ex.version,
            method: request.method.clone(),
            url: ex.url,
            status: ex.status,
            headers: ex.headers,
            body: ex.body,
            attempts: self.log,
            guard_log: self.guard_log,
            redirects: ex.redirects,
            elapsed,
            scrubber,
            saved,
        })
    }

    /// The local disk failed, not the network: no retry helps.
    fn unwritable(
        &mut self,
        result: &Result<Exchange, Failure>,
        part: Option<&Part>,
    ) -> Option<Error> {
        let (Err(failure), Some(part)) = (result, part) else {
            return None;
        };
        let why = failure.write_error.as_ref()?;
        self.settle();
        Some(
            crate::download::save_error(part.destination(), why)
                .with_request(&self.request.method, self.shown_url.clone())
                .with_elapsed(self.elapsed()),
        )
    }
}
