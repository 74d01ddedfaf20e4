//! Where a sync keeps its data: SQLite ([`sqlite`]) or PostgreSQL ([`postgres`]), the same
//! tables in both: the live table, its staging table, the checkpoint and
//! the run records.
//!
//! Schema (in the database given with `--into`):
//!
//! - `TABLE (key TEXT PRIMARY KEY, record TEXT NOT NULL, COLUMN...)`: the live table,
//!   changed only by the final transaction of a complete run;
//! - `steady_sync_stage_TABLE`: the same columns; the records of the pages fetched so
//!   far in this run, each page committed with the checkpoint in one transaction;
//! - `steady_sync_state (table_name PRIMARY KEY, ...)`: per table, the checkpoint of a
//!   run in progress (its arguments' fingerprint, the next page's URL and number) and
//!   the incremental cursor (`--since`) of the last complete run;
//! - `steady_sync_runs`: one row per complete run: pages, records, inserted, updated,
//!   deleted, unchanged, the cursor it stored.

mod postgres;
mod sqlite;

use std::path::Path;

use serde_json::Value;

/// A run in progress, as its last committed page left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// What the run's arguments hash to: a rerun must match to continue.
    pub fingerprint: String,
    /// The next page to fetch, and the number of the last one committed.
    pub next_url: String,
    pub page: u32,
    /// Pages and records committed so far.
    pub pages: u32,
    pub records: u64,
    /// The largest `--since` value among the records so far.
    pub max_since: Option<String>,
}

/// What the final transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

/// One record ready for a table: key, record JSON and the extra columns' values.
pub struct Row {
    pub key: String,
    pub record: String,
    pub columns: Vec<Value>,
}

/// A table or column name steady will create: letters, digits and `_`, not starting
/// with a digit (so it never needs quoting rules of its own).
pub fn check_name(name: &str, what: &str) -> Result<(), String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("steady_sync_")
        && !matches!(name, "key" | "record");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} '{name}': use letters, digits and _ (not starting with a digit; not key, record or steady_sync_*)"
        ))
    }
}

/// The database of a sync: a SQLite file or a PostgreSQL database.
pub struct Store(Backend);

enum Backend {
    Sqlite(sqlite::Store),
    Postgres(postgres::Store),
}

impl Store {
    /// Opens `into` (a SQLite path, or a `postgres://` URL) for `table` with
    /// `columns`, creating what is missing.
    ///
    /// # Errors
    /// A message naming the database or the table.
    pub async fn open(
        into: &str,
        table: &str,
        columns: &[(String, ColumnType)],
    ) -> Result<Store, String> {
        check_name(table, "--table")?;
        for (c, _) in columns {
            check_name(c, "--column")?;
        }
        if into.starts_with("postgres://") || into.starts_with("postgresql://") {
            Ok(Store(Backend::Postgres(
                postgres::Store::open(into, table, columns).await?,
            )))
        } else {
            Ok(Store(Backend::Sqlite(sqlite::Store::open(
                Path::new(into),
                table,
                columns,
            )?)))
        }
    }

