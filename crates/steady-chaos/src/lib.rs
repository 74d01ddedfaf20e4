//! HTTP/1.1 servers that misbehave on purpose, for testing clients against a network that fails.
//!
//! Two servers, one purpose:
//!
//! - [`ChaosServer`] injects faults by probability and schedule into a built-in JSON API
//!   or a proxied upstream: the engine of `steady chaos` and `steady demo`;
//! - [`ScriptServer`] answers a scripted sequence of replies per path: what tests use to
//!   pin exact behaviour ("503, then reset, then 200").
//!
//! Real APIs hang after accepting a connection, reset it halfway through a body, trickle
//! one byte every few seconds, close before `Content-Length` is reached, or answer `503`
//! with a `Retry-After` that means next week. HTTP frameworks are built to *prevent*
//! those faults, so this crate speaks HTTP/1.1 over raw tokio sockets and produces each
//! fault exactly, on demand.
//!
//! [`ScriptServer`] serves a scripted sequence of [`Reply`] values per path on
//! `127.0.0.1:0` and records every request it receives, so a test can assert what the
//! server saw (attempt counts, headers, bodies), not only what the client reports.
//!
//! ```
//! use steady_chaos::{Reply, ScriptServer};
//!
//! let server = ScriptServer::builder()
//!     .route("/flaky", [Reply::status(503), Reply::json(200, r#"{"ok":true}"#)])
//!     .start();
//! let url = server.url("/flaky");
//! assert!(url.starts_with("http://127.0.0.1:"));
//! assert_eq!(server.hits("/flaky"), 0);
//! ```

pub mod chaos;
pub mod fault;
mod http1;
mod reply;
mod script;
mod thread;
#[cfg(feature = "tls")]
pub mod tls;

pub use chaos::{ChaosConfig, ChaosServer, Stats};
pub use fault::{FaultKind, FaultSpec};
pub use reply::Reply;
pub use script::{Recorded, ScriptServer, ScriptServerBuilder};
#[cfg(feature = "tls")]
pub use tls::{Cert, ClientIdentity, TlsServer};
