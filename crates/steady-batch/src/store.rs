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
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

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
    /// Attempts made.
    pub attempts: u32,
    /// Time taken.
    pub elapsed_ms: u64,
    /// What failed (`error.kind`).
    pub error_kind: Option<String>,
    /// In words.
    pub error_message: Option<String>,
    /// What the server said.
    pub server_message: Option<String>,
    /// Where the answer came from.
    pub source: String,
    /// Started, RFC 3339.
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

/// The results database.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
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
}

impl RunStatus {
    fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stopped => "stopped",
        }
    }
}

impl Store {
    /// Opens (or creates) the database and makes sure it can be written now: a locked
    /// or read-only file is a clear error before anything is sent.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn open(path: &Path) -> Result<Store, String> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let conn =
            Connection::open(path).map_err(|e| format!("cannot open the database {shown}: {e}"))?;
        conn.busy_timeout(Duration::from_secs(2))
            .map_err(|e| format!("database {shown}: {e}"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| {
                format!("the database {shown} is not usable (locked, read-only or not SQLite): {e}")
            })?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| format!("database {shown}: {e}"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS runs (
                id INTEGER PRIMARY KEY, input TEXT, input_sha256 TEXT, flags TEXT,
                started_at TEXT, finished_at TEXT, status TEXT,
                total INTEGER, ok INTEGER, failed INTEGER);
             CREATE TABLE IF NOT EXISTS items (
                id TEXT PRIMARY KEY, line INTEGER, method TEXT, url TEXT, ok INTEGER, layer TEXT,
                status INTEGER, attempts INTEGER, elapsed_ms INTEGER, error_kind TEXT,
                error_message TEXT, server_message TEXT, source TEXT, started_at TEXT,
                finished_at TEXT, run_id INTEGER, resumable INTEGER, outcome TEXT, body BLOB);",
        )
        .map_err(|e| format!("the database {shown} is not usable: {e}"))?;
        // Prove that a write goes through now, not after half the run.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(|e| format!("the database {shown} cannot be written (locked by another run, or read-only): {e}"))?;
        Ok(Store {
            path: path.to_owned(),
            conn,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
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
            .map_err(|e| e.to_string())?;
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
                return Err(format!(
                    "{} already holds a run ({rows} results); add --resume to finish it, or choose another --db",
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
            .map_err(|e| e.to_string())?;
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
            .map_err(|e| e.to_string())
    }

    /// Whether `id` has a final result (one `--resume` does not send again).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn is_final(&self, id: &str) -> Result<bool, String> {
        self.conn
            .query_row(
                "SELECT resumable FROM items WHERE id = ?1",
                params![id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|r| matches!(r, Some(0)))
            .map_err(|e| e.to_string())
    }

    /// Writes one result, in one transaction.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn record(&mut self, run: i64, row: &Row) -> Result<(), String> {
        self.record_all(run, std::slice::from_ref(row))
    }

    /// Writes results that are ready together in one transaction (a group commit):
    /// each row is whole or absent, never half-written.
    ///
    /// # Errors
    /// When the database cannot be written; none of the rows is then written.
    pub fn record_all(&mut self, run: i64, rows: &[Row]) -> Result<(), String> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        for row in rows {
            Self::insert(&tx, run, row)?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn insert(tx: &rusqlite::Transaction<'_>, run: i64, row: &Row) -> Result<(), String> {
        let mut stmt = tx
            .prepare_cached(
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
            )
            .map_err(|e| e.to_string())?;
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
        ])
        .map(|_| ())
        .map_err(|e| e.to_string())
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
            .map_err(|e| e.to_string())
    }

    /// Failed items per layer.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn failures_by_layer(&self) -> Result<Vec<(String, u64)>, String> {
        let mut stmt = self
            .conn
            .prepare("SELECT coalesce(layer, 'none'), count(*) FROM items WHERE ok = 0 GROUP BY layer ORDER BY 2 DESC")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// The most common failure reasons: kind, count, an example id and its message.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn top_failures(&self, limit: usize) -> Result<Vec<(String, u64, String, String)>, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT coalesce(error_kind, '?'), count(*), min(id), coalesce(min(error_message), '')
                 FROM items WHERE ok = 0 GROUP BY error_kind ORDER BY 2 DESC LIMIT ?1",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Every row, in input order, filtered by outcome (`None`: all).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn rows(&self, ok: Option<bool>, mut each: impl FnMut(Row)) -> Result<(), String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, line, method, url, ok, layer, status, attempts, elapsed_ms, error_kind, error_message,
                    server_message, source, started_at, finished_at, resumable, outcome, body
                 FROM items WHERE (?1 IS NULL OR ok = ?1) ORDER BY line",
            )
            .map_err(|e| e.to_string())?;
        let mut rows = stmt.query(params![ok]).map_err(|e| e.to_string())?;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let get = |e: rusqlite::Error| e.to_string();
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

/// Now, as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// A wall-clock time as RFC 3339 in UTC with milliseconds.
pub fn rfc3339(at: SystemTime) -> String {
    let d = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    // Digits written by hand: `format!` with padding costs several times more, and a
    // batch writes two of these per item.
    let mut out = [0u8; 24];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year.clamp(0, 9999) as u64, 4);
    put(5, month as u64, 2);
    put(8, day as u64, 2);
    put(11, rem / 3600, 2);
    put(14, (rem / 60) % 60, 2);
    put(17, rem % 60, 2);
    put(20, u64::from(d.subsec_millis()), 3);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        out[at] = sep;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = httpdate_like(1_795_354_380);
        assert_eq!(rfc3339(t), "2026-11-22T13:33:00.000Z");
        assert_eq!(
            rfc3339(httpdate_like(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    fn httpdate_like(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }
}
