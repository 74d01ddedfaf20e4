//! `steady._steady`: the compiled half of the `steady` Python package.
//!
//! The Python package (`python/steady/`) owns the requests-shaped surface: argument
//! normalisation, `Response`, the exception tree. This module owns everything a call
//! does, through the `steady` crate: a [`client::Client`] holds the policies and the
//! guard state, sends a normalised call on a shared tokio runtime ([`wait`]), and hands
//! back plain data ([`convert`]) that Python turns into a `Response` or an exception.
//!
//! Every call releases the GIL while it waits, and a sync call wakes every 50 ms to let
//! Python run its signal handlers: Ctrl-C ends a waiting call (the call is cancelled,
//! its connection dropped) instead of waiting for its deadline.

use pyo3::prelude::*;

mod args;
mod client;
mod config;
mod convert;
mod logs;
mod wait;

#[pymodule]
fn _steady(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<client::Abort>()?;
    m.add_class::<client::Body>()?;
    m.add("STEADY_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
