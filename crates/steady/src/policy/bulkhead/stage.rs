//! The bulkhead's stage: a place among the calls in flight to the host, waited for
//! within the deadline.

use crate::call::stack::Refusal;
use crate::call::Call;
use crate::event::WaitCause;
use crate::guard::GuardKind;

impl Call<'_> {
    /// A place in the host's bulkhead, when the client has one (`None` when not).
    pub(crate) async fn bulkhead_place(
        &mut self,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Refusal> {
        let Some(bulkheads) = &self.client.inner.guards.bulkheads else {
            return Ok(None);
        };
        let since = self.client.inner.clock.now();
        let permit = bulkheads.acquire(self.key(), self.left()).await;
        self.waited(WaitCause::Bulkhead, since);
        match permit {
            Ok(permit) => Ok(Some(permit)),
            Err(message) => Err(self.refuse(GuardKind::Bulkhead, message)),
        }
    }
}
