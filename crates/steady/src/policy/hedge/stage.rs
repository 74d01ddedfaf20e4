//! One attempt, hedged when the client hedges and the request may be replayed: a
//! second request after a delay, the first answer wins, the other is cancelled.

use crate::call::{Call, Said};
use crate::download::Part;
use crate::duration::human;
use crate::event::Event;
use crate::guard::{wall_ms, GuardKind};
use crate::retry::may_replay;
use crate::transport::{Exchange, Failure, Wire};

impl Call<'_> {
    /// One attempt, hedged when the client hedges and the request may be replayed
    /// (never a download: two attempts cannot share its file).
    pub(crate) async fn attempt(
        &mut self,
        wire: &Wire<'_>,
        part: Option<&mut Part>,
    ) -> Result<Exchange, Failure> {
        let inner = &self.client.inner;
        let request = self.request;
        let left = self.left();
        // A download has one file; a middleware chain lends its extensions to one
        // attempt at a time, so a hedge there would only wait behind the first.
        if part.is_some() || wire.via.is_some() {
            return wire.watched(request, part, left).await;
        }
        let hedge_after = inner
            .guards
            .config
            .hedge
            .as_ref()
            // A streamed request body is lent to one attempt at a time.
            .filter(|_| request.upload.is_none())
            .filter(|_| may_replay(&request.method, &request.headers, false))
            .and_then(|h| h.delay(&inner.guards.latencies, self.key()))
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
            .withdraw(self.key(), wall_ms(inner.clock.wall()))
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
}
