//! # steady: an HTTP client for a network that fails
//!
//! A call made with one optimistic line crashes on a DNS failure, hangs on a silent
//! server, hammers a service that answers `503`, and acts on `200 {"error": ...}` as if
//! it were data. steady makes the robust way the default:
//!
//! - every call has a connect timeout, a read (idle) timeout and **one total deadline**
//!   ([`timeout`]);
//! - every failure is **classified** into a [`Layer`]: transport, HTTP (4xx: the request
//!   is wrong; 5xx: their server failed) or semantic (a 2xx with the wrong content), and
//!   explained in plain words, with what the server said ([`Error`]);
//! - it **retries only what can succeed**: exponential backoff with jitter,
//!   `Retry-After` honoured as a floor, never past the deadline, never a 4xx, never a
//!   non-idempotent request without an `Idempotency-Key` ([`retry`], [`classify`]);
//! - redirects are followed **without leaking credentials** ([`redirect`]), response
//!   bodies are bounded, and credentials are a [`Secret`] that never prints.
//!
//! ## Quick start
//!
//! ```
//! # use steady_chaos::{Reply, ScriptServer};
//! # let server = ScriptServer::builder()
//! #     .route("/items", [Reply::status(503), Reply::json(200, r#"{"items":[1,2]}"#)])
//! #     .start();
//! # let url = server.url("/items");
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use steady::{Client, Retry, Secret};
//!
//! let client = Client::builder()
//!     .connect_timeout(Duration::from_secs(2))
//!     .deadline(Duration::from_secs(30))
//!     .retry(Retry::exponential().max_retries(3).base(Duration::from_millis(10)))
//!     .build()?;
//!
//! let resp = client
//!     .get(&url) // e.g. "https://api.example.com/items"
//!     .bearer_auth(Secret::new("token-from-the-environment"))
//!     .send()
//!     .await?;
//! assert_eq!(resp.status(), 200);
//! assert_eq!(resp.attempts(), 2); // the 503 was retried
//! let items: serde_json::Value = resp.json()?;
//! # assert_eq!(items["items"][1], 2);
//! # Ok::<(), steady::Error>(())
//! # }).unwrap();
//! ```
//!
//! On failure, ask the error what happened instead of parsing a message:
//!
//! ```no_run
//! # async fn run(client: steady::Client) {
//! match client.get("https://api.example.com/me").send().await {
//!     Ok(resp) => println!("{}", resp.text()),
//!     Err(err) if err.status().is_some_and(|s| s.is_client_error()) => {
//!         eprintln!("fix the request: {}", err.server_message().unwrap_or("no message"));
//!     }
//!     Err(err) => eprintln!("{}\n(after {} attempts)", err.explain(), err.attempts()),
//! }
//! # }
//! ```
//!
//! ## Bodies as they come
//!
//! [`RequestBuilder::send`] reads the body whole (bounded). For a body that is large,
//! endless or needed as it arrives, [`RequestBuilder::send_streaming`] hands it over as
//! a `Stream` after the head, [`RequestBuilder::body_stream`] uploads from a stream,
//! and [`RequestBuilder::send_events`] subscribes to server-sent events; see
//! [`stream`] for what still applies to the body (read timeout, deadline, decoding) and
//! what no longer does (retries).
//!
//! ## Features
//!
//! The default build serves a single call: deadlines and timeouts, classified and
//! explained errors, retries, the breaker, budget and rate limits in memory, gzip and
//! deflate, redirects, the semantic checks of a 2xx body. A one-GET program compiles
//! about as many crates as with reqwest alone (BENCHMARKS.md has the count). The rest
//! is opt-in:
//!
//! | feature | what it adds |
//! |---|---|
//! | `state` | guard state shared by processes in a SQLite file (`ClientBuilder::state_file`), the response cache behind `Fallback::cache` |
//! | `redis` | guard state shared by a fleet through Redis (`state_file("redis://...")`); implies `state` |
//! | `brotli`, `zstd` | `br` and `zstd` response bodies (asked for in `Accept-Encoding` only when built in) |
//! | `jsonpath` | JSONPath expectations (`RequestBuilder::expect`, `until`) and `paginate` |
//! | `cookies` | a cookie jar (`ClientBuilder::cookie_jar`); a redirect's cookies sent on to its target within a call |
//! | `full` | all of the above: what the `steady` command line and the Python package use |
//! | `tower` | [`Client`] as a `tower::Service`, and `tower::SteadyLayer`: steady's policies over any HTTP service |
//! | `middleware` | `middleware::SteadyMiddleware`: steady's policies in a reqwest-middleware chain |
//!
//! `docs/service.md` in the repository shows each way into a Rust service.

pub mod atomic;
mod attempt;
mod call;
pub mod classify;
mod client;
pub mod clock;
pub mod content_type;
pub mod convert;
#[cfg(feature = "cookies")]
pub mod cookies;
pub mod decode;
pub mod download;
pub mod duration;
mod error;
pub mod event;
pub mod explain;
pub mod guard;
#[cfg(feature = "middleware")]
pub mod middleware;
pub mod multipart;
#[cfg(feature = "jsonpath")]
pub mod paginate;
mod policy;
pub mod proxy;
pub mod redact;
pub mod redirect;
pub mod report;
mod request;
mod response;
mod seconds;
mod secret;
#[cfg(feature = "state")]
pub mod store;
pub mod stream;
pub mod telemetry;
mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod transport;

/// The adaptive concurrency limit (also [`concurrency`]).
pub use policy::concurrency as limit;
/// Time limits: the deadline, the connect and read timeouts (also [`deadline`]).
pub use policy::deadline as timeout;
pub use policy::deadline;
pub use policy::{breaker, budget, bulkhead, concurrency, fallback, hedge, rate, retry, semantic};

pub use attempt::{Attempt, Decision, StopReason, WaitReason};
pub use breaker::Breaker;
pub use budget::RetryBudget;
pub use bulkhead::Bulkhead;
pub use classify::{Fault, Verdict};
pub use client::{Client, ClientBuilder, DEFAULT_MAX_BODY};
pub use convert::{IntoHeaderName, IntoHeaderValue, IntoUrl};
pub use error::{Error, ErrorKind, Layer};
pub use fallback::{Fallback, Outcome, Source};
pub use guard::{GuardEvent, GuardKind};
pub use hedge::Hedge;
pub use limit::AdaptiveConcurrency;
pub use rate::Rate;
pub use redact::redact_url;
pub use redirect::Redirects;
pub use request::RequestBuilder;
pub use response::{CallLog, Response};
pub use retry::{Jitter, Retry};
pub use secret::Secret;
pub use stream::{Event, Events, Streaming};
pub use timeout::Timeouts;

/// Installs rustls' crypto provider (ring) for the process, unless one is installed
/// already. steady builds reqwest without a provider of its own; `ClientBuilder::build`
/// calls this, and so should an application that builds a `reqwest::Client` of its own
/// first ([`ClientBuilder::reqwest_client`], the `middleware` feature), or
/// reqwest panics with "No rustls crypto provider is configured".
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub use reqwest::header;
pub use reqwest::{Method, StatusCode, Url, Version};
