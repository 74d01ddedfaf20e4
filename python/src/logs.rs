//! steady's events as lines for Python's `logging` (logger `steady`).
//!
//! The listener runs on the runtime's threads, without the GIL: it formats the events
//! at or above the level Python last said the logger is enabled for, and queues them;
//! the Python side drains the queue and logs them, with the GIL, when a call returns.
//! URLs in events are already redacted by steady; nothing here prints a header or a body.
//!
//! Each line belongs to the call whose task told it ([`CALL`], set around every call's
//! future), and a call's return takes only its own lines: a thread's logging shows its
//! own calls, not those of another thread that happened to be running.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use steady::event::{CallInfo, Event, Listener};

/// Python's `logging` levels.
pub(crate) const DEBUG: u8 = 10;
pub(crate) const INFO: u8 = 20;
pub(crate) const WARNING: u8 = 30;

tokio::task_local! {
    /// The call a task runs: the owner of the lines its events make.
    pub(crate) static CALL: u64;
}

/// A fresh call number.
pub(crate) fn call_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The most lines a queue keeps: lines no call takes (told outside any call) do not
/// grow it without bound; the oldest go first.
const MAX_QUEUED: usize = 10_000;

/// One queued line: the call it belongs to (none when told outside a call), its level
/// and its text.
type Line = (Option<u64>, u8, String);

/// A client's queue of log lines.
#[derive(Debug)]
pub(crate) struct LogSink {
    level: AtomicU8,
    queue: Mutex<Vec<Line>>,
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

    /// The lines of call `call` (and those told outside any call), in order; other
    /// calls' lines stay queued for them.
    pub(crate) fn drain(&self, call: u64) -> Vec<(u8, String)> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, others): (Vec<Line>, Vec<Line>) = std::mem::take(&mut *queue)
            .into_iter()
            .partition(|(owner, _, _)| owner.is_none_or(|o| o == call));
        *queue = others;
        mine.into_iter()
            .map(|(_, level, line)| (level, line))
            .collect()
    }

    fn push(&self, level: u8, line: impl FnOnce() -> String) {
        if level < self.level.load(Ordering::Relaxed) {
            return;
        }
        let line = line();
        let owner = CALL.try_with(|id| *id).ok();
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.len() >= MAX_QUEUED {
            queue.remove(0);
        }
        queue.push((owner, level, line));
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
