//! The single writer of a run's results: a thread of its own, fed through a channel, that
//! writes rows in group commits.
//!
//! Why a thread and groups: SQLite takes one writer at a time, and a commit costs a WAL
//! write and file locks whatever it holds. One row a commit (the obvious way) made a
//! fast run spend a quarter of its CPU in commits; grouping what arrives within a
//! millisecond cut that by three quarters. Each row carries its item's concurrency
//! slot, released only once the row is committed, so `--concurrency` bounds both the
//! items in flight and the results not yet on disk: what a kill -9 can make a resume
//! send again.

use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use crate::store::{Row, RunStatus, Store};

/// What the runner sends the writer.
pub(crate) enum Msg {
    /// A final result, with the item's slot: released once the row is committed, so
    /// `--concurrency` also bounds the results that a kill -9 could lose.
    Row(Box<Row>, Option<OwnedSemaphorePermit>),
    Finish(RunStatus),
}

/// The most rows in one commit.
const GROUP_MAX: usize = 256;
/// The least time between two commits.
const GROUP_EVERY: Duration = Duration::from_millis(1);

/// The single writer: results that are ready together are written in one transaction
/// (a group commit, at most [`GROUP_MAX`] rows). A result that arrives within
/// [`GROUP_EVERY`] of the last commit waits out the rest of it, with the others that
/// arrive meanwhile: a quiet run commits each result at once, a busy one about once a
/// millisecond instead of once an item (each commit costs a WAL write and file locks).
/// The items' slots are released only after their rows are committed.
pub(crate) fn writer(
    mut store: Store,
    run: i64,
    rx: std::sync::mpsc::Receiver<Msg>,
) -> Result<(), String> {
    let mut status = RunStatus::Running;
    let mut rows: Vec<Row> = Vec::with_capacity(GROUP_MAX);
    let mut slots: Vec<OwnedSemaphorePermit> = Vec::with_capacity(GROUP_MAX);
    let mut last_commit: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        if let Some(wait) = last_commit.and_then(|at| GROUP_EVERY.checked_sub(at.elapsed())) {
            std::thread::sleep(wait);
        }
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Row(row, slot) => {
                    rows.push(*row);
                    slots.extend(slot);
                }
                Msg::Finish(s) => status = s,
            }
            if rows.len() < GROUP_MAX {
                next = rx.try_recv().ok();
            }
        }
        if !rows.is_empty() {
            if let Err(e) = store.record_all(run, &rows) {
                tracing::error!(target: "steady_batch", "{} results not written: {e}", rows.len());
            }
            last_commit = Some(Instant::now());
            rows.clear();
            slots.clear();
        }
    }
    store.finish_run(run, status)
}
