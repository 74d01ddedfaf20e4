//! When an item's call fails: is that the item's own outcome, or a moment of its host?
//!
//! A batch must not record as failed an item that another try a moment later would
//! have turned into data, nor wait an hour for an item whose endpoint is broken while
//! the rest of the host answers. So a failed call is judged:
//!
//! - **a guard turned it away** (the host's retry budget spent, no place in its
//!   adaptive concurrency limit): the item is *deferred* and comes back 1 to 1.5 s
//!   later with the attempts it has left; a refusal is never its outcome;
//! - **its host is down** (the circuit is open, the server asked for a pause, or no
//!   connection could be made and nothing of that host succeeded during the call: the
//!   host is unreachable for everything): deferred until the next probe, with a fresh
//!   set of retries each time, for at most `--max-wait`;
//! - **its host answered and the item failed anyway** (a 503 four times in a row):
//!   one more round 1 to 1.5 s later with a fresh set of retries when other items of
//!   the host succeeded meanwhile, two when none did (the host may be failing
//!   everything, which the breaker then tells within those rounds), then its true
//!   outcome (HTTP 503 after its retries), in seconds, not after `--max-wait`;
//! - anything else (a 4xx, a semantic failure, a TLS or protocol error): its outcome.

use std::time::Duration;

use steady::breaker::Phase;
use steady::classify::Fault;
use steady::fallback::is_outage;
use steady::{Client, Error, ErrorKind, Layer, StopReason, Url};

/// What follows a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// The failure is the item's result.
    Final,
    /// Send it again later: `down` when its host is down (bounded by `--max-wait`,
    /// fresh retries), otherwise a guard turned it away (the attempts it made count).
    Defer { down: bool },
    /// Its host answered and its retries ran out: once more, with fresh retries.
    Again,
}

/// Now on the client's clock, in ms since the epoch: the time the guard state keeps.
pub(crate) fn now_ms(client: &Client) -> u64 {
    client
        .clock()
        .wall()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Judges the failed call of an item that began at `began_ms` ([`now_ms`]), after
/// `again` extra rounds.
pub(crate) fn judge(client: &Client, err: &Error, url: &Url, began_ms: u64, again: u32) -> Next {
    if !is_outage(err) {
        return Next::Final;
    }
    if err.layer() == Layer::Guard {
        // Nothing was sent: an open circuit or a pause is the host; a spent budget or a
        // full limit is only "not now".
        return match err.kind() {
            ErrorKind::CircuitOpen | ErrorKind::RateLimited => Next::Defer { down: true },
            _ => Next::Defer { down: false },
        };
    }
    match err.stop_reason() {
        // A retry turned away after a real failure.
        Some(StopReason::CircuitOpen | StopReason::GuardWaitPastDeadline) => {
            return Next::Defer { down: true }
        }
        Some(StopReason::BudgetExhausted | StopReason::BulkheadFull) => {
            return Next::Defer { down: false }
        }
        _ => {}
    }
    if matches!(err.fault(), Some(Fault::Tls | Fault::Protocol)) {
        return Next::Final;
    }
    let state = client.host_state(url.as_str()).ok();
    if state
        .as_ref()
        .is_some_and(|s| s.breaker.phase() != Phase::Closed)
    {
        return Next::Defer { down: true };
    }
    // The library's notion of a host that answers: a call to it succeeded (in this
    // process, or in any sharing the guard state) since this item's call began.
    // Strictly after the call began, and never "in the future" (a clock stepped back,
    // or a worker sharing the state whose clock runs ahead).
    let others_up = state.is_some_and(|s| {
        let last = s.breaker.last_success_ms().min(now_ms(client));
        last > began_ms
    });
    if err.layer() == Layer::Transport && !others_up {
        return Next::Defer { down: true };
    }
    let rounds = if others_up { 1 } else { 2 };
    if again < rounds && err.is_retryable() {
        return Next::Again;
    }
    Next::Final
}

/// How long a deferred item waits before it goes again: until its host's next probe
/// when the circuit is open, else 1 to 1.5 s.
pub(crate) fn wait_for(client: &Client, url: &str) -> Duration {
    // The client's clock: the probe time in the guard state is on it.
    let now = now_ms(client);
    let probe = client
        .host_state(url)
        .ok()
        .and_then(|s| (s.breaker.phase() == Phase::Open).then(|| s.breaker.probe_at_ms()));
    match probe {
        Some(at) if at > now => Duration::from_millis(at - now + jitter_ms(200)),
        _ => Duration::from_millis(1000 + jitter_ms(500)),
    }
}

/// A little jitter, so deferred items do not all wake in the same millisecond.
fn jitter_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos % max.max(1)
}

/// `scheme://host[:port]` of a URL, for the progress line.
pub(crate) fn host_of(url: &str) -> String {
    Url::parse(url)
        .map(|u| {
            format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""))
                + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
        })
        .unwrap_or_default()
}
