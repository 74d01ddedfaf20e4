//! One batch shared by many workers through PostgreSQL (`--db postgres://...`).
//!
//! Why: a batch in a SQLite file runs on one machine, one process at a time. Teams with
//! a million items and ten machines want every machine to take a share, and a machine
//! that dies (kill -9, a lost node) to cost only the items it had in hand. Workers
//! started with the same input and the same database share the batch:
//!
//! - **The batch is created once.** The first worker to arrive writes one row per
//!   item (its id, line number and byte offset in the input: not the request itself,
//!   which each worker reads from its own copy of the input, checked by SHA-256), all in
//!   one transaction under an advisory lock, so workers that start together create it
//!   once and the others join it.
//! - **Leases.** Each worker is a row of `steady_batch_runs` whose `alive_until` a
//!   thread of its own renews every third of `--lease` ([`lease`]). Time is
//!   PostgreSQL's `now()`, so the workers' clocks do not matter.
//! - **Claims.** A worker claims items only for concurrency slots it has free:
//!   `SELECT ... FOR UPDATE SKIP LOCKED` of the pending items held by no live worker,
//!   in input order, marking them as its own. Two live workers never hold one item; a
//!   dead worker's items are taken by the others once its lease runs out.
//! - **Exactly once.** A result is written with `WHERE state <> 'final'`: the first
//!   final result of an item stands, so an item is recorded once even if a worker
//!   whose lease lapsed finishes it after another took it.
//! - **What a kill -9 can make another worker send again:** the killed worker's items
//!   in flight and its results not yet committed, at most its `--concurrency` (a slot
//!   is released only when its row is committed, as with SQLite), and the items it was
//!   deferring because their host was down (they had failed; nothing of theirs
//!   succeeded).
//!
//! Schema:
//!
//! ```sql
//! CREATE TABLE steady_batches (
//!   name text PRIMARY KEY,           -- --batch NAME (default: the input's name and hash)
//!   input text, input_sha256 text,   -- every worker's input must have this hash
//!   total bigint, created_at text, finished_at text,
//!   stopped_by bigint                -- the run that stopped it (--on-failure stop)
//! );
//! CREATE TABLE steady_batch_runs (   -- one row per worker run
//!   id bigserial PRIMARY KEY, batch text,
//!   host text, pid integer, flags text,
//!   started_at text, finished_at text, status text, ok bigint, failed bigint,
//!   alive_until timestamptz          -- its lease: renewed while it lives
//! );
//! CREATE TABLE steady_batch_items (
//!   batch text, id text, line bigint, byte_offset bigint,
//!   state text,                      -- pending, final, resumable (as SQLite's resumable = 1)
//!   worker bigint,                   -- the run holding it, while pending
//!   claims integer,                  -- how many times a worker took it
//!   carried text,                    -- earlier rounds, as JSON (a worker stopped meanwhile)
//!   -- then the columns of SQLite's items table:
//!   method, url, ok, layer, status, attempts, elapsed_ms, error_kind, error_message,
//!   server_message, source, started_at, finished_at, run_id, outcome, body bytea,
//!   PRIMARY KEY (batch, id)
//! );
//! ```
//!
//! The connection has no TLS (as `steady sync --into postgres://`): for a database on
//! the same network; put a TLS-terminating proxy (pgbouncer, stunnel) in front
//! otherwise. The blocking client is used only from threads of its own and blocking
//! tasks, never on the async runtime.

mod claim;
mod lease;
mod results;

use std::path::Path;
use std::time::Duration;

use postgres::{Client, NoTls, Transaction};

use super::{now_rfc3339, Carried, Row, RunStatus, Sink};
use crate::input::{IdHasher, Lines};

pub use claim::{ClaimError, Claimed, Feed, Polled};
pub use lease::Heartbeat;
pub use results::PgResults;

