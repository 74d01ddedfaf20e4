//! steady's events as lines for Python's `logging` (logger `steady`).
//!
//! The listener runs on the runtime's threads, without the GIL: it formats the events
//! at or above the level Python last said the logger is enabled for, and queues them;
//! the Python side drains the queue and logs them, with the GIL, when a call returns.
//! URLs in events are already redacted by steady; nothing here prints a header or a body.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use steady::event::{CallInfo, Event, Listener};

/// Python's `logging` levels.
pub(crate) const DEBUG: u8 = 10;
pub(crate) const INFO: u8 = 20;
pub(crate) const WARNING: u8 = 30;

/// A client's queue of log lines.
#[derive(Debug)]
pub(crate) struct LogSink {
    level: AtomicU8,
    queue: Mutex<Vec<(u8, String)>>,
}

impl Default for LogSink {
    fn default() -> Self {
        LogSink {
            level: AtomicU8::new(WARNING),
            queue: Mutex::new(Vec::new()),
        }
    }
}

impl LogSink {
    /// The lowest level the logger handles now (Python's effective level).
    pub(crate) fn set_level(&self, level: u8) {
        self.level.store(level.max(1), Ordering::Relaxed);
    }

    /// The lines queued so far.
    pub(crate) fn drain(&self) -> Vec<(u8, String)> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *queue)
    }

    fn push(&self, level: u8, line: impl FnOnce() -> String) {
        if level < self.level.load(Ordering::Relaxed) {
            return;
        }
        let line = line();
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((level, line));
    }
}

impl Listener for LogSink {
    fn on_event(&self, call: &CallInfo<'_>, event: &Event<'_>) {
        let (method, url) = (call.method, call.url);
        match *event {
            Event::AttemptEnded(a) => {
                let level = if a.layer().is_none() { DEBUG } else { INFO };
                self.push(level, || {
                    format!(
                        "{method} {url}: attempt {}/{}: {} in {:.3}s; {}",
                        a.number(),
                        a.of(),
                        a.outcome(),
                        a.duration().as_secs_f64(),
                        a.why()
                    )
                });
            }
            Event::Waited {
                cause,
                duration,
                message,
            } => self.push(INFO, || {
                format!(
                    "{method} {url}: waiting {:.3}s ({}): {message}",
                    duration.as_secs_f64(),
                    cause.name()
                )
            }),
            Event::GuardRefused { guard, message } => self.push(INFO, || {
                format!("{method} {url}: not sent ({}): {message}", guard.name())
            }),
            Event::BreakerTransition { from, to, reason } => self.push(WARNING, || {
                format!(
                    "circuit for {}: {} -> {}: {reason}",
                    call.host,
                    from.name(),
                    to.name()
                )
            }),
            Event::FallbackUsed { source } => self.push(INFO, || {
                format!("{method} {url}: answered by the fallback ({source})")
            }),
            Event::CallEnded {
                status,
                error,
                attempts,
                duration,
                ..
            } => {
                let level = if error.is_some() { INFO } else { DEBUG };
                self.push(level, || {
                    let what = match (error, status) {
                        (Some(kind), _) => format!("failed ({})", kind.name()),
                        (None, Some(status)) => format!("{}", status.as_u16()),
                        (None, None) => "done".to_owned(),
                    };
                    format!(
                        "{method} {url}: {what} after {attempts} attempt{} in {:.3}s",
                        if attempts == 1 { "" } else { "s" },
                        duration.as_secs_f64()
                    )
                });
            }
            _ => {}
        }
    }
}
