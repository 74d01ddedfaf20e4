//! Opening the results database: for a run (read-write), or for reading only
//! (`steady results`, the summary).
//!
//! What this prevents: a run that writes steady's tables into someone else's SQLite
//! file, a run that goes on writing into a corrupt file, and a report that cannot be
//! read by another user or from read-only media because opening it tried to write.
//! Every check that can refuse a file runs before anything is written to it, and every
//! message names the file.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// `PRAGMA application_id` of a steady results database ("Stdy").
pub(super) const APPLICATION_ID: i32 = 0x5374_6479;

/// The tables, created on first use.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY, input TEXT, input_sha256 TEXT, flags TEXT,
        started_at TEXT, finished_at TEXT, status TEXT,
        total INTEGER, ok INTEGER, failed INTEGER);
     CREATE TABLE IF NOT EXISTS items (
        id TEXT PRIMARY KEY, line INTEGER, method TEXT, url TEXT, ok INTEGER, layer TEXT,
        status INTEGER, attempts INTEGER, elapsed_ms INTEGER, error_kind TEXT,
        error_message TEXT, server_message TEXT, source TEXT, started_at TEXT,
        finished_at TEXT, run_id INTEGER, resumable INTEGER, outcome TEXT, body BLOB);
     CREATE TABLE IF NOT EXISTS carried (
        id TEXT PRIMARY KEY, rounds INTEGER, attempts INTEGER, elapsed_ms INTEGER,
        started_at TEXT, attempt_log TEXT, guard_log TEXT);";

/// The columns `steady results` reads: a file without them is not steady's.
const ITEM_COLUMNS: [&str; 18] = [
    "id",
    "line",
    "method",
    "url",
    "ok",
    "layer",
    "status",
    "attempts",
    "elapsed_ms",
    "error_kind",
    "error_message",
    "server_message",
    "source",
    "started_at",
    "finished_at",
    "resumable",
    "outcome",
    "body",
];

/// How long a write waits for a lock another process holds before the run stops
/// (default of [`super::Store::set_lock_timeout`]).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (or creates) `path` for a run. An existing file is checked first, before
/// anything is written: it must be SQLite, intact and steady's.
pub(super) fn read_write(path: &Path) -> Result<Connection, String> {
    // As -o: a folder that does not exist is a typo more often than a wish, and
    // nothing is created before the run is known to go ahead (steady::store refuses it).
    let existing = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let profile = steady::store::Profile::new("database")
        .busy_timeout(DEFAULT_LOCK_TIMEOUT.min(Duration::from_secs(2)));
    let conn = if existing {
        // Checked before anything is written (WAL mode is a write).
        let conn = Connection::open(path).map_err(|e| describe(path, &e))?;
        conn.busy_timeout(profile.busy_timeout)
            .map_err(|e| describe(path, &e))?;
        check(&conn, path)?;
        drop(conn);
        steady::store::open(path, &profile)?
    } else {
        steady::store::open(path, &profile)?
    };
    conn.execute_batch(SCHEMA).map_err(|e| describe(path, &e))?;
    steady::store::set_application_id(&conn, path, APPLICATION_ID)?;
    // Prove that a write goes through now, not after half the run.
    conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
        .map_err(|e| describe(path, &e))?;
    conn.busy_timeout(DEFAULT_LOCK_TIMEOUT)
        .map_err(|e| describe(path, &e))?;
    Ok(conn)
}

/// Opens `path` for reading only: nothing is created or written, so it works as
/// another user and on read-only media. A file in WAL mode whose folder cannot hold
/// the shared-memory file (`-shm`) is read as immutable, which is safe only because no
/// run can be writing it then (a live run keeps its `-wal` file, and then the
/// ordinary way works).
pub(super) fn read_only(path: &Path) -> Result<Connection, String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{shown} does not exist"))
        }
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
        Ok(m) if m.is_dir() => return Err(format!("{shown} is a folder, not a database")),
        Ok(m) if m.len() == 0 => {
            return Err(format!("{shown} is empty: not a steady batch database"))
        }
        Ok(_) => {}
    }
    let conn = steady::store::read_only(path, "PRAGMA application_id").map_err(|why| {
        // SQLite's own error, in the words of a batch database (what to do next).
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match Connection::open_with_flags(path, flags)
            .and_then(|c| c.query_row("PRAGMA application_id", [], |r| r.get::<_, i32>(0)))
        {
            Err(e) => describe(path, &e),
            Ok(_) => why,
        }
    })?;
    check(&conn, path)?;
    Ok(conn)
}

/// Refuses a file that is not SQLite, is corrupt, or is SQLite but not steady's.
fn check(conn: &Connection, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| describe(path, &e))?;
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| describe(path, &e))?;
    if verdict != "ok" {
        return Err(format!(
            "the database {shown} is corrupt ({verdict}); nothing was written to it. Restore it from a backup, or start over with another file (steady batch: --db PATH)"
        ));
    }
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .map_err(|e| describe(path, &e))?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| describe(path, &e))?;
        names
            .collect::<Result<_, _>>()
            .map_err(|e| describe(path, &e))?
    };
    let foreign = |what: String| {
        Err(format!(
            "{shown} is a SQLite database but not steady's batch results ({what}); nothing was written to it. Use another file (steady batch: --db PATH)"
        ))
    };
    if id != 0 && id != APPLICATION_ID {
        return foreign(format!("its application id is {id:#x}"));
    }
    if tables.is_empty() && id == 0 {
        // An empty SQLite file: a run may make it its own.
        return Ok(());
    }
    if !(tables.iter().any(|t| t == "items") && tables.iter().any(|t| t == "runs")) {
        return foreign(format!("its tables: {}", tables.join(", ")));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('items')")
        .map_err(|e| describe(path, &e))?;
    let columns: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| describe(path, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| describe(path, &e))?;
    let missing: Vec<&str> = ITEM_COLUMNS
        .into_iter()
        .filter(|c| !columns.iter().any(|have| have == c))
        .collect();
    if !missing.is_empty() {
        return foreign(format!("its items table has no {}", missing.join(", ")));
    }
    Ok(())
}

/// A database error in words, naming the file and, where it helps, what to do.
pub(crate) fn describe(path: &Path, err: &rusqlite::Error) -> String {
    let shown = path.display();
    let code = err.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase) => format!(
            "{shown} is not a SQLite database (nor a steady batch database); nothing was written to it. Use another file (steady batch: --db PATH)"
        ),
        Some(ErrorCode::DatabaseCorrupt) => format!(
            "the database {shown} is corrupt ({err}); nothing was written to it. Restore it from a backup, or start over with another file (steady batch: --db PATH)"
        ),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "the database {shown} is locked by another process ({err})"
        ),
        Some(ErrorCode::DiskFull) => format!("the disk holding {shown} is full ({err})"),
        Some(ErrorCode::ReadOnly) => format!("the database {shown} is read-only ({err})"),
        Some(ErrorCode::CannotOpen) => format!("cannot open the database {shown} ({err})"),
        Some(ErrorCode::SystemIoFailure) => format!("an I/O error on {shown} ({err})"),
        _ => format!("database {shown}: {err}"),
    }
}
