//! The single writer of a run's results: a thread of its own, fed through a channel, that
//! writes rows in group commits.
//!
//! Why a thread and groups: SQLite takes one writer at a time, and a commit costs a WAL
//! write and file locks whatever it holds (a PostgreSQL commit, a round trip and a WAL
//! flush). One row a commit (the obvious way) made a
//! fast run spend a quarter of its CPU in commits; grouping what arrives within a
//! millisecond cut that by three quarters. Each row carries its item's concurrency
//! slot, released only once the row is committed, so `--concurrency` bounds both the
//! items in flight and the results not yet on disk: what a kill -9 can make a resume
//! send again.
//!
//! When a commit fails (a full disk, a lock held past `--db-lock-timeout`, an I/O
//! error), the writer records why, tells the runner to stop at once, and writes nothing
//! more: the rows of that group and of the items still in flight stay absent, so
//! `--resume` sends exactly those items again, and never one whose result is stored.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{watch, OwnedSemaphorePermit};

use crate::store::{Carried, Row, RunStatus, Sink};

/// What the runner sends the writer.
pub(crate) enum Msg {
    /// A final result, with the item's slot: released once the row is committed, so
    /// `--concurrency` also bounds the results that a kill -9 could lose.
    Row(Box<Row>, Option<OwnedSemaphorePermit>),
    /// The rounds of an item left without a result when the run stopped.
    Carry(String, Box<Carried>),
    Finish(RunStatus),
}

/// Why the results could not be saved, set once by the writer; the runner stops
/// sending when it is set (the writer also signals `stop`).
#[derive(Clone)]
pub(crate) struct Unsaved {
    pub(crate) why: Arc<OnceLock<String>>,
    pub(crate) stop: watch::Sender<bool>,
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
pub(crate) fn writer<S: Sink>(
    mut store: S,
    run: i64,
    rx: std::sync::mpsc::Receiver<Msg>,
    unsaved: Unsaved,
) -> Result<(), String> {
    let mut status = RunStatus::Running;
    let mut rows: Vec<Row> = Vec::with_capacity(GROUP_MAX);
    let mut carried: Vec<(String, Carried)> = Vec::new();
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
                Msg::Carry(id, c) => carried.push((id, *c)),
                Msg::Finish(s) => status = s,
            }
            if rows.len() < GROUP_MAX {
                next = rx.try_recv().ok();
            }
        }
        let pending = !(rows.is_empty() && carried.is_empty());
        if pending && unsaved.why.get().is_none() {
            if let Err(e) = store.record_all(run, &rows, &carried) {
                tracing::debug!(target: "steady_batch", "{} results not written: {e}", rows.len());
                let _ = unsaved.why.set(e);
                // Before the slots go: no item may start on a slot freed by a lost row.
                unsaved.stop.send_replace(true);
            }
            last_commit = Some(Instant::now());
        }
        rows.clear();
        carried.clear();
        slots.clear();
    }
    if unsaved.why.get().is_some() {
        // Best effort: the run row says why it ended, if the database takes it.
        let _ = store.finish_run(run, RunStatus::Unsaved);
        return Ok(());
    }
    store.finish_run(run, status)
}
