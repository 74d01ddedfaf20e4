//! The PostgreSQL store: the same tables as SQLite's, `record` as `jsonb` and the
//! extra columns as `text`.
//!
//! One connection (tokio-postgres, no TLS: for a database on the same network; put a
//! TLS-terminating proxy in front otherwise). Each page and the final step are one
//! transaction, as in SQLite; PostgreSQL's MVCC gives readers the table before or after
//! the final transaction, never between.

use tokio_postgres::{Client, NoTls};

use super::{typed, Checkpoint, ColumnType, Counts, Row, Typed};

pub(crate) struct Store {
    client: Client,
    table: String,
    stage: String,
    columns: Vec<String>,
    types: Vec<ColumnType>,
    typed: Vec<(String, ColumnType)>,
    /// The URL with its password replaced, for messages.
    shown: String,
}

use steady_batch::store::postgres::{explain, shown};

impl Store {
    pub(crate) async fn open(
        url: &str,
        table: &str,
        typed_columns: &[(String, ColumnType)],
    ) -> Result<Store, String> {
        // Names checked by `super::Store::open`.
        let columns: Vec<String> = typed_columns.iter().map(|(c, _)| c.clone()).collect();
        let types: Vec<ColumnType> = typed_columns.iter().map(|(_, t)| *t).collect();
        let shown = shown(url);
        let (client, connection) = steady_batch::store::postgres::config(url, "steady sync")?
            .connect(NoTls)
            .await
            .map_err(|e| format!("cannot connect to {shown}: {}", explain(&e)))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let stage = format!("steady_sync_stage_{table}");
        let store = Store {
            client,
            table: table.to_owned(),
            stage,
            columns,
            types,
            typed: typed_columns.to_vec(),
            shown,
        };
        // Nothing is created until the first page is in (`begin`): a run whose first
        // page fails leaves the database as it was. Tables there already must have
        // the columns asked for.
        store.check_columns().await?;
        Ok(store)
    }

    /// Refuses a live or staging table that lacks one of the columns (tables not
    /// there yet pass: `begin` creates them).
    async fn check_columns(&self) -> Result<(), String> {
        for name in [self.table.as_str(), self.stage.as_str()] {
            let have: Vec<String> = self
                .client
                .query(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1",
                    &[&name],
                )
                .await
                .map_err(self.err())?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if have.is_empty() {
                continue;
            }
            if let Some(missing) = self.columns.iter().find(|c| !have.contains(c)) {
                return Err(format!(
                    "the table {name} in {} has no column {missing}: add it (ALTER TABLE {name} ADD COLUMN {missing} ...) or leave out --column {missing}",
                    self.shown
                ));
            }
        }
        Ok(())
    }

    /// Whether steady's state table exists (a database no sync has written to yet
    /// has none).
    async fn has_state(&self) -> Result<bool, String> {
        let row = self
            .client
            .query_one("SELECT to_regclass('steady_sync_state') IS NOT NULL", &[])
            .await
            .map_err(self.err())?;
        Ok(row.get(0))
    }