/// How long a worker's items stay its own without a sign of life, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Where a shared batch lives.
#[derive(Debug, Clone)]
pub struct Target {
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DB`.
    pub url: String,
    /// The batch's name (`--batch`); `None`: [`default_name`].
    pub batch: Option<String>,
    /// How long a worker's items stay its own after its last sign of life.
    pub lease: Duration,
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL with its password replaced, for messages.
pub fn shown(url: &str) -> String {
    steady::Url::parse(url)
        .map(|u| steady::redact_url(&u))
        .unwrap_or_else(|_| "the PostgreSQL database".into())
}

/// The batch of an input when no `--batch` is given: its file name and the start of its
/// hash (`orders.jsonl-3f2a9c1b7d0e`), so workers with the same input share one, and
/// tomorrow's input makes a new one.
pub fn default_name(input: &Path, sha256: &str) -> String {
    let file = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".into());
    format!("{file}-{}", &sha256[..sha256.len().min(12)])
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS steady_batches (
    name text PRIMARY KEY, input text NOT NULL, input_sha256 text NOT NULL,
    total bigint NOT NULL, created_at text NOT NULL, finished_at text, stopped_by bigint);
CREATE TABLE IF NOT EXISTS steady_batch_runs (
    id bigserial PRIMARY KEY, batch text NOT NULL REFERENCES steady_batches (name) ON DELETE CASCADE,
    host text, pid integer, flags text, started_at text NOT NULL, finished_at text, status text,
    ok bigint, failed bigint, alive_until timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS steady_batch_items (
    batch text NOT NULL REFERENCES steady_batches (name) ON DELETE CASCADE,
    id text NOT NULL, line bigint NOT NULL, byte_offset bigint NOT NULL,
    state text NOT NULL DEFAULT 'pending', worker bigint, claims integer NOT NULL DEFAULT 0,
    carried text, method text, url text, ok boolean, layer text, status integer,
    attempts integer, elapsed_ms bigint, error_kind text, error_message text,
    server_message text, source text, started_at text, finished_at text, run_id bigint,
    outcome text, body bytea,
    PRIMARY KEY (batch, id));
CREATE INDEX IF NOT EXISTS steady_batch_items_open
    ON steady_batch_items (batch, line) WHERE state <> 'final';";

/// A connection that may be dropped anywhere. Closing the blocking client blocks on a
/// runtime of its own, which panics on a thread that drives async tasks: dropped there
/// (an early return of the runner), it is closed on a thread of its own.
pub struct Conn(Option<Client>);

impl std::ops::Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().expect("a connection until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("steady-batch-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

/// The settings of a connection to `url`, as steady makes every one (`steady batch
/// --db`, `steady sync --into`): the password from `PGPASSWORD` when the URL has none
/// (as libpq), a connect timeout of 5 s unless the URL sets one, and the application
/// name `application` (seen in `pg_stat_activity`).
///
/// # Errors
/// When `url` is not a PostgreSQL URL (the message shows it with its password hidden).
pub fn config(url: &str, application: &str) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("{} is not a PostgreSQL URL: {e}", shown(url)))?;
    if config.get_password().is_none() {
        if let Some(password) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
            config.password(password.as_encoded_bytes());
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.application_name(application);
    Ok(config)
}

/// A connection ([`config`]).
///
/// # Errors
/// A message naming the database (password hidden) and the problem.
pub fn connect(url: &str) -> Result<Conn, String> {
    postgres::Config::from(config(url, "steady batch")?)
        .connect(NoTls)
        .map(|client| Conn(Some(client)))
        .map_err(|e| format!("cannot connect to {}: {}", shown(url), explain(&e)))
}

/// What went wrong, in PostgreSQL's words for an error of the server ("password
/// authentication failed for user ...") rather than the client's "db error".
///
/// A connection that fails says how: refused (nothing listens there), timed out, a
/// host name that does not resolve, or what the client said, with its causes.
pub fn explain(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_owned();
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut words = err.to_string();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let said = match io.kind() {
                ConnectionRefused => Some(
                    "connection refused: nothing listens at that host and port (is PostgreSQL running, and on that port?)",
                ),
                TimedOut => Some(
                    "connection timed out: no answer from that host and port (check the host, the network and any firewall)",
                ),
                NotFound => Some("the host name does not resolve"),
                ConnectionReset => Some("the connection was reset while connecting"),
                _ => None,
            };
            if let Some(said) = said {
                return said.to_owned();
            }
        }
        let text = c.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        cause = c.source();
    }
    if words == "error connecting to server" || words.ends_with("timeout") {
        words.push_str(" (check the host, the port and that PostgreSQL is running)");
    }
    words
}

/// An error of the database in words, naming it.
fn describe(shown: &str, err: &postgres::Error) -> String {
    format!("{shown}: {}", explain(err))
}

