//! Claiming items: a worker takes pending items for the concurrency slots it has free,
//! and reads each from its own copy of the input.
//!
//! `FOR UPDATE SKIP LOCKED` lets workers claim at the same time without waiting on each
//! other's rows or taking the same one: each skips the rows another is claiming. An item
//! is claimable when it is pending (or, with `--resume`, resumable from an earlier run)
//! and no live worker holds it: its holder's lease has run out, or it has none.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use super::Conn;

use super::describe;
use crate::input::{read_line_at, Item, Line};
use crate::store::Carried;

/// An item this worker now holds, with what its earlier rounds cost.
#[derive(Debug)]
pub struct Claimed {
    /// The item, read from this worker's input.
    pub item: Item,
    /// Its earlier rounds (a worker stopped meanwhile, or a resumable result).
    pub carried: Carried,
}

/// What a claim found.
#[derive(Debug)]
pub enum Polled {
    /// Items taken, in input order.
    Items(Vec<Claimed>),
    /// None free now: `open` items have no final result yet, each held by a live worker
    /// (this one among them). None open: the batch is done.
    Wait {
        /// Items without a final result.
        open: u64,
    },
    /// Another worker stopped the batch (`--on-failure stop`).
    Stopped,
}

/// Why a claim failed.
#[derive(Debug)]
pub enum ClaimError {
    /// The database could not be reached or read.
    Db(String),
    /// An item is not in this worker's input where the batch has it (the file changed).
    Input(String),
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Db(e) | ClaimError::Input(e) => f.write_str(e),
        }
    }
}

/// Where a claimed item's request comes from.
enum Source {
    /// The lines of a small input, kept from the check pass, in line order.
    Kept(Vec<Line>),
    /// The input file, read at the item's offset.
    File(BufReader<File>),
}

/// How often a worker looks whether another stopped the batch.
const STOP_CHECK: Duration = Duration::from_millis(250);
/// How often a claim looks at the whole batch, not only past the last item claimed.
const FULL_SCAN: Duration = Duration::from_secs(1);

const CLAIM: &str = "WITH picked AS (
        SELECT i.id FROM steady_batch_items i
        WHERE i.batch = $1 AND i.line >= $5
          AND (i.state = 'pending' OR ($3 AND i.state = 'resumable' AND i.run_id < $2))
          AND (i.worker IS NULL OR NOT EXISTS (
                SELECT 1 FROM steady_batch_runs w WHERE w.id = i.worker AND w.alive_until > now()))
        ORDER BY i.line LIMIT $4
        FOR UPDATE OF i SKIP LOCKED)
    UPDATE steady_batch_items i SET worker = $2, claims = i.claims + 1
    FROM picked WHERE i.batch = $1 AND i.id = picked.id
    RETURNING i.id, i.line, i.byte_offset, i.state, i.carried, i.outcome, i.started_at";

/// One worker's claims on a batch.
pub struct Feed {
    client: Conn,
    batch: String,
    run: i64,
    resume: bool,
    shown: String,
    source: Source,
    stop_checked: Option<Instant>,
    /// The line after the last item this worker claimed: where the next claim looks
    /// first. Items before it come free only when a worker dies or stops (its lease
    /// runs out, or it gives them back), so looking there too once every
    /// [`FULL_SCAN`], and whenever nothing is free past it, finds them; claiming from
    /// the start every time walked over every finished item's index entry (0.8 ms a
    /// claim at 10,000 items, measured).
    next_line: i64,
    scanned: Option<Instant>,
    /// [`CLAIM`], prepared once.
    statement: postgres::Statement,
}

impl Feed {
    /// Claims for `run` in `batch`, reading items from `kept` (the check pass's lines)
    /// or from `input`.
    ///
    /// # Errors
    /// When the input cannot be opened, or the claim cannot be prepared.
    pub fn new(
        mut client: Conn,
        batch: &str,
        run: i64,
        resume: bool,
        shown: &str,
        input: &Path,
        kept: Option<Vec<Line>>,
    ) -> Result<Feed, String> {
        let source = match kept {
            Some(lines) => Source::Kept(lines),
            None => Source::File(BufReader::new(
                File::open(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?,
            )),
        };
        let statement = client.prepare(CLAIM).map_err(|e| describe(shown, &e))?;
        Ok(Feed {
            client,
            batch: batch.to_owned(),
            run,
            resume,
            shown: shown.to_owned(),
            source,
            stop_checked: None,
            next_line: 0,
            scanned: None,
            statement,
        })
    }

    fn err(&self) -> impl Fn(postgres::Error) -> String + '_ {
        move |e| describe(&self.shown, &e)
    }

