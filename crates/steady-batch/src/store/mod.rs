//! The results database: one row per item, written in one transaction when the item's
//! result is final, so that a crash, Ctrl-C or `kill -9` never leaves half a row.
//!
//! Schema (SQLite, WAL mode):
//!
//! ```sql
//! CREATE TABLE runs (
//!   id INTEGER PRIMARY KEY,      -- one row per run or resume
//!   input TEXT,                  -- the input file
//!   input_sha256 TEXT,           -- its hash: a resume with another input is refused
//!   flags TEXT,                  -- the flags as JSON (variable names, never secrets)
//!   started_at TEXT, finished_at TEXT,   -- RFC 3339, UTC
//!   status TEXT,                 -- running, finished, interrupted, stopped
//!   total INTEGER, ok INTEGER, failed INTEGER
//! );
//! CREATE TABLE items (
//!   id TEXT PRIMARY KEY,         -- the line's id (or line number)
//!   line INTEGER, method TEXT, url TEXT,          -- url with credentials redacted
//!   ok INTEGER,                  -- 1 success, 0 failure
//!   layer TEXT,                  -- NULL, transport, http, semantic, guard, usage
//!   status INTEGER, attempts INTEGER, elapsed_ms INTEGER,
//!   error_kind TEXT, error_message TEXT, server_message TEXT,
//!   source TEXT,                 -- network, cache, fallback_url, default
//!   started_at TEXT, finished_at TEXT,
//!   run_id INTEGER,              -- the run that wrote it
//!   resumable INTEGER,           -- 1: --resume sends it again (a host that never recovered)
//!   outcome TEXT,                -- the --format json outcome, without the body
//!   body BLOB                    -- the response body, with --store-body
//! );
//! CREATE TABLE carried (         -- earlier rounds of an item without a result yet
//!   id TEXT PRIMARY KEY,         -- (deferred when the run stopped): added to its row
//!   rounds INTEGER, attempts INTEGER, elapsed_ms INTEGER, started_at TEXT,
//!   attempt_log TEXT, guard_log TEXT   -- JSON arrays, as in the outcome
//! );
//! ```
//!
//! `PRAGMA application_id` is `0x53746479` ("Stdy"): a run refuses a SQLite file that
//! holds other tables, and `steady results` a file that is not steady's.
//!
//! What a row says adds up over every round of its item: `attempts`, `elapsed_ms`,
//! `attempt_log` and `guard_log` count each request the item made, in this run and in
//! the runs it resumes (an entry's `round` says which round sent it). Only a `kill -9`
//! loses the rounds of the items then in flight: at most `--concurrency` of them, and
//! those are the items a resume sends again.

mod lock;
mod open;
pub mod postgres;
mod time;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

pub use lock::RunLock;
pub use open::DEFAULT_LOCK_TIMEOUT;
pub use time::{now_rfc3339, rfc3339};

/// One item's final (or resumable) result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The id.
    pub id: String,
    /// The input line.
    pub line: u64,
    /// The method.
    pub method: String,
    /// The URL, redacted.
    pub url: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The layer that failed.
    pub layer: Option<String>,
    /// The final status.
    pub status: Option<u16>,
    /// Attempts made, over every round.
    pub attempts: u32,
    /// Time taken by the calls, over every round.
    pub elapsed_ms: u64,
    /// What failed (`error.kind`).
    pub error_kind: Option<String>,
    /// In words.
    pub error_message: Option<String>,
    /// What the server said.
    pub server_message: Option<String>,
    /// Where the answer came from.
    pub source: String,
    /// Started (its first round), RFC 3339.
    pub started_at: String,
    /// Finished, RFC 3339.
    pub finished_at: String,
    /// Whether `--resume` sends it again.
    pub resumable: bool,
    /// The JSON outcome, without the body.
    pub outcome: String,
    /// The body, with `--store-body`.
    pub body: Option<Vec<u8>>,
}

/// What the earlier rounds of an item cost: added to its final row.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Carried {
    /// Rounds so far (0: none).
    pub rounds: u32,
    /// Requests sent in them.
    pub attempts: u32,
    /// Time their calls took.
    pub elapsed_ms: u64,
    /// When the first one started, RFC 3339.
    pub started_at: Option<String>,
    /// Their `attempt_log` entries, each with its `round`.
    pub attempt_log: Vec<Value>,
    /// Their `guard_log` entries, each with its `round`.
    pub guard_log: Vec<Value>,
}

