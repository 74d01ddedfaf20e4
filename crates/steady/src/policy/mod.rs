//! The policies a call runs through, one folder each: its decision (a pure value or
//! function, time injected) and what the call does with it. The order they run in is
//! written once, in [`crate::call::stack`](../call/stack/index.html); the crate root
//! re-exports each under its own name (`steady::breaker`, `steady::retry`, ...).
//!
//! | folder | decides |
//! |---|---|
//! | `deadline/` | the one total deadline, the connect and read timeouts |
//! | `fallback/` | what answers when the live call had an outage |
//! | `retry/` | whether another attempt can succeed, and after how long |
//! | `budget/` | whether retries may add more load to the host |
//! | `breaker/` | whether the host is down: fail fast, probe, close |
//! | `rate/` | the server's pauses and paces, and the client's own rate |
//! | `bulkhead/` | how many calls may be in flight to a host |
//! | `concurrency/` | the adaptive limit of calls in flight, learned from the host |
//! | `hedge/` | whether a slow attempt gets a second request beside it |
//! | `semantic/` | whether a 2xx is what was asked for |

pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod concurrency;
pub mod deadline;
pub mod fallback;
pub mod hedge;
pub mod rate;
pub mod retry;
pub mod semantic;