    fn db_err(&self) -> impl Fn(postgres::Error) -> ClaimError + '_ {
        move |e| ClaimError::Db(describe(&self.shown, &e))
    }

    /// Takes up to `n` claimable items, in input order.
    ///
    /// # Errors
    /// When the database cannot be reached, or an item is not in this worker's input as
    /// the batch has it (the file changed).
    pub fn claim(&mut self, n: usize) -> Result<Polled, ClaimError> {
        if self
            .stop_checked
            .is_none_or(|at| at.elapsed() >= STOP_CHECK)
        {
            self.stop_checked = Some(Instant::now());
            let stopped: Option<i64> = self
                .client
                .query_one(
                    "SELECT stopped_by FROM steady_batches WHERE name = $1",
                    &[&self.batch],
                )
                .map_err(self.db_err())?
                .get(0);
            if stopped.is_some() {
                return Ok(Polled::Stopped);
            }
        }
        let statement = self.statement.clone();
        let whole = self.scanned.is_none_or(|at| at.elapsed() >= FULL_SCAN);
        let mut from = if whole { 0 } else { self.next_line };
        let rows = loop {
            if from == 0 {
                self.scanned = Some(Instant::now());
            }
            let rows = self
                .client
                .query(
                    &statement,
                    &[&self.batch, &self.run, &self.resume, &(n as i64), &from],
                )
                .map_err(self.db_err())?;
            match (rows.is_empty(), from) {
                (true, 0) => {
                    return Ok(Polled::Wait {
                        open: self.open().map_err(ClaimError::Db)?,
                    })
                }
                (true, _) => from = 0,
                (false, _) => break rows,
            }
        };
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.get(0);
            let line = row.get::<_, i64>(1) as u64;
            let offset = row.get::<_, i64>(2) as u64;
            let state: String = row.get(3);
            let carried: Option<String> = row.get(4);
            let carried = match carried {
                Some(text) => serde_json::from_str(&text).unwrap_or_default(),
                None if state == "resumable" => Carried::from_outcome(
                    &row.get::<_, Option<String>>(5).unwrap_or_default(),
                    row.get::<_, Option<String>>(6).unwrap_or_default(),
                ),
                None => Carried::default(),
            };
            let item = self.read(&id, line, offset).map_err(ClaimError::Input)?;
            claimed.push(Claimed { item, carried });
        }
        claimed.sort_by_key(|c| c.item.line);
        if let Some(last) = claimed.last() {
            self.next_line = self.next_line.max(last.item.line as i64 + 1);
        }
        Ok(Polled::Items(claimed))
    }

    /// The item `id` on `line`, from this worker's input.
    fn read(&mut self, id: &str, line: u64, offset: u64) -> Result<Item, String> {
        let item = match &mut self.source {
            Source::Kept(lines) => lines
                .binary_search_by_key(&line, |(l, _)| *l)
                .ok()
                .and_then(|at| lines[at].1.as_ref().ok().cloned())
                .ok_or_else(|| format!("line {line}: not an item")),
            Source::File(file) => read_line_at(file, offset, line),
        };
        match item {
            Ok(item) if item.id == id => Ok(item),
            Ok(item) => Err(format!(
                "the input changed: line {line} holds item '{}', the batch has '{id}' there",
                item.id
            )),
            Err(e) => Err(format!("the input changed: {e}")),
        }
    }

    /// Items without a final result.
    fn open(&mut self) -> Result<u64, String> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM steady_batch_items WHERE batch = $1
                   AND (state = 'pending' OR ($3 AND state = 'resumable' AND run_id < $2))",
                &[&self.batch, &self.run, &self.resume],
            )
            .map_err(self.err())?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Items with a result written by other runs: other workers, earlier runs.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn done_elsewhere(&mut self) -> Result<u64, String> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM steady_batch_items WHERE batch = $1 AND state <> 'pending'
                   AND run_id IS DISTINCT FROM $2",
                &[&self.batch, &self.run],
            )
            .map_err(self.err())?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