/// Creates the tables when missing (once, under an advisory lock: two workers creating
/// them together would collide).
fn ensure_schema(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('steady_batch:schema'))",
        &[],
    )?;
    tx.batch_execute(SCHEMA)?;
    tx.commit()
}

/// What a worker joining a batch needs to know.
#[derive(Debug)]
pub struct Joined {
    /// The batch's name.
    pub name: String,
    /// This worker's run (its row in `steady_batch_runs`): the lease holder.
    pub run: i64,
    /// Whether this worker created the batch.
    pub created: bool,
    /// Bad lines it recorded as failed while creating it (`--skip-invalid`).
    pub invalid: u64,
}

/// How a worker joins: what it runs and how its run is described.
pub struct Joining<'a> {
    /// The batch's name.
    pub name: &'a str,
    /// The input, as given (for the batch row).
    pub input: &'a Path,
    /// Its hash.
    pub sha256: &'a str,
    /// Items and bad lines in it.
    pub total: u64,
    /// The run's flags, as JSON.
    pub flags: &'a serde_json::Value,
    /// `--resume`: a batch must exist; its resumable items are sent again, and a stop
    /// (`--on-failure stop`) is lifted.
    pub resume: bool,
    /// `--lease`.
    pub lease: Duration,
    /// `--skip-invalid`: bad lines become failed rows (made by `invalid`).
    pub skip_invalid: bool,
    /// The failed row of a bad line: id, line, message.
    pub invalid: fn(String, u64, String) -> Row,
}

/// Joins the batch `how.name`, creating it (and the tables) when it does not exist yet:
/// every item of the input pending, bad lines (with `--skip-invalid`) failed. Registers
/// this worker's run with its first lease.
///
/// # Errors
/// When the database cannot be reached or written, the batch holds another input, or
/// `--resume` finds no batch.
pub fn join(client: &mut Client, shown: &str, how: &Joining<'_>) -> Result<Joined, String> {
    let err = |e: postgres::Error| describe(shown, &e);
    ensure_schema(client).map_err(err)?;
    let mut tx = client.transaction().map_err(err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('steady_batch:' || $1))",
        &[&how.name],
    )
    .map_err(err)?;
    let existing = tx
        .query_opt(
            "SELECT input, input_sha256 FROM steady_batches WHERE name = $1",
            &[&how.name],
        )
        .map_err(err)?;
    let created = match existing {
        Some(row) => {
            let (input, sha): (String, String) = (row.get(0), row.get(1));
            if sha != how.sha256 {
                return Err(format!(
                    "refused: the batch '{}' in {shown} holds another input ({input}, sha256 {}...; this one is {}...); every worker needs the same input: give each input its own --batch NAME",
                    how.name,
                    &sha[..sha.len().min(12)],
                    &how.sha256[..how.sha256.len().min(12)],
                ));
            }
            if how.resume {
                // A batch stopped by --on-failure stop goes on.
                tx.execute(
                    "UPDATE steady_batches SET stopped_by = NULL WHERE name = $1",
                    &[&how.name],
                )
                .map_err(err)?;
            }
            false
        }
        None if how.resume => {
            return Err(format!(
                "nothing to resume: {shown} holds no batch '{}'; run without --resume",
                how.name
            ))
        }
        None => {
            tx.execute(
                "INSERT INTO steady_batches (name, input, input_sha256, total, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &how.name,
                    &how.input.display().to_string(),
                    &how.sha256,
                    &(how.total as i64),
                    &now_rfc3339(),
                ],
            )
            .map_err(err)?;
            true
        }
    };
    let run: i64 = tx
        .query_one(
            "INSERT INTO steady_batch_runs (batch, host, pid, flags, started_at, status, alive_until)
             VALUES ($1, $2, $3, $4, $5, 'running', now() + $6::float8 * interval '1 millisecond') RETURNING id",
            &[
                &how.name,
                &super::lock::hostname(),
                &(std::process::id() as i32),
                &how.flags.to_string(),
                &now_rfc3339(),
                &(how.lease.as_millis() as f64),
            ],
        )
        .map_err(err)?
        .get(0);
    let invalid = if created {
        index(&mut tx, how, run).map_err(|e| match e {
            Indexing::Db(e) => err(e),
            Indexing::Input(e) => format!("cannot read {}: {e}", how.input.display()),
        })?
    } else {
        0
    };
    tx.commit().map_err(err)?;
    if created {
        // Statistics for the rows just written, so that claims plan for the index on
        // open items at once, not after autovacuum comes by.
        client
            .batch_execute("ANALYZE steady_batch_items")
            .map_err(err)?;
    }
    Ok(Joined {
        name: how.name.to_owned(),
        run,
        created,
        invalid,
    })
}