impl Carried {
    /// The rounds recorded in a stored outcome (a resumable row): entries without a
    /// `round` belong to round 1.
    pub(crate) fn from_outcome(outcome: &str, started_at: String) -> Carried {
        let value: Value = serde_json::from_str(outcome).unwrap_or_default();
        let rounds = value["rounds"].as_u64().unwrap_or(1).max(1) as u32;
        let log = |name: &str| -> Vec<Value> {
            let mut entries = value[name].as_array().cloned().unwrap_or_default();
            for entry in &mut entries {
                if let Value::Object(map) = entry {
                    map.entry("round").or_insert(Value::from(1));
                }
            }
            entries
        };
        Carried {
            rounds,
            attempts: value["attempts"].as_u64().unwrap_or(0) as u32,
            elapsed_ms: value["elapsed_ms"].as_u64().unwrap_or(0),
            started_at: Some(started_at),
            attempt_log: log("attempt_log"),
            guard_log: log("guard_log"),
        }
    }
}

/// What a resume finds of an item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemState {
    /// It has a final result: not sent again.
    Final,
    /// It is to be sent, with what its earlier rounds cost (none for a new item).
    Open(Carried),
}

/// The results database.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
    /// Whether the `carried` table may hold rows: a fresh run skips the delete that a
    /// final row otherwise makes there.
    carried: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Still going (or killed).
    Running,
    /// Every item was taken.
    Finished,
    /// Ctrl-C.
    Interrupted,
    /// `--on-failure stop`.
    Stopped,
    /// Results could not be saved (a full disk, a lock held too long, an I/O error):
    /// the run stopped sending.
    Unsaved,
}

impl RunStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stopped => "stopped",
            RunStatus::Unsaved => "unsaved",
        }
    }
}

/// The database a run writes to: a SQLite file of its own, or a batch in PostgreSQL
/// that several workers share ([`postgres`]).
#[derive(Debug)]
pub enum Db {
    /// A SQLite file: one run at a time ([`RunLock`]).
    Sqlite(Store),
    /// A batch in PostgreSQL, shared by every worker started with the same input.
    Postgres(postgres::Target),
}

impl From<Store> for Db {
    fn from(store: Store) -> Db {
        Db::Sqlite(store)
    }
}

/// Where the single writer of a run puts its results (SQLite or PostgreSQL).
pub(crate) trait Sink: Send + 'static {
    /// Writes `rows` (final results) and `carried` (rounds of items left without one)
    /// in one transaction: all of them or none.
    fn record_all(
        &mut self,
        run: i64,
        rows: &[Row],
        carried: &[(String, Carried)],
    ) -> Result<(), String>;

    /// Records how the run ended.
    fn finish_run(&mut self, run: i64, status: RunStatus) -> Result<(), String>;
}

impl Sink for Store {
    fn record_all(
        &mut self,
        run: i64,
        rows: &[Row],
        carried: &[(String, Carried)],
    ) -> Result<(), String> {
        Store::record_all(self, run, rows, carried)
    }

    fn finish_run(&mut self, run: i64, status: RunStatus) -> Result<(), String> {
        Store::finish_run(self, run, status)
    }
}

/// What the summary and `steady results` ask of a batch's results, in either database.
pub trait Results {
    /// Rows, ok and failed.
    ///
    /// # Errors
    /// When the database cannot be read.
    fn counts(&mut self) -> Result<(u64, u64, u64), String>;

    /// Failed items per layer, the most first.
    ///
    /// # Errors
    /// When the database cannot be read.
    fn failures_by_layer(&mut self) -> Result<Vec<(String, u64)>, String>;

    /// The most common failure reasons: kind, count, and the id and message of its
    /// first item (in input order).
    ///
    /// # Errors
    /// When the database cannot be read.
    fn top_failures(&mut self, limit: usize) -> Result<Vec<(String, u64, String, String)>, String>;

    /// Every row, in input order, filtered by outcome (`None`: all).
    ///
    /// # Errors
    /// When the database cannot be read.
    fn rows(&mut self, ok: Option<bool>, each: &mut dyn FnMut(Row)) -> Result<(), String>;
}

impl Results for Store {
    fn counts(&mut self) -> Result<(u64, u64, u64), String> {
        Store::counts(self)
    }

    fn failures_by_layer(&mut self) -> Result<Vec<(String, u64)>, String> {
        Store::failures_by_layer(self)
    }

