//! The order of the stack, as code: what an attempt passes through, outermost first.
//!
//! ```text
//! deadline         one limit for the whole call; everything below runs in what is left
//!  fallback        (FallbackRequest) answers for an outage once the call has failed
//!   retry          classify each attempt, decide whether another can succeed, wait
//!    budget        a retry is taken from the host's budget, or waits for it
//!     breaker      a host that is down fails fast; a probe goes when the time comes
//!      rate        the server's pauses, then the client's own pace
//!       bulkhead   a place among the calls in flight to the host
//!        concurrency  a place under the adaptive limit learned from the host
//!         hedge    a slow idempotent attempt gets a second request
//!          transport  connect and read timeouts, redirects, the body's limit
//!         semantic checks judge a 2xx on the way back up
//! ```
//!
//! Why this order: the deadline is outermost because it is the promise made to the
//! caller; retry sits inside it so that no attempt or wait can break that promise.
//! The budget and the breaker come first among the guards because failing fast costs
//! nothing and must not spend permits; rate permits come before the bulkhead and the
//! concurrency limit so that a call does not hold a place while it waits for a permit.
//! Hedging and the transport are one attempt; the semantic checks run on what came
//! back, before the retry policy decides.
//!
//! Where each stage's code lives: the guards' shared look (budget owed, breaker, rate)
//! in `guard/stage.rs`; `policy/bulkhead/stage.rs`, `policy/concurrency/stage.rs`,
//! `policy/hedge/stage.rs` (the attempt), `policy/retry/stage.rs` (what follows an
//! attempt: the retry decision and the budget a retry takes); the transport in
//! `transport/`; the judging on the way back up in `call/judge.rs`.
//!
//! A new guard before the attempt is a folder under `policy/` with its `stage.rs`, a
//! variant of [`Stage`] and one line in [`BEFORE_ATTEMPT`].

use std::time::Duration;

use crate::attempt::StopReason;
use crate::call::{Call, Failed, Said};
use crate::error::Kind;
use crate::event::{Event, WaitCause};
use crate::guard::GuardKind;

use crate::transport::{Exchange, Failure, Wire};
use crate::Error;

/// A stage an attempt passes before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The budget a retry owes, the breaker, the server's pauses and the client's
    /// pace: one atomic look at the host's shared state ([`crate::guard`]).
    Guards,
    /// A place among the calls in flight to the host ([`crate::bulkhead`]).
    Bulkhead,
    /// A place under the adaptive limit ([`crate::limit`]).
    Concurrency,
}

/// The stages before each attempt, outermost first.
pub(crate) const BEFORE_ATTEMPT: [Stage; 3] = [Stage::Guards, Stage::Bulkhead, Stage::Concurrency];

/// The places an attempt holds while it is out.
#[derive(Default)]
pub(crate) struct Places {
    bulkhead: Option<tokio::sync::OwnedSemaphorePermit>,
    concurrency: Option<crate::limit::Permit>,
}

/// Why an attempt did not go: the guard, its words, and the stop reason for a retry.
pub(crate) struct Refusal {
    guard: GuardKind,
    message: String,
    stop: StopReason,
}

impl Call<'_> {
    /// Takes the attempt down the stack: each stage in [`BEFORE_ATTEMPT`] admits it
    /// (perhaps after a wait within the deadline) or refuses it.
    pub(crate) async fn enter(&mut self, number: u32) -> Result<Places, Refusal> {
        let mut places = Places::default();
        for stage in BEFORE_ATTEMPT {
            match stage {
                Stage::Guards => {
                    self.admit(number)
                        .await
                        .map_err(|(guard, message, stop)| Refusal {
                            guard,
                            message,
                            stop,
                        })?
                }
                Stage::Bulkhead => places.bulkhead = self.bulkhead_place().await?,
                Stage::Concurrency => match self.concurrency_place().await {
                    Ok(place) => places.concurrency = place,
                    Err(refusal) => {
                        // The bulkhead's place goes back before the refusal is told.
                        drop(places.bulkhead.take());
                        return Err(self.tell_refusal(refusal));
                    }
                },
            }
        }
        Ok(places)
    }

    /// A wait for a place (bulkhead, concurrency), told when it was one.
    pub(crate) fn waited(&mut self, cause: WaitCause, since: std::time::Instant) {
        let duration = self
            .client
            .inner
            .clock
            .now()
            .saturating_duration_since(since);
        if duration >= Duration::from_millis(1) {
            let message = format!("waited {} for a place", crate::duration::human(duration));
            self.tell(Event::Waited {
                cause,
                duration,
                message: &message,
            });
        }
    }

    /// A place refused by `guard`: told, and the refusal the call ends with.
    pub(crate) fn refuse(&mut self, guard: GuardKind, message: String) -> Refusal {
        self.tell_refusal((guard, message))
    }

    fn tell_refusal(&mut self, (guard, message): (GuardKind, String)) -> Refusal {
        self.event(guard, Said::Refused, message.clone());
        Refusal {
            guard,
            message,
            stop: StopReason::BulkheadFull,
        }
    }

    /// The error of a refused attempt: the last real failure with the reason when a
    /// retry was refused, else the guard's own.
    pub(crate) fn refused(
        &mut self,
        refusal: Refusal,
        failed: Option<Failed>,
        scrubber: crate::redact::Scrubber,
    ) -> Error {
        self.settle();
        match failed {
            Some(failed) => self.fail(failed, refusal.stop, scrubber),
            None => Error::new(Kind::Guard(refusal.guard, refusal.message))
                .with_scrubber(scrubber)
                .with_request(&self.request.method, self.shown_url.clone())
                .with_guard_log(std::mem::take(&mut self.guard_log))
                .with_elapsed(self.elapsed()),
        }
    }

    /// The attempt itself, in its span.
    pub(crate) async fn send(
        &mut self,
        wire: &Wire<'_>,
        part: Option<&mut crate::download::Part>,
        number: u32,
    ) -> (Result<Exchange, Failure>, tracing::Span) {
        use tracing::Instrument as _;
        self.tell(Event::AttemptStarted {
            attempt: number,
            resend_count: number - 1,
        });
        let span = crate::telemetry::attempt_span(
            &self.request.method,
            &self.shown_url,
            &self.host,
            number - 1,
        );
        let result = self.attempt(wire, part).instrument(span.clone()).await;
        (result, span)
    }
}

impl Call<'_> {
    /// Back up the stack: the places given back, the adaptive limit told how the host
    /// did.
    pub(crate) fn leave(
        &mut self,
        places: Places,
        result: &Result<Exchange, Failure>,
        duration: Duration,
    ) {
        drop(places.bulkhead);
        if let Some(place) = places.concurrency {
            self.concurrency_done(place, result, duration);
        }
    }
}
