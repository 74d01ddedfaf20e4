//! Guard state in a SQLite file, shared by successive and concurrent processes.
//!
//! One row per host, the state as JSON. Every update is one `BEGIN IMMEDIATE`
//! transaction (read, change, write), so concurrent `steady` processes never lose each
//! other's updates; WAL mode lets readers go on during a write and a busy timeout makes
//! writers queue instead of failing. A row that does not parse (a file written by a
//! future version, a manual edit) is replaced by a fresh state with a warning, never a
//! crash.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{GuardStore, HostState};

/// Host states in a SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) the state file at `path`.
    ///
    /// # Errors
    /// A message naming the file when it cannot be opened or is not a SQLite database.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, String> {
        let path = path.as_ref().to_owned();
        let shown = path.display().to_string();
        let conn = crate::store::open(&path, &crate::store::Profile::new("state file"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS hosts (
                host TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                updated_ms INTEGER NOT NULL
            )",
        )
        .map_err(|e| format!("state file {shown} is not usable: {e}"))?;
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(conn: &Connection, host: &str) -> Result<HostState, String> {
        let text: Option<String> = conn
            .query_row(
                "SELECT state FROM hosts WHERE host = ?1",
                params![host],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        Ok(match text {
            None => HostState::default(),
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(target: "steady::guard", "guard state for {host} does not parse ({e}); starting afresh");
                HostState::default()
            }),
        })
    }
}

impl GuardStore for SqliteStore {
    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) -> Result<(), String> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| "state file lock poisoned".to_owned())?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut state = Self::read(&tx, host)?;
        change(&mut state);
        let text = serde_json::to_string(&state).map_err(|e| e.to_string())?;
        let now = super::wall_ms(std::time::SystemTime::now()) as i64;
        tx.execute(
            "INSERT INTO hosts (host, state, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(host) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
            params![host, text, now],
        )
        .map_err(|e| format!("{}: {e}", self.path.display()))?;
        tx.commit()
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    fn load(&self, host: &str) -> Result<HostState, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "state file lock poisoned".to_owned())?;
        Self::read(&conn, host)
    }
}
