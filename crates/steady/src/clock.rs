//! Time, injected.
//!
//! Backoff, `Retry-After` and the deadline all depend on time. Tests that really sleep
//! are slow and flaky, so the client reads the time and sleeps through a [`Clock`]:
//! [`SystemClock`] in production, [`SkipClock`] in tests, where a two-second
//! `Retry-After` is honoured (the attempt log says so, the server sees the retry) and
//! the test still finishes in milliseconds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of time for the client's waits and its deadline.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic time.
    fn now(&self) -> Instant;
    /// The current wall-clock time, to read HTTP dates (`Retry-After`) against.
    fn wall(&self) -> SystemTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock: tokio's time and timer, and the system time.
///
/// The deadline, the waits and the read timeout all run on tokio's clock, so under
/// `#[tokio::test(start_paused = true)]` they move together: a call's elapsed time and
/// its attempt log say the time that passed on the paused clock. (tokio moves a paused
/// clock forward whenever the runtime is idle, and a wait on a real socket counts as
/// idle, so a read timeout fires before a real server can answer: with real sockets,
/// give the client [`SkipClock`] instead.)
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        // tokio's now: the system's, unless a test paused tokio's clock.
        tokio::time::Instant::now().into_std()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock whose sleeps return at once and move its time forward by the same amount.
///
/// Network I/O still takes real time; waits (backoff, `Retry-After`) take none. The
/// deadline is measured on this clock, so a call with a 60s deadline can "wait" 59s
/// in a test that takes milliseconds.
///
/// ```
/// use std::time::Duration;
/// use steady::clock::{Clock, SkipClock};
///
/// # tokio_test();
/// # fn tokio_test() {
/// let clock = SkipClock::new();
/// let before = clock.now();
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// # rt.block_on(async {
/// clock.sleep(Duration::from_secs(30)).await;
/// # });
/// assert!(clock.now() - before >= Duration::from_secs(30));
/// assert_eq!(clock.slept(), Duration::from_secs(30));
/// # }
/// ```
#[derive(Debug, Default)]
pub struct SkipClock {
    skipped: Mutex<Duration>,
}

impl SkipClock {
    /// A clock that starts at the real current time.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total of all sleeps so far.
    pub fn slept(&self) -> Duration {
        *self.skipped.lock().expect("clock lock")
    }
}

impl Clock for SkipClock {
    fn now(&self) -> Instant {
        Instant::now() + self.slept()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now() + self.slept()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let mut skipped = self.skipped.lock().expect("clock lock");
        *skipped = skipped.saturating_add(duration);
        Box::pin(std::future::ready(()))
    }
}