enum Indexing {
    Db(postgres::Error),
    Input(std::io::Error),
}

/// The most items one statement inserts.
const INDEX_CHUNK: usize = 5_000;

/// Writes one pending row per item of the input (id, line, byte offset), and the failed
/// rows of bad lines and duplicate ids (`--skip-invalid`: the first of an id is the item,
/// as in a SQLite run); returns how many of those.
fn index(tx: &mut Transaction<'_>, how: &Joining<'_>, run: i64) -> Result<u64, Indexing> {
    let file = std::fs::File::open(how.input).map_err(Indexing::Input)?;
    let mut lines = Lines::new(std::io::BufReader::with_capacity(64 * 1024, file));
    let insert = tx
        .prepare(
            "INSERT INTO steady_batch_items (batch, id, line, byte_offset)
             SELECT $1, * FROM unnest($2::text[], $3::int8[], $4::int8[])",
        )
        .map_err(Indexing::Db)?;
    let (mut ids, mut numbers, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
    let mut invalid = Vec::new();
    let hasher = IdHasher::default();
    let mut seen = std::collections::HashSet::new();
    let flush = |tx: &mut Transaction<'_>,
                 ids: &mut Vec<String>,
                 numbers: &mut Vec<i64>,
                 offsets: &mut Vec<i64>|
     -> Result<(), Indexing> {
        if !ids.is_empty() {
            tx.execute(&insert, &[&how.name, &*ids, &*numbers, &*offsets])
                .map_err(Indexing::Db)?;
        }
        ids.clear();
        numbers.clear();
        offsets.clear();
        Ok(())
    };
    while let Some((line, parsed)) = lines.next_line().map_err(Indexing::Input)? {
        let (id, problem) = match parsed {
            Ok(None) => continue,
            Ok(Some(item)) if seen.insert(hasher.hash(&item.id)) => (item.id, None),
            Ok(Some(item)) => (
                format!("line-{line}"),
                Some(format!("duplicate id '{}'", item.id)),
            ),
            Err(message) => (format!("line-{line}"), Some(message)),
        };
        if let Some(message) = problem {
            if !how.skip_invalid {
                // The check pass refuses such an input before a run starts.
                continue;
            }
            invalid.push((how.invalid)(id.clone(), line, message));
        }
        ids.push(id);
        numbers.push(line as i64);
        offsets.push(lines.offset() as i64);
        if ids.len() >= INDEX_CHUNK {
            flush(tx, &mut ids, &mut numbers, &mut offsets)?;
        }
    }
    flush(tx, &mut ids, &mut numbers, &mut offsets)?;
    let statement = tx.prepare(RECORD).map_err(Indexing::Db)?;
    record(tx, &statement, how.name, run, &invalid).map_err(Indexing::Db)?;
    Ok(invalid.len() as u64)
}

/// Final (or resumable) results, in one statement (one round trip for a group commit:
/// a statement a row made the writer, not the calls, the limit). Only an item without
/// a final result takes one: the first final result of an item stands.
const RECORD: &str = "UPDATE steady_batch_items i SET method = v.method, url = v.url, ok = v.ok,
        layer = v.layer, status = v.status, attempts = v.attempts, elapsed_ms = v.elapsed_ms,
        error_kind = v.error_kind, error_message = v.error_message,
        server_message = v.server_message, source = v.source, started_at = v.started_at,
        finished_at = v.finished_at, run_id = $2,
        state = CASE WHEN v.resumable THEN 'resumable' ELSE 'final' END,
        outcome = v.outcome, body = v.body, worker = NULL, carried = NULL
     FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::int4[],
                 $9::int4[], $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[],
                 $15::text[], $16::text[], $17::bool[], $18::text[], $19::bytea[])
        AS v(id, method, url, ok, layer, status, attempts, elapsed_ms, error_kind,
             error_message, server_message, source, started_at, finished_at, resumable,
             outcome, body)
     WHERE i.batch = $1 AND i.id = v.id AND i.state <> 'final'";

