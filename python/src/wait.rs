//! Running a call on steady's tokio runtime while Python waits, without the GIL.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a waiting sync call takes the GIL back to run Python's signal handlers:
/// Ctrl-C ends a call within about this long.
const TICK: Duration = Duration::from_millis(50);

/// The runtime every call runs on: one per process, its threads named `steady`.
///
/// A child made by `os.fork()` after the parent's first call inherits the runtime but
/// none of its threads: a call there would wait forever, timers included. So the
/// runtime belongs to the process that made it, and a child makes its own (the
/// parent's is left alone: dropping it would wait for threads the child does not have).
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    match *slot {
        Some((owner, runtime)) if owner == pid => runtime,
        _ => {
            let runtime: &'static Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("steady")
                    .build()
                    .expect("steady cannot start its tokio runtime"),
            ));
            *slot = Some((pid, runtime));
            runtime
        }
    }
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