    fn top_failures(&mut self, limit: usize) -> Result<Vec<(String, u64, String, String)>, String> {
        Store::top_failures(self, limit)
    }

    fn rows(&mut self, ok: Option<bool>, each: &mut dyn FnMut(Row)) -> Result<(), String> {
        Store::rows(self, ok, each)
    }
}

impl Store {
    /// Opens (or creates) the database for a run and makes sure it can be written now:
    /// a locked or read-only file, a file that is not SQLite, a corrupt one or another
    /// program's database is a clear error before anything is written or sent.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn open(path: &Path) -> Result<Store, String> {
        let conn = open::read_write(path)?;
        let carried = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM carried)", [], |r| r.get(0))
            .map_err(|e| open::describe(path, &e))?;
        Ok(Store {
            path: path.to_owned(),
            conn,
            carried,
        })
    }

    /// Opens the database for reading only: nothing is created or written (another
    /// user, read-only media); a file that is not a steady batch database, or is
    /// corrupt, is refused.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn open_read_only(path: &Path) -> Result<Store, String> {
        Ok(Store {
            path: path.to_owned(),
            conn: open::read_only(path)?,
            carried: true,
        })
    }

    /// How long a write waits for a lock held by another process (a reader in a long
    /// transaction, a backup) before it fails; default [`DEFAULT_LOCK_TIMEOUT`]. A run
    /// whose results cannot be written stops.
    ///
    /// # Errors
    /// When SQLite refuses the setting.
    pub fn set_lock_timeout(&self, timeout: Duration) -> Result<(), String> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| self.describe(&e))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn describe(&self, err: &rusqlite::Error) -> String {
        open::describe(&self.path, err)
    }

    /// Starts a run. A fresh run needs an empty database; a resume needs the same input
    /// as the run before.
    ///
    /// # Errors
    /// A message saying why the run may not start.
    pub fn start_run(
        &self,
        input: &str,
        sha256: &str,
        flags: &serde_json::Value,
        total: u64,
        resume: bool,
    ) -> Result<i64, String> {
        let previous: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT input, input_sha256 FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.describe(&e))?;
        match (&previous, resume) {
            (Some((_, sha)), true) if sha != sha256 => {
                return Err(format!(
                    "refused to resume: {} holds the results of another input ({}); resume with the same input file, or start a new run with another --db",
                    self.path.display(),
                    previous.as_ref().map(|p| p.0.as_str()).unwrap_or("")
                ))
            }
            (None, true) => {
                return Err(format!("nothing to resume: {} holds no run; run without --resume", self.path.display()))
            }
            (Some(_), false) => {
                let (rows, _, _) = self.counts()?;
                let total: i64 = self
                    .conn
                    .query_row("SELECT total FROM runs ORDER BY id DESC LIMIT 1", [], |r| {
                        r.get(0)
                    })
                    .unwrap_or(i64::MAX);
                if rows as i64 >= total {
                    return Err(format!(
                        "{} already holds a finished run ({rows} results): read them with steady results {}; to run the input again, choose another --db",
                        self.path.display(),
                        self.path.display()
                    ));
                }
                return Err(format!(
                    "{} already holds an unfinished run ({rows} of {total} results); add --resume to finish it, or choose another --db",
                    self.path.display()
                ));
            }
            _ => {}
        }
        self.conn
            .execute(
                "INSERT INTO runs (input, input_sha256, flags, started_at, status, total) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
                params![input, sha256, flags.to_string(), now_rfc3339(), total as i64],
            )
            .map_err(|e| self.describe(&e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the end of a run.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn finish_run(&self, run: i64, status: RunStatus) -> Result<(), String> {
        let (_, ok, failed) = self.counts()?;
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?1, status = ?2, ok = ?3, failed = ?4 WHERE id = ?5",
                params![now_rfc3339(), status.name(), ok as i64, failed as i64, run],
            )
            .map(|_| ())
            .map_err(|e| self.describe(&e))
    }

    /// Whether `id` has a final result (one `--resume` does not send again).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn is_final(&self, id: &str) -> Result<bool, String> {
        Ok(self.item_state(id)? == ItemState::Final)
    }

    /// What a resume finds of `id`: a final result, or the rounds it has had so far.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn item_state(&self, id: &str) -> Result<ItemState, String> {
        let carried = self
            .conn
            .prepare_cached(
                "SELECT rounds, attempts, elapsed_ms, started_at, attempt_log, guard_log FROM carried WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![id], |r| {
                    let log = |text: Option<String>| -> Vec<Value> {
                        text.and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or_default()
                    };
                    Ok(Carried {
                        rounds: r.get(0)?,
                        attempts: r.get(1)?,
                        elapsed_ms: r.get::<_, i64>(2)? as u64,
                        started_at: r.get(3)?,
                        attempt_log: log(r.get(4)?),
                        guard_log: log(r.get(5)?),
                    })
                })
                .optional()
            })
            .map_err(|e| self.describe(&e))?;
        if let Some(carried) = carried {
            return Ok(ItemState::Open(carried));
        }
        let row: Option<(i64, String, String)> = self
            .conn
            .prepare_cached("SELECT resumable, outcome, started_at FROM items WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row(params![id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    ))
                })
                .optional()
            })
            .map_err(|e| self.describe(&e))?;
        Ok(match row {
            Some((0, _, _)) => ItemState::Final,
            Some((_, outcome, started_at)) => {
                ItemState::Open(Carried::from_outcome(&outcome, started_at))
            }
            None => ItemState::Open(Carried::default()),
        })
    }

    /// Writes one result, in one transaction.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn record(&mut self, run: i64, row: &Row) -> Result<(), String> {
        self.record_all(run, std::slice::from_ref(row), &[])
    }

    /// Writes results that are ready together in one transaction (a group commit):
    /// each row is whole or absent, never half-written. `carried` are the rounds of
    /// items left without a result (deferred when the run stopped), kept for the
    /// resume; a final row replaces its item's carried rounds.
    ///
    /// # Errors
    /// When the database cannot be written; none of the rows is then written.
    pub fn record_all(
        &mut self,
        run: i64,
        rows: &[Row],
        carried: &[(String, Carried)],
    ) -> Result<(), String> {
        let path = self.path.clone();
        let describe = |e: rusqlite::Error| open::describe(&path, &e);
        let clear_carried = self.carried;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(describe)?;
        for row in rows {
            Self::insert(&tx, run, row, clear_carried).map_err(describe)?;
        }
        for (id, c) in carried {
            Self::carry(&tx, id, c).map_err(describe)?;
        }
        tx.commit().map_err(describe)?;
        self.carried |= !carried.is_empty();
        Ok(())
    }

    fn insert(
        tx: &rusqlite::Transaction<'_>,
        run: i64,
        row: &Row,
        clear_carried: bool,
    ) -> rusqlite::Result<()> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO items (id, line, method, url, ok, layer, status, attempts, elapsed_ms, error_kind,
                error_message, server_message, source, started_at, finished_at, run_id, resumable, outcome, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
             ON CONFLICT(id) DO UPDATE SET line = excluded.line, method = excluded.method, url = excluded.url,
                ok = excluded.ok, layer = excluded.layer, status = excluded.status, attempts = excluded.attempts,
                elapsed_ms = excluded.elapsed_ms, error_kind = excluded.error_kind,
                error_message = excluded.error_message, server_message = excluded.server_message,
                source = excluded.source, started_at = excluded.started_at, finished_at = excluded.finished_at,
                run_id = excluded.run_id, resumable = excluded.resumable, outcome = excluded.outcome, body = excluded.body
             WHERE items.resumable = 1",
        )?;
        stmt.execute(params![
            row.id,
            row.line as i64,
            row.method,
            row.url,
            row.ok,
            row.layer,
            row.status,
            row.attempts,
            row.elapsed_ms as i64,
            row.error_kind,
            row.error_message,
            row.server_message,
            row.source,
            row.started_at,
            row.finished_at,
            run,
            row.resumable,
            row.outcome,
            row.body
        ])?;
        if clear_carried {
            tx.prepare_cached("DELETE FROM carried WHERE id = ?1")?
                .execute(params![row.id])?;
        }
        Ok(())
    }

    fn carry(tx: &rusqlite::Transaction<'_>, id: &str, c: &Carried) -> rusqlite::Result<()> {
        let log = |entries: &[Value]| Value::from(entries.to_vec()).to_string();
        tx.prepare_cached(
            "INSERT INTO carried (id, rounds, attempts, elapsed_ms, started_at, attempt_log, guard_log)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET rounds = excluded.rounds, attempts = excluded.attempts,
                elapsed_ms = excluded.elapsed_ms, started_at = excluded.started_at,
                attempt_log = excluded.attempt_log, guard_log = excluded.guard_log",
        )?
        .execute(params![
            id,
            c.rounds,
            c.attempts,
            c.elapsed_ms as i64,
            c.started_at,
            log(&c.attempt_log),
            log(&c.guard_log)
        ])?;
        Ok(())
    }

    /// Rows, ok and failed.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn counts(&self) -> Result<(u64, u64, u64), String> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(sum(ok), 0) FROM items",
                [],
                |r| {
                    let rows: i64 = r.get(0)?;
                    let ok: i64 = r.get(1)?;
                    Ok((rows as u64, ok as u64, (rows - ok) as u64))
                },
            )
            .map_err(|e| self.describe(&e))
    }

    /// Failed items per layer.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn failures_by_layer(&self) -> Result<Vec<(String, u64)>, String> {
        let mut stmt = self
            .conn
            .prepare("SELECT coalesce(layer, 'none'), count(*) FROM items WHERE ok = 0 GROUP BY layer ORDER BY 2 DESC")
            .map_err(|e| self.describe(&e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.describe(&e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.describe(&e))
    }

    /// The most common failure reasons: kind, count, and the id and message of its
    /// first item (in input order): one item's id with that same item's message.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn top_failures(&self, limit: usize) -> Result<Vec<(String, u64, String, String)>, String> {
        // With min(), SQLite takes the other bare columns from the row holding the minimum.
        let mut stmt = self
            .conn
            .prepare(
                "SELECT coalesce(error_kind, '?'), count(*), id, coalesce(error_message, ''), min(line)
                 FROM items WHERE ok = 0 GROUP BY error_kind ORDER BY 2 DESC, 5 LIMIT ?1",
            )
            .map_err(|e| self.describe(&e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| self.describe(&e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.describe(&e))
    }

    /// Every row, in input order, filtered by outcome (`None`: all).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn rows(&self, ok: Option<bool>, mut each: impl FnMut(Row)) -> Result<(), String> {
        let get = |e: rusqlite::Error| self.describe(&e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, line, method, url, ok, layer, status, attempts, elapsed_ms, error_kind, error_message,
                    server_message, source, started_at, finished_at, resumable, outcome, body
                 FROM items WHERE (?1 IS NULL OR ok = ?1) ORDER BY line",
            )
            .map_err(get)?;
        let mut rows = stmt.query(params![ok]).map_err(get)?;
        while let Some(r) = rows.next().map_err(get)? {
            each(Row {
                id: r.get(0).map_err(get)?,
                line: r.get::<_, i64>(1).map_err(get)? as u64,
                method: r.get(2).map_err(get)?,
                url: r.get(3).map_err(get)?,
                ok: r.get(4).map_err(get)?,
                layer: r.get(5).map_err(get)?,
                status: r.get(6).map_err(get)?,
                attempts: r.get(7).map_err(get)?,
                elapsed_ms: r.get::<_, i64>(8).map_err(get)? as u64,
                error_kind: r.get(9).map_err(get)?,
                error_message: r.get(10).map_err(get)?,
                server_message: r.get(11).map_err(get)?,
                source: r.get(12).map_err(get)?,
                started_at: r.get(13).map_err(get)?,
                finished_at: r.get(14).map_err(get)?,
                resumable: r.get(15).map_err(get)?,
                outcome: r.get(16).map_err(get)?,
                body: r.get(17).map_err(get)?,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(id: &str, line: u64, message: &str) -> Row {
        Row {
            id: id.into(),
            line,
            error_kind: Some("client_error".into()),
            error_message: Some(message.into()),
            outcome: "{}".into(),
            ..Row::default()
        }
    }

    #[test]
    fn a_top_failure_names_one_item_with_that_items_own_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let run = store
            .start_run("in", "sha", &Value::Null, 3, false)
            .unwrap();
        store
            .record_all(
                run,
                &[
                    failed("a", 3, "c: HTTP 404 for a"),
                    failed("z", 1, "b: HTTP 404 for z"),
                    failed("m", 2, "a: HTTP 404 for m"),
                ],
                &[],
            )
            .unwrap();
        assert_eq!(
            store.top_failures(5).unwrap(),
            [(
                "client_error".to_owned(),
                3,
                "z".to_owned(),
                "b: HTTP 404 for z".to_owned()
            )]
        );
    }
}