fn record(
    tx: &mut Transaction<'_>,
    statement: &postgres::Statement,
    batch: &str,
    run: i64,
    rows: &[Row],
) -> Result<u64, postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    fn column<'a, T>(rows: &'a [Row], f: impl Fn(&'a Row) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    tx.execute(
        statement,
        &[
            &batch,
            &run,
            &column(rows, |r| r.id.as_str()),
            &column(rows, |r| r.method.as_str()),
            &column(rows, |r| r.url.as_str()),
            &column(rows, |r| r.ok),
            &column(rows, |r| r.layer.as_deref()),
            &column(rows, |r| r.status.map(i32::from)),
            &column(rows, |r| r.attempts as i32),
            &column(rows, |r| r.elapsed_ms as i64),
            &column(rows, |r| r.error_kind.as_deref()),
            &column(rows, |r| r.error_message.as_deref()),
            &column(rows, |r| r.server_message.as_deref()),
            &column(rows, |r| r.source.as_str()),
            &column(rows, |r| r.started_at.as_str()),
            &column(rows, |r| r.finished_at.as_str()),
            &column(rows, |r| r.resumable),
            &column(rows, |r| r.outcome.as_str()),
            &column(rows, |r| r.body.as_deref()),
        ],
    )
}

/// The writer's side: results of one worker's run, in group commits.
pub struct PgSink {
    client: Conn,
    batch: String,
    shown: String,
    /// [`RECORD`], prepared once.
    statement: postgres::Statement,
}

impl PgSink {
    /// A sink writing into `batch` over `client`.
    ///
    /// # Errors
    /// When the statement that writes results cannot be prepared.
    pub fn new(mut client: Conn, batch: &str, shown: &str) -> Result<PgSink, String> {
        let statement = client.prepare(RECORD).map_err(|e| describe(shown, &e))?;
        Ok(PgSink {
            client,
            batch: batch.to_owned(),
            shown: shown.to_owned(),
            statement,
        })
    }
}

impl Sink for PgSink {
    fn record_all(
        &mut self,
        run: i64,
        rows: &[Row],
        carried: &[(String, Carried)],
    ) -> Result<(), String> {
        let shown = self.shown.clone();
        let err = |e: postgres::Error| describe(&shown, &e);
        let mut tx = self.client.transaction().map_err(err)?;
        record(&mut tx, &self.statement, &self.batch, run, rows).map_err(err)?;
        if !carried.is_empty() {
            // Left without a result (the run stopped): released, with its rounds, for
            // another worker or a later run.
            let carry = tx
                .prepare(
                    "UPDATE steady_batch_items SET carried = $3, worker = NULL
                     WHERE batch = $1 AND id = $2 AND state <> 'final' AND worker = $4",
                )
                .map_err(err)?;
            for (id, c) in carried {
                let text = serde_json::to_string(c).unwrap_or_default();
                tx.execute(&carry, &[&self.batch, id, &text, &run])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn finish_run(&mut self, run: i64, status: RunStatus) -> Result<(), String> {
        let shown = self.shown.clone();
        let err = |e: postgres::Error| describe(&shown, &e);
        let mut tx = self.client.transaction().map_err(err)?;
        tx.execute(
            "UPDATE steady_batch_runs SET finished_at = $2, status = $3, alive_until = now(),
                ok = (SELECT count(*) FROM steady_batch_items WHERE batch = $4 AND run_id = $1 AND ok),
                failed = (SELECT count(*) FROM steady_batch_items WHERE batch = $4 AND run_id = $1 AND NOT ok)
             WHERE id = $1",
            &[&run, &now_rfc3339(), &status.name(), &self.batch],
        )
        .map_err(err)?;
        // Items it took but did not finish go back to the others at once.
        tx.execute(
            "UPDATE steady_batch_items SET worker = NULL WHERE batch = $1 AND worker = $2 AND state <> 'final'",
            &[&self.batch, &run],
        )
        .map_err(err)?;
        if status == RunStatus::Stopped {
            tx.execute(
                "UPDATE steady_batches SET stopped_by = $2 WHERE name = $1 AND stopped_by IS NULL",
                &[&self.batch, &run],
            )
            .map_err(err)?;
        }
        tx.execute(
            "UPDATE steady_batches SET finished_at = $2 WHERE name = $1 AND finished_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM steady_batch_items WHERE batch = $1 AND state = 'pending')",
            &[&self.batch, &now_rfc3339()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }
}
