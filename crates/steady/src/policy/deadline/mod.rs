//! The three time limits of every call: connect, read (idle) and one total deadline.
//!
//! A client without timeouts waits forever on a server that accepted the connection and
//! went silent. A client with only a per-read timeout is defeated by a server that
//! trickles one byte every few seconds. steady bounds a call three ways:
//!
//! - **connect** (default 3.05s): DNS, TCP and TLS set-up. Slightly over a multiple of
//!   3s, the TCP retransmission window, so a single lost SYN still gets through.
//! - **read** (default 27s): the longest silence allowed between two reads, waiting for
//!   the response head or within the body.
//! - **deadline** (default 60s): one limit for the whole call: every attempt, every wait
//!   between attempts (backoff and `Retry-After`), every redirect and the whole body.
//!   Each attempt gets only what is left; no wait is started that would end past it.

use std::time::{Duration, Instant};

/// The time limits of a call. See the [module docs](self) for what each one bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// DNS + TCP + TLS set-up of one connection.
    pub connect: Duration,
    /// Longest silence between two reads.
    pub read: Duration,
    /// The whole call, all attempts and waits included.
    pub deadline: Duration,
}

impl Timeouts {
    /// Default connect timeout: 3.05s.
    pub const DEFAULT_CONNECT: Duration = Duration::from_millis(3050);
    /// Default read (idle) timeout: 27s.
    pub const DEFAULT_READ: Duration = Duration::from_secs(27);
    /// Default total deadline: 60s.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Self::DEFAULT_CONNECT,
            read: Self::DEFAULT_READ,
            deadline: Self::DEFAULT_DEADLINE,
        }
    }
}

/// The end of a call's time, as measured on the client's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub(crate) start: Instant,
    pub(crate) at: Instant,
    pub(crate) total: Duration,
}

impl Deadline {
    pub(crate) fn new(start: Instant, total: Duration) -> Self {
        Deadline {
            start,
            at: start
                .checked_add(total)
                .unwrap_or(start + Duration::from_secs(86400 * 365)),
            total,
        }
    }

    /// Time left at `now`; zero once passed.
    pub(crate) fn left(&self, now: Instant) -> Duration {
        self.at.saturating_duration_since(now)
    }
}
