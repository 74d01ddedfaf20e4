//! Reading a shared batch's results (`steady results postgres://...`, the summary):
//! the same questions as of a SQLite file, over the items that have a result.

use super::Conn;
use postgres::fallible_iterator::FallibleIterator;

use super::describe;
use crate::store::{Results, Row};

/// The results of one batch in PostgreSQL.
pub struct PgResults {
    client: Conn,
    batch: String,
    shown: String,
    total: u64,
    batches: u64,
}

impl PgResults {
    /// The batch `batch` in the database at `url`; without a name, the newest batch.
    ///
    /// # Errors
    /// When the database cannot be reached, holds no steady batch, or no batch of that
    /// name (the message lists the newest ones).
    pub fn open(url: &str, batch: Option<&str>) -> Result<PgResults, String> {
        let shown = super::shown(url);
        let mut client = super::connect(url)?;
        let err = |e: postgres::Error| describe(&shown, &e);
        let exists: Option<String> = client
            .query_one("SELECT to_regclass('steady_batches')::text", &[])
            .map_err(err)?
            .get(0);
        if exists.is_none() {
            return Err(format!(
                "{shown} holds no steady batch (no table steady_batches)"
            ));
        }
        let names: Vec<(String, i64)> = client
            .query(
                "SELECT name, total FROM steady_batches ORDER BY created_at DESC, name",
                &[],
            )
            .map_err(err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let found = match batch {
            Some(name) => names.iter().find(|(n, _)| n == name),
            None => names.first(),
        };
        let Some((name, total)) = found.cloned() else {
            let newest: Vec<&str> = names.iter().take(10).map(|(n, _)| n.as_str()).collect();
            return Err(match (batch, newest.is_empty()) {
                (_, true) => format!("{shown} holds no steady batch"),
                (Some(name), false) => format!(
                    "{shown} holds no batch '{name}'; the newest: {}",
                    newest.join(", ")
                ),
                (None, false) => unreachable!("the newest batch exists"),
            });
        };
        Ok(PgResults {
            client,
            batch: name,
            shown,
            total: total as u64,
            batches: names.len() as u64,
        })
    }

    /// The batch's name.
    pub fn name(&self) -> &str {
        &self.batch
    }

    /// Items and bad lines in its input.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Batches in the database.
    pub fn batches(&self) -> u64 {
        self.batches
    }

    fn err(&self) -> impl Fn(postgres::Error) -> String + '_ {
        move |e| describe(&self.shown, &e)
    }
}

impl Results for PgResults {
    fn counts(&mut self) -> Result<(u64, u64, u64), String> {
        let row = self
            .client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE ok) FROM steady_batch_items
                 WHERE batch = $1 AND state <> 'pending'",
                &[&self.batch],
            )
            .map_err(self.err())?;
        let (rows, ok) = (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64);
        Ok((rows, ok, rows - ok))
    }

    fn failures_by_layer(&mut self) -> Result<Vec<(String, u64)>, String> {
        let rows = self
            .client
            .query(
                "SELECT coalesce(layer, 'none'), count(*) FROM steady_batch_items
                 WHERE batch = $1 AND state <> 'pending' AND NOT ok GROUP BY layer ORDER BY 2 DESC, 1",
                &[&self.batch],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn top_failures(&mut self, limit: usize) -> Result<Vec<(String, u64, String, String)>, String> {
        let rows = self
            .client
            .query(
                "SELECT kind, n, id, message FROM (
                    SELECT coalesce(error_kind, '?') AS kind, id, coalesce(error_message, '') AS message, line,
                        count(*) OVER (PARTITION BY error_kind) AS n,
                        row_number() OVER (PARTITION BY error_kind ORDER BY line) AS nth
                    FROM steady_batch_items WHERE batch = $1 AND state <> 'pending' AND NOT ok) t
                 WHERE nth = 1 ORDER BY n DESC, line LIMIT $2",
                &[&self.batch, &(limit as i64)],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64, r.get(2), r.get(3)))
            .collect())
    }

    fn rows(&mut self, ok: Option<bool>, each: &mut dyn FnMut(Row)) -> Result<(), String> {
        let shown = self.shown.clone();
        let err = |e: postgres::Error| describe(&shown, &e);
        let mut rows = self
            .client
            .query_raw(
                "SELECT id, line, method, url, ok, layer, status, attempts, elapsed_ms, error_kind,
                    error_message, server_message, source, started_at, finished_at,
                    state = 'resumable', outcome, body
                 FROM steady_batch_items
                 WHERE batch = $1 AND state <> 'pending' AND ($2::boolean IS NULL OR ok = $2)
                 ORDER BY line",
                [
                    &self.batch as &(dyn postgres::types::ToSql + Sync),
                    &ok as &(dyn postgres::types::ToSql + Sync),
                ],
            )
            .map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            each(Row {
                id: r.get(0),
                line: r.get::<_, i64>(1) as u64,
                method: r.get::<_, Option<String>>(2).unwrap_or_default(),
                url: r.get::<_, Option<String>>(3).unwrap_or_default(),
                ok: r.get::<_, Option<bool>>(4).unwrap_or(false),
                layer: r.get(5),
                status: r.get::<_, Option<i32>>(6).map(|s| s as u16),
                attempts: r.get::<_, Option<i32>>(7).unwrap_or(0) as u32,
                elapsed_ms: r.get::<_, Option<i64>>(8).unwrap_or(0) as u64,
                error_kind: r.get(9),
                error_message: r.get(10),
                server_message: r.get(11),
                source: r.get::<_, Option<String>>(12).unwrap_or_default(),
                started_at: r.get::<_, Option<String>>(13).unwrap_or_default(),
                finished_at: r.get::<_, Option<String>>(14).unwrap_or_default(),
                resumable: r.get(15),
                outcome: r.get::<_, Option<String>>(16).unwrap_or_default(),
                body: r.get(17),
            });
        }
        Ok(())
    }
}
