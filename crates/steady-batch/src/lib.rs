//! `steady batch`: a sync job that an outage, Ctrl-C or `kill -9` cannot corrupt.
//!
//! The story this answers: a nightly job fetches records from an API and stores them;
//! the API has a 30-minute outage mid-run; the job crashes halfway and leaves the
//! database inconsistent. With steady the run keeps going where it can, waits out the
//! outage where it must (items of a host that is down are deferred, not failed),
//! records every result atomically, and a rerun with `--resume` finishes exactly what
//! is missing.
//!
//! - [`input`]: the JSONL format, validated whole (streamed) before anything is sent;
//! - [`store`]: the SQLite results database (schema in its docs), and
//!   [`store::postgres`]: one batch shared by many workers, with claims and leases;
//! - [`run`]: the runner (items from the input, or claimed from a shared batch), and
//!   its single results writer (`writer.rs`, group commits);
//! - [`export`]: results as JSONL, CSV or JUnit XML.

pub mod export;
pub mod input;
pub mod run;
pub mod store;
mod writer;
