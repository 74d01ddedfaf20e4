//! HTTP/1.1 servers that misbehave on purpose, for testing clients against a network that fails.
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

mod http1;
mod reply;
mod script;

pub use reply::Reply;
pub use script::{Recorded, ScriptServer, ScriptServerBuilder};