    /// Creates what is missing: steady's tables, the live and the staging table.
    async fn create_tables(&self) -> Result<(), String> {
        let (table, stage) = (&self.table, &self.stage);
        let extra: String = self
            .typed
            .iter()
            .map(|(c, t)| format!(", \"{c}\" {}", t.postgres()))
            .collect();
        self.client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS steady_sync_state (
                    table_name text PRIMARY KEY, since text, fingerprint text, next_url text,
                    page integer, pages integer, records bigint, max_since text, started_at text);
                 CREATE TABLE IF NOT EXISTS steady_sync_runs (
                    id bigserial PRIMARY KEY, table_name text NOT NULL, started_at text, finished_at text,
                    pages integer, records bigint, inserted bigint, updated bigint, deleted bigint,
                    unchanged bigint, since text, complete boolean);
                 CREATE TABLE IF NOT EXISTS \"{table}\" (key text PRIMARY KEY, record jsonb NOT NULL{extra});
                 CREATE TABLE IF NOT EXISTS \"{stage}\" (key text PRIMARY KEY, record jsonb NOT NULL{extra});"
            ))
            .await
            .map_err(self.err())?;
        self.check_columns().await
    }

    fn err(&self) -> impl Fn(tokio_postgres::Error) -> String + '_ {
        move |e| format!("{}: {}", self.shown, explain(&e))
    }

    pub(crate) async fn lock(&mut self) -> Result<(), String> {
        let key = format!("steady_sync:{}", self.table);
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&key])
            .await
            .map_err(self.err())?;
        if row.get::<_, bool>(0) {
            Ok(())
        } else {
            Err(super::already_running(&self.table, &self.shown))
        }
    }

    pub(crate) async fn checkpoint(&mut self) -> Result<Option<Checkpoint>, String> {
        if !self.has_state().await? {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt(
                "SELECT fingerprint, next_url, page, pages, records, max_since FROM steady_sync_state
                 WHERE table_name = $1 AND next_url IS NOT NULL",
                &[&self.table],
            )
            .await
            .map_err(self.err())?;
        Ok(row.map(|r| Checkpoint {
            fingerprint: r.get(0),
            next_url: r.get(1),
            page: r.get::<_, i32>(2) as u32,
            pages: r.get::<_, i32>(3) as u32,
            records: r.get::<_, i64>(4) as u64,
            max_since: r.get(5),
        }))
    }

    pub(crate) async fn since(&mut self) -> Result<Option<String>, String> {
        if !self.has_state().await? {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt(
                "SELECT since FROM steady_sync_state WHERE table_name = $1",
                &[&self.table],
            )
            .await
            .map_err(self.err())?;
        Ok(row.and_then(|r| r.get(0)))
    }

    pub(crate) async fn begin(
        &mut self,
        fingerprint: &str,
        first_url: &str,
        now: &str,
    ) -> Result<(), String> {
        self.create_tables().await?;
        let shown = self.shown.clone();
        let err = |e: tokio_postgres::Error| format!("{shown}: {}", explain(&e));
        let tx = self.client.transaction().await.map_err(err)?;
        tx.execute(&format!("DELETE FROM \"{}\"", self.stage), &[])
            .await
            .map_err(err)?;
        tx.execute(
            "INSERT INTO steady_sync_state (table_name, fingerprint, next_url, page, pages, records, max_since, started_at)
             VALUES ($1, $2, $3, 0, 0, 0, NULL, $4)
             ON CONFLICT (table_name) DO UPDATE SET fingerprint = $2, next_url = $3, page = 0,
                pages = 0, records = 0, max_since = NULL, started_at = $4",
            &[&self.table, &fingerprint, &first_url, &now],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    pub(crate) async fn stage_page(
        &mut self,
        rows: &[Row],
        page: u32,
        next: Option<&str>,
        max_since: Option<&str>,
    ) -> Result<(), String> {
        let shown = self.shown.clone();
        let err = |e: tokio_postgres::Error| format!("{shown}: {}", explain(&e));
        let names: String = self.columns.iter().map(|c| format!(", \"{c}\"")).collect();
        let placeholders: String = (0..self.columns.len())
            .map(|i| format!(", ${}", i + 3))
            .collect();
        let sets: String = self
            .columns
            .iter()
            .map(|c| format!(", \"{c}\" = EXCLUDED.\"{c}\""))
            .collect();
        let sql = format!(
            "INSERT INTO \"{}\" (key, record{names}) VALUES ($1, $2::text::jsonb{placeholders})
             ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record{sets}",
            self.stage
        );
        let tx = self.client.transaction().await.map_err(err)?;
        let insert = tx.prepare(&sql).await.map_err(err)?;
        for row in rows {
            let values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = row
                .columns
                .iter()
                .zip(&self.types)
                .map(|(v, t)| pg_value(typed(v, *t), *t))
                .collect();
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                vec![&row.key, &row.record];
            for v in &values {
                params.push(v.as_ref());
            }
            tx.execute(&insert, &params).await.map_err(err)?;
        }
        let next = next.unwrap_or("");
        tx.execute(
            "UPDATE steady_sync_state SET next_url = $2, page = $3, pages = pages + 1,
                records = records + $4, max_since = $5 WHERE table_name = $1",
            &[
                &self.table,
                &next,
                &(page as i32),
                &(rows.len() as i64),
                &max_since,
            ],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    pub(crate) async fn finish(
        &mut self,
        delete_missing: bool,
        since: Option<&str>,
        started_at: &str,
        now: &str,
    ) -> Result<(Counts, u32, u64), String> {
        let (table, stage) = (self.table.clone(), self.stage.clone());
        let shown = self.shown.clone();
        let err = |e: tokio_postgres::Error| format!("{shown}: {}", explain(&e));
        let names: String = self.columns.iter().map(|c| format!(", \"{c}\"")).collect();
        let sets: String = self
            .columns
            .iter()
            .map(|c| format!(", \"{c}\" = EXCLUDED.\"{c}\""))
            .collect();
        let tx = self.client.transaction().await.map_err(err)?;
        let count = |n: i64| n as u64;
        let inserted = count(
            tx.query_one(
                &format!("SELECT count(*) FROM \"{stage}\" s WHERE NOT EXISTS (SELECT 1 FROM \"{table}\" t WHERE t.key = s.key)"),
                &[],
            )
            .await
            .map_err(err)?
            .get(0),
        );
        let updated = count(
            tx.query_one(
                &format!("SELECT count(*) FROM \"{stage}\" s JOIN \"{table}\" t ON t.key = s.key WHERE t.record IS DISTINCT FROM s.record"),
                &[],
            )
            .await
            .map_err(err)?
            .get(0),
        );
        let staged = count(
            tx.query_one(&format!("SELECT count(*) FROM \"{stage}\""), &[])
                .await
                .map_err(err)?
                .get(0),
        );
        tx.execute(
            &format!(
                "INSERT INTO \"{table}\" (key, record{names}) SELECT key, record{names} FROM \"{stage}\"
                 ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record{sets}
                 WHERE \"{table}\".record IS DISTINCT FROM EXCLUDED.record"
            ),
            &[],
        )
        .await
        .map_err(err)?;
        let deleted = if delete_missing {
            tx.execute(
                &format!("DELETE FROM \"{table}\" t WHERE NOT EXISTS (SELECT 1 FROM \"{stage}\" s WHERE s.key = t.key)"),
                &[],
            )
            .await
            .map_err(err)?
        } else {
            0
        };
        let state = tx
            .query_one(
                "SELECT pages, records FROM steady_sync_state WHERE table_name = $1",
                &[&table],
            )
            .await
            .map_err(err)?;
        let (pages, records) = (state.get::<_, i32>(0) as u32, state.get::<_, i64>(1) as u64);
        let counts = Counts {
            inserted,
            updated,
            deleted,
            unchanged: staged - inserted - updated,
        };
        tx.execute(
            "INSERT INTO steady_sync_runs (table_name, started_at, finished_at, pages, records, inserted,
                updated, deleted, unchanged, since, complete) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)",
            &[
                &table,
                &started_at,
                &now,
                &(pages as i32),
                &(records as i64),
                &(counts.inserted as i64),
                &(counts.updated as i64),
                &(counts.deleted as i64),
                &(counts.unchanged as i64),
                &since,
            ],
        )
        .await
        .map_err(err)?;
        tx.execute(
            "UPDATE steady_sync_state SET next_url = NULL, fingerprint = NULL, page = 0, pages = 0,
                records = 0, max_since = NULL, since = COALESCE($2, since) WHERE table_name = $1",
            &[&table, &since],
        )
        .await
        .map_err(err)?;
        tx.execute(&format!("DELETE FROM \"{stage}\""), &[])
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok((counts, pages, records))
    }

    pub(crate) async fn started_at(&mut self) -> Result<String, String> {
        let row = self
            .client
            .query_opt(
                "SELECT started_at FROM steady_sync_state WHERE table_name = $1",
                &[&self.table],
            )
            .await
            .map_err(self.err())?;
        Ok(row
            .and_then(|r| r.get::<_, Option<String>>(0))
            .unwrap_or_default())
    }
}

/// A typed value as a parameter of a column of type `ty` (NULL typed as the column).
fn pg_value(value: Typed, ty: ColumnType) -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
    match (value, ty) {
        (Typed::Int(i), _) => Box::new(Some(i)),
        (Typed::Real(f), _) => Box::new(Some(f)),
        (Typed::Bool(b), _) => Box::new(Some(b)),
        (Typed::Text(s), _) => Box::new(Some(s)),
        (Typed::Null, ColumnType::Integer) => Box::new(None::<i64>),
        (Typed::Null, ColumnType::Real) => Box::new(None::<f64>),
        (Typed::Null, ColumnType::Boolean) => Box::new(None::<bool>),
        (Typed::Null, _) => Box::new(None::<String>),
    }
}
