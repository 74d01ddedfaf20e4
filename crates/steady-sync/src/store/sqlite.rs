//! The SQLite store.

use super::{typed, Checkpoint, ColumnType, Counts, Row, Typed};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// How a sync's database is opened (steady's one SQLite profile).
const PROFILE: steady::store::Profile =
    steady::store::Profile::new("database").busy_timeout(std::time::Duration::from_secs(10));

/// The database of a sync.
pub(crate) struct Store {
    /// `None` until the first page is in, when the file did not exist.
    conn: Option<Connection>,
    table: String,
    stage: String,
    columns: Vec<String>,
    types: Vec<ColumnType>,
    typed: Vec<(String, ColumnType)>,
    path: std::path::PathBuf,
    lock: Option<steady::store::RunLock>,
}

fn not_created(path: &Path) -> String {
    format!("{}: the database has not been created", path.display())
}

fn db_error(path: &Path) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

impl Store {
    /// Opens (creating) the database at `path` for `table` with `columns`: creates the
    /// live table, the staging table and steady's own tables when missing; refuses a
    /// live table without one of the columns.
    ///
    /// # Errors
    /// A message naming the file or the table.
    pub fn open(
        path: &Path,
        table: &str,
        typed_columns: &[(String, ColumnType)],
    ) -> Result<Store, String> {
        // Names checked by `super::Store::open`.
        let columns: Vec<String> = typed_columns.iter().map(|(c, _)| c.clone()).collect();
        let types: Vec<ColumnType> = typed_columns.iter().map(|(_, t)| *t).collect();
        // As -o: a folder that does not exist is refused before anything is fetched.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(format!(
                    "cannot create the database {}: the folder {} does not exist (create it first: mkdir -p {})",
                    path.display(),
                    dir.display(),
                    dir.display()
                ));
            }
        }
        // Nothing is created until the first page is in (`begin`): a run whose first
        // page fails leaves the database as it was, or absent.
        // An existing file is only read here: WAL mode (a write) waits until the first
        // page is in, so a run that fails first, or a foreign database, is left as it was.
        let conn = if path.exists() {
            let conn = Connection::open(path).map_err(db_error(path))?;
            conn.busy_timeout(PROFILE.busy_timeout)
                .map_err(db_error(path))?;
            Some(conn)
        } else {
            None
        };
        let store = Store {
            conn,
            table: table.to_owned(),
            stage: format!("steady_sync_stage_{table}"),
            columns,
            types,
            typed: typed_columns.to_vec(),
            path: path.to_owned(),
            lock: None,
        };
        store.check_columns()?;
        Ok(store)
    }

    /// The connection, once the database exists.
    fn db(&mut self) -> Result<&mut Connection, String> {
        self.conn.as_mut().ok_or_else(|| not_created(&self.path))
    }

    /// Refuses a live or staging table that lacks one of the columns (tables not
    /// there yet pass: `begin` creates them).
    fn check_columns(&self) -> Result<(), String> {
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        for name in [self.table.as_str(), self.stage.as_str()] {
            let have: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{name}')"))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(db_error(&self.path))?;
            if have.is_empty() {
                continue;
            }
            if let Some(missing) = self.columns.iter().find(|c| !have.contains(c)) {
                return Err(format!(
                    "the table {name} in {} has no column {missing}: add it (ALTER TABLE {name} ADD COLUMN {missing}) or leave out --column {missing}",
                    self.path.display()
                ));
            }
        }
        Ok(())
    }

    /// Whether steady's state table exists.
    fn has_state(&self) -> Result<bool, String> {
        let Some(conn) = &self.conn else {
            return Ok(false);
        };
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'steady_sync_state'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(db_error(&self.path))
    }

    /// Creates the database and what is missing in it: steady's tables, the live and
    /// the staging table.
    fn create_tables(&mut self) -> Result<(), String> {
        match &self.conn {
            None => self.conn = Some(steady::store::open(&self.path, &PROFILE)?),
            Some(conn) => {
                conn.pragma_update(None, "journal_mode", "WAL")
                    .map_err(db_error(&self.path))?;
                conn.pragma_update(None, "synchronous", "NORMAL")
                    .map_err(db_error(&self.path))?;
            }
        }
        let (table, stage) = (self.table.clone(), self.stage.clone());
        let extra: String = self
            .typed
            .iter()
            .map(|(c, t)| format!(", \"{c}\" {}", t.sqlite()))
            .collect();
        let path = self.path.clone();
        let conn = self.db()?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS steady_sync_state (
                table_name TEXT PRIMARY KEY, since TEXT, fingerprint TEXT, next_url TEXT,
                page INTEGER, pages INTEGER, records INTEGER, max_since TEXT, started_at TEXT);
             CREATE TABLE IF NOT EXISTS steady_sync_runs (
                id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, started_at TEXT, finished_at TEXT,
                pages INTEGER, records INTEGER, inserted INTEGER, updated INTEGER, deleted INTEGER,
                unchanged INTEGER, since TEXT, complete INTEGER);
             CREATE TABLE IF NOT EXISTS \"{table}\" (key TEXT PRIMARY KEY, record TEXT NOT NULL{extra});
             CREATE TABLE IF NOT EXISTS \"{stage}\" (key TEXT PRIMARY KEY, record TEXT NOT NULL{extra});"
        ))
        .map_err(db_error(&path))?;
        self.check_columns()
    }

    /// Takes `DB.sync-TABLE.lock` (see [`super::Store::lock`]).
    pub fn lock(&mut self) -> Result<(), String> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".sync-{}.lock", self.table));
        let holder = format!("steady sync, process {}\n", std::process::id());
        match steady::store::RunLock::acquire(Path::new(&name), &holder) {
            Ok(lock) => {
                self.lock = Some(lock);
                Ok(())
            }
            Err(steady::store::LockError::Held(_)) => Err(super::already_running(
                &self.table,
                &self.path.display().to_string(),
            )),
            Err(steady::store::LockError::Io(why)) => Err(why),
        }
    }

    /// The connection, when the database has steady's state table.
    fn state_conn(&self) -> Option<&Connection> {
        self.conn
            .as_ref()
            .filter(|_| self.has_state().unwrap_or(false))
    }

    /// The run in progress for the table, if any.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, String> {
        let Some(conn) = self.state_conn() else {
            return Ok(None);
        };
        conn.query_row(
            "SELECT fingerprint, next_url, page, pages, records, max_since FROM steady_sync_state
                 WHERE table_name = ?1 AND next_url IS NOT NULL",
            [&self.table],
            |r| {
                Ok(Checkpoint {
                    fingerprint: r.get(0)?,
                    next_url: r.get(1)?,
                    page: r.get(2)?,
                    pages: r.get(3)?,
                    records: r.get::<_, i64>(4)? as u64,
                    max_since: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(|e| e.to_string())
    }

    /// The incremental cursor the last complete run stored.
    pub fn since(&self) -> Result<Option<String>, String> {
        let Some(conn) = self.state_conn() else {
            return Ok(None);
        };
        conn.query_row(
            "SELECT since FROM steady_sync_state WHERE table_name = ?1",
            [&self.table],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()
        .map(Option::flatten)
        .map_err(|e| e.to_string())
    }

    /// Starts a run from `first_url`: the staging table emptied, the checkpoint set.
    pub fn begin(&mut self, fingerprint: &str, first_url: &str, now: &str) -> Result<(), String> {
        self.create_tables()?;
        let (table, stage) = (self.table.clone(), self.stage.clone());
        let tx = self.db()?.transaction().map_err(|e| e.to_string())?;
        tx.execute(&format!("DELETE FROM \"{stage}\""), [])
            .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO steady_sync_state (table_name, fingerprint, next_url, page, pages, records, max_since, started_at)
             VALUES (?1, ?2, ?3, 0, 0, 0, NULL, ?4)
             ON CONFLICT(table_name) DO UPDATE SET fingerprint = ?2, next_url = ?3, page = 0,
                pages = 0, records = 0, max_since = NULL, started_at = ?4",
            params![table, fingerprint, first_url, now],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// Commits one page: its rows into the staging table and the checkpoint moved on,
    /// in one transaction. `next` is `None` after the last page.
    pub fn stage_page(
        &mut self,
        rows: &[Row],
        page: u32,
        next: Option<&str>,
        max_since: Option<&str>,
    ) -> Result<(), String> {
        let tx = self
            .conn
            .as_mut()
            .ok_or_else(|| not_created(&self.path))?
            .transaction()
            .map_err(|e| e.to_string())?;
        {
            let placeholders: String = (0..self.columns.len())
                .map(|i| format!(", ?{}", i + 3))
                .collect();
            let names: String = self.columns.iter().map(|c| format!(", \"{c}\"")).collect();
            let mut insert = tx
                .prepare(&format!(
                    "INSERT OR REPLACE INTO \"{}\" (key, record{names}) VALUES (?1, ?2{placeholders})",
                    self.stage
                ))
                .map_err(|e| e.to_string())?;
            for row in rows {
                let mut values: Vec<rusqlite::types::Value> =
                    vec![row.key.clone().into(), row.record.clone().into()];
                values.extend(
                    row.columns
                        .iter()
                        .zip(&self.types)
                        .map(|(v, t)| sql_value(typed(v, *t))),
                );
                insert
                    .execute(rusqlite::params_from_iter(values))
                    .map_err(|e| e.to_string())?;
            }
        }
        // `next_url` stays set until the final transaction: a run whose last page is
        // staged but not yet applied resumes by applying it.
        tx.execute(
            "UPDATE steady_sync_state SET next_url = ?2, page = ?3, pages = pages + 1,
                records = records + ?4, max_since = ?5 WHERE table_name = ?1",
            params![
                self.table,
                next.unwrap_or(""),
                page,
                rows.len() as i64,
                max_since
            ],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// The final transaction: the staged snapshot upserted into the live table, the
    /// keys it lacks deleted (with `delete_missing`), the run recorded and the cursor
    /// stored, the checkpoint cleared. Readers see the table before or after, never
    /// between.
    pub fn finish(
        &mut self,
        delete_missing: bool,
        since: Option<&str>,
        started_at: &str,
        now: &str,
    ) -> Result<(Counts, u32, u64), String> {
        let table = self.table.clone();
        let stage = self.stage.clone();
        let tx: Transaction<'_> = self
            .conn
            .as_mut()
            .ok_or_else(|| not_created(&self.path))?
            .transaction()
            .map_err(|e| e.to_string())?;
        let count = |sql: &str| -> Result<u64, String> {
            tx.query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| e.to_string())
        };
        let inserted = count(&format!(
            "SELECT count(*) FROM \"{stage}\" s WHERE NOT EXISTS (SELECT 1 FROM \"{table}\" t WHERE t.key = s.key)"
        ))?;
        let updated = count(&format!(
            "SELECT count(*) FROM \"{stage}\" s JOIN \"{table}\" t ON t.key = s.key WHERE t.record IS NOT s.record"
        ))?;
        let staged = count(&format!("SELECT count(*) FROM \"{stage}\""))?;
        let names: String = self.columns.iter().map(|c| format!(", \"{c}\"")).collect();
        let sets: String = self
            .columns
            .iter()
            .map(|c| format!(", \"{c}\" = excluded.\"{c}\""))
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO \"{table}\" (key, record{names}) SELECT key, record{names} FROM \"{stage}\" WHERE true
                 ON CONFLICT(key) DO UPDATE SET record = excluded.record{sets}
                 WHERE \"{table}\".record IS NOT excluded.record"
            ),
            [],
        )
        .map_err(|e| e.to_string())?;
        let deleted = if delete_missing {
            tx.execute(
                &format!("DELETE FROM \"{table}\" WHERE key NOT IN (SELECT key FROM \"{stage}\")"),
                [],
            )
            .map_err(|e| e.to_string())? as u64
        } else {
            0
        };
        let (pages, records): (u32, u64) = tx
            .query_row(
                "SELECT pages, records FROM steady_sync_state WHERE table_name = ?1",
                [&table],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| e.to_string())?;
        let counts = Counts {
            inserted,
            updated,
            deleted,
            unchanged: staged - inserted - updated,
        };
        tx.execute(
            "INSERT INTO steady_sync_runs (table_name, started_at, finished_at, pages, records, inserted,
                updated, deleted, unchanged, since, complete) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)",
            params![
                table,
                started_at,
                now,
                pages,
                records as i64,
                counts.inserted as i64,
                counts.updated as i64,
                counts.deleted as i64,
                counts.unchanged as i64,
                since
            ],
        )
        .map_err(|e| e.to_string())?;
        tx.execute(
            "UPDATE steady_sync_state SET next_url = NULL, fingerprint = NULL, page = 0, pages = 0,
                records = 0, max_since = NULL, since = COALESCE(?2, since) WHERE table_name = ?1",
            params![table, since],
        )
        .map_err(|e| e.to_string())?;
        tx.execute(&format!("DELETE FROM \"{stage}\""), [])
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok((counts, pages, records))
    }

    /// When the run in progress started.
    pub fn started_at(&self) -> Result<String, String> {
        self.conn
            .as_ref()
            .ok_or_else(|| not_created(&self.path))?
            .query_row(
                "SELECT started_at FROM steady_sync_state WHERE table_name = ?1",
                [&self.table],
                |r| r.get::<_, Option<String>>(0),
            )
            .map(Option::unwrap_or_default)
            .map_err(|e| e.to_string())
    }
}

/// A typed value as an SQLite value.
fn sql_value(value: Typed) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Typed::Null => V::Null,
        Typed::Int(i) => V::Integer(i),
        Typed::Real(f) => V::Real(f),
        Typed::Bool(b) => V::Integer(i64::from(b)),
        Typed::Text(s) => V::Text(s),
    }
}
