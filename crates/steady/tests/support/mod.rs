//! Shared set-up for the integration tests: clients tuned for millisecond tests.
#![allow(dead_code, missing_docs)]

pub mod gated;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use steady::clock::SkipClock;
use steady::{Client, ClientBuilder, Jitter, Retry};

/// A builder whose waits are skipped (the clock jumps) and whose timeouts are short.
pub fn fast() -> (ClientBuilder, Arc<SkipClock>) {
    let clock = Arc::new(SkipClock::new());
    let builder = Client::builder()
        .clock(clock.clone())
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(500))
        .retry(Retry::exponential().jitter(Jitter::None));
    (builder, clock)
}

/// A client with skipped waits, short timeouts and the default 3 retries.
pub fn client() -> Client {
    fast().0.build().expect("client")
}

/// A tokio runtime for tests that need one outside `#[tokio::test]`.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
