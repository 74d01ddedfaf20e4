//! The adaptive limit's stage: a place under the limit learned from the host, and on
//! the way back up, what the attempt says about the host's load.

use std::time::Duration;

use reqwest::StatusCode;

use super::{Permit, Signal};
use crate::call::Call;
use crate::classify::Fault;
use crate::event::{Event, WaitCause};
use crate::guard::GuardKind;
use crate::transport::{Exchange, Failure};

impl Call<'_> {
    /// A place under the host's adaptive limit, when the client has one (`None` when
    /// not). A refusal is the guard and its words, told by the caller once it has
    /// given back the places it holds.
    pub(crate) async fn concurrency_place(
        &mut self,
    ) -> Result<Option<Permit>, (GuardKind, String)> {
        let Some(limits) = &self.client.inner.guards.limits else {
            return Ok(None);
        };
        let since = self.client.inner.clock.now();
        let permit = limits.acquire(self.key(), self.left()).await;
        self.waited(WaitCause::Concurrency, since);
        permit
            .map(Some)
            .map_err(|message| (GuardKind::Concurrency, message))
    }

    /// The place given back, with how the host did: the limit may move.
    pub(crate) fn concurrency_done(
        &mut self,
        place: Permit,
        result: &Result<Exchange, Failure>,
        duration: Duration,
    ) {
        if let Some((from, to)) = place.finish(load_signal(result), duration) {
            self.tell(Event::ConcurrencyLimitChanged { from, to });
        }
    }
}

/// What an attempt says about the host's load, for the adaptive limit.
fn load_signal(result: &Result<Exchange, Failure>) -> Signal {
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
