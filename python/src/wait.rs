//! Running a call on steady's tokio runtime while Python waits, without the GIL.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a waiting sync call takes the GIL back to run Python's signal handlers:
/// Ctrl-C ends a call within about this long.
const TICK: Duration = Duration::from_millis(50);

/// The runtime every call runs on: one per process, its threads named `steady`.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("steady")
            .build()
            .expect("steady cannot start its tokio runtime")
    })
}

/// Where a task leaves its result for a thread that waits with a timeout.
struct Slot<T> {
    value: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> Slot<T> {
    fn put(&self, value: T) {
        let mut slot = self.value.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(value);
        self.ready.notify_all();
    }

    fn take_within(&self, timeout: Duration) -> Option<T> {
        let slot = self.value.lock().unwrap_or_else(|e| e.into_inner());
        let (mut slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |v| v.is_none())
            .unwrap_or_else(|e| e.into_inner());
        slot.take()
    }
}

/// Runs `future` on the runtime and waits for it with the GIL released. Every
/// [`TICK`] the GIL is taken back to check for signals: when a handler raises
/// (`KeyboardInterrupt`), the task is aborted (its connection is dropped) and the
/// exception returned. `between` runs at each tick with the GIL held.
pub(crate) fn wait<T, F>(
    py: Python<'_>,
    future: F,
    mut between: impl FnMut(Python<'_>),
) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let slot = Arc::new(Slot {
        value: Mutex::new(None),
        ready: Condvar::new(),
    });
    let filled = slot.clone();
    let task = runtime().spawn(async move { filled.put(future.await) });
    loop {
        if let Some(value) = py.detach(|| slot.take_within(TICK)) {
            return Ok(value);
        }
        if let Err(interrupted) = py.check_signals() {
            task.abort();
            return Err(interrupted);
        }
        if task.is_finished() {
            // Finished between the wait and this check: the value is there, unless the
            // task panicked.
            return slot.take_within(Duration::ZERO).ok_or_else(|| {
                PyRuntimeError::new_err("steady's call ended without an answer (a panic)")
            });
        }
        between(py);
    }
}