    /// Takes the table's run lock for the life of the store, or says a run holds it:
    /// an advisory lock the operating system (SQLite: `flock` on `DB.sync-TABLE.lock`)
    /// or the server (PostgreSQL: `pg_try_advisory_lock`, per session) releases when
    /// the process dies, however it dies.
    pub async fn lock(&mut self) -> Result<(), String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.lock(),
            Backend::Postgres(s) => s.lock().await,
        }
    }

    /// The run in progress for the table, if any.
    pub async fn checkpoint(&mut self) -> Result<Option<Checkpoint>, String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.checkpoint(),
            Backend::Postgres(s) => s.checkpoint().await,
        }
    }

    /// The incremental cursor the last complete run stored.
    pub async fn since(&mut self) -> Result<Option<String>, String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.since(),
            Backend::Postgres(s) => s.since().await,
        }
    }

    /// Starts a run from `first_url`.
    pub async fn begin(
        &mut self,
        fingerprint: &str,
        first_url: &str,
        now: &str,
    ) -> Result<(), String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.begin(fingerprint, first_url, now),
            Backend::Postgres(s) => s.begin(fingerprint, first_url, now).await,
        }
    }

    /// Commits one page with the checkpoint.
    pub async fn stage_page(
        &mut self,
        rows: &[Row],
        page: u32,
        next: Option<&str>,
        max_since: Option<&str>,
    ) -> Result<(), String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.stage_page(rows, page, next, max_since),
            Backend::Postgres(s) => s.stage_page(rows, page, next, max_since).await,
        }
    }

    /// The final transaction.
    pub async fn finish(
        &mut self,
        delete_missing: bool,
        since: Option<&str>,
        started_at: &str,
        now: &str,
    ) -> Result<(Counts, u32, u64), String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.finish(delete_missing, since, started_at, now),
            Backend::Postgres(s) => s.finish(delete_missing, since, started_at, now).await,
        }
    }

    /// When the run in progress started.
    pub async fn started_at(&mut self) -> Result<String, String> {
        match &mut self.0 {
            Backend::Sqlite(s) => s.started_at(),
            Backend::Postgres(s) => s.started_at().await,
        }
    }
}

/// The message for a second run of a table's sync.
pub(crate) fn already_running(table: &str, db: &str) -> String {
    format!(
        "a sync of {table} into {db} is running: two at once would mix their pages; wait for it to end (a run killed with kill -9 holds no lock, and the same command then continues it)"
    )
}

/// The type of an extra column (`--column NAME:TYPE=JSONPATH`; default text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnType {
    /// A string as it is; other values as JSON text.
    #[default]
    Text,
    /// A whole number (or a string holding one).
    Integer,
    /// A number (or a string holding one).
    Real,
    /// `true`/`false` (or those strings).
    Boolean,
    /// The value as JSON (`jsonb` in PostgreSQL).
    Json,
}

impl std::str::FromStr for ColumnType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "text" => ColumnType::Text,
            "integer" | "int" | "bigint" => ColumnType::Integer,
            "real" | "float" | "double" => ColumnType::Real,
            "boolean" | "bool" => ColumnType::Boolean,
            "json" | "jsonb" => ColumnType::Json,
            _ => {
                return Err(format!(
                    "'{text}' is not a column type: text, integer, real, boolean or json"
                ))
            }
        })
    }
}

impl ColumnType {
    pub(crate) fn sqlite(self) -> &'static str {
        match self {
            ColumnType::Text | ColumnType::Json => "TEXT",
            ColumnType::Integer | ColumnType::Boolean => "INTEGER",
            ColumnType::Real => "REAL",
        }
    }

    pub(crate) fn postgres(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "bigint",
            ColumnType::Real => "double precision",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "jsonb",
        }
    }
}

/// A record's value for a column of a type: what does not fit is NULL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
}

pub(crate) fn typed(value: &Value, ty: ColumnType) -> Typed {
    match (ty, value) {
        (_, Value::Null) => Typed::Null,
        (ColumnType::Text, Value::String(s)) => Typed::Text(s.clone()),
        (ColumnType::Text | ColumnType::Json, other) => Typed::Text(other.to_string()),
        (ColumnType::Integer, Value::Number(n)) => n.as_i64().map_or(Typed::Null, Typed::Int),
        (ColumnType::Integer, Value::String(s)) => s.trim().parse().map_or(Typed::Null, Typed::Int),
        (ColumnType::Real, Value::Number(n)) => n.as_f64().map_or(Typed::Null, Typed::Real),
        (ColumnType::Real, Value::String(s)) => s.trim().parse().map_or(Typed::Null, Typed::Real),
        (ColumnType::Boolean, Value::Bool(b)) => Typed::Bool(*b),
        (ColumnType::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Typed::Bool(true),
            "false" => Typed::Bool(false),
            _ => Typed::Null,
        },
        _ => Typed::Null,
    }
}
