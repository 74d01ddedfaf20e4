//! `steady sync`: a paginated API pulled into a database table that an outage, Ctrl-C
//! or `kill -9` never leaves half-updated.
//!
//! The story: a nightly job syncs users from a third-party API into the team's
//! database; a 30-minute outage at page 40 of 90 leaves the table half old, half new,
//! and the next run starts over. The usual fixes each keep a trap (dlt, Singer and
//! Airbyte users meet them): state committed apart from the data gives duplicates or
//! gaps after a crash, and state lost on failure refetches everything. Here:
//!
//! - each page is fetched as an ordinary steady call ([`steady::paginate`]: retries,
//!   guards, deadline, the error-in-200 check), then its records go into a staging
//!   table **in the same transaction as the checkpoint** that says which page comes
//!   next: after a crash the two agree, so no page is fetched twice and none is lost;
//! - only when the last page is in does **one transaction** upsert the snapshot into
//!   the live table, delete the keys it lacks (`--delete-missing`), record the run
//!   (inserted, updated, deleted, unchanged) and store the incremental cursor
//!   (`--since`): a reader sees the table before the run or after it;
//! - a page that fails (after its retries) stops the run: the live table is exactly as
//!   it was, and the same command continues from the page that failed; `--restart`
//!   discards the staged pages. A page that fails the semantic layer (no records at
//!   the records path, an error in a 200) stops it the same way.
//!
//! The store is a SQLite file or a PostgreSQL database (`--into postgres://...`),
//! with the same tables ([`store`]).

pub mod store;

use serde_json::Value;
use serde_json_path::JsonPath;
use sha2::{Digest, Sha256};
use steady::paginate::{Paginate, Stop};
use steady::{Client, Error, RequestBuilder, Url};
use tokio::sync::watch;

pub use store::ColumnType;
use store::{Counts, Row, Store};

/// What to sync, and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The first page.
    pub url: String,
    /// The database: a SQLite file's path, or a `postgres://` URL.
    pub into: String,
    /// The live table.
    pub table: String,
    /// JSONPath to the records of a page.
    pub records: String,
    /// JSONPath, within a record, to its key.
    pub key: String,
    /// The next-page spec ([`steady::paginate::NextSpec`]).
    pub next: String,
    /// Extra columns: name, type and JSONPath within a record.
    pub columns: Vec<(String, ColumnType, String)>,
    /// Delete keys the snapshot lacks.
    pub delete_missing: bool,
    /// Incremental sync: JSONPath within a record to the cursor value, and the query
    /// parameter the next run sends it in.
    pub since: Option<(String, String)>,
    /// Stop after this many pages.
    pub max_pages: Option<u32>,
    /// Discard a run in progress and start over.
    pub restart: bool,
}

impl Spec {
    /// What identifies "the same command" for a resume.
    fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.url, &self.table, &self.records, &self.key, &self.next] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for (name, ty, path) in &self.columns {
            h.update(format!("{name}:{ty:?}={path}\0").as_bytes());
        }
        if let Some((path, param)) = &self.since {
            h.update(format!("since {path} {param}\0").as_bytes());
        }
        h.update([u8::from(self.delete_missing)]);
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Progress, for a progress line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// The number of the last page committed (0 before any).
    pub page: u32,
    /// Pages committed by this run.
    pub pages: u32,
    /// Records committed, with those of the run continued.
    pub records: u64,
    /// The run continued from a checkpoint at this page.
    pub resumed_at: Option<u32>,
}

/// A complete run.
#[derive(Debug, Clone)]
pub struct Report {
    pub pages: u32,
    pub records: u64,
    pub counts: Counts,
    /// The page the run continued after, when it resumed.
    pub resumed_after: Option<u32>,
    /// The cursor stored for the next run (`--since`).
    pub since: Option<String>,
    /// Why the listing ended.
    pub stop: String,
    /// `--delete-missing` was skipped: `--max-pages` ended the listing early.
    pub delete_skipped: bool,
}

/// Why a run did not complete.
#[derive(Debug)]
pub enum Failure {
    /// Arguments or the database (nothing was fetched, or nothing more).
    Usage(String),
    /// A page failed: its error, its number; the live table is unchanged.
    Page { number: u32, error: Box<Error> },
    /// A record has no key.
    NoKey {
        page: u32,
        index: usize,
        key: String,
    },
    /// Ctrl-C between pages.
    Interrupted { pages: u32 },
    /// The database could not be written.
    Unsaved(String),
}

/// Now, as RFC 3339 UTC (`2026-12-05T16:35:55Z`), as batch stores its times.
fn now() -> String {
    steady_batch::store::now_rfc3339()
}

/// Runs `spec` with `client`; `prepare` sets credentials and checks on each page's
/// request; `stop` ends it between pages.
///
/// # Errors
/// See [`Failure`]: in every case the live table is as it was before the run.
pub async fn run(
    client: &Client,
    spec: &Spec,
    prepare: impl Fn(RequestBuilder) -> RequestBuilder + Send + Sync + 'static,
    mut on_page: impl FnMut(Progress),
    stop: watch::Receiver<bool>,
) -> Result<Report, Failure> {
    let key_path = JsonPath::parse(&spec.key)
        .map_err(|e| Failure::Usage(format!("--key '{}' is not a JSONPath: {e}", spec.key)))?;
    let mut columns = Vec::new();
    for (name, _, path) in &spec.columns {
        let parsed = JsonPath::parse(path)
            .map_err(|e| Failure::Usage(format!("--column {name}={path}: not a JSONPath: {e}")))?;
        columns.push((name.clone(), parsed));
    }
    let since_path = match &spec.since {
        Some((path, param)) => Some((
            JsonPath::parse(path)
                .map_err(|e| Failure::Usage(format!("--since '{path}' is not a JSONPath: {e}")))?,
            param.clone(),
        )),
        None => None,
    };
    if spec.since.is_some() && spec.delete_missing {
        return Err(Failure::Usage(
            "--since fetches only what changed, so --delete-missing would delete the rest: use one or the other".into(),
        ));
    }
    let names: Vec<(String, ColumnType)> = spec
        .columns
        .iter()
        .map(|(n, t, _)| (n.clone(), *t))
        .collect();
    let mut store = Store::open(&spec.into, &spec.table, &names)
        .await
        .map_err(Failure::Usage)?;
    // One run per table at a time (a nightly cron job that overlaps the next night's).
    store.lock().await.map_err(Failure::Usage)?;
    let fingerprint = spec.fingerprint();
    let checkpoint = store.checkpoint().await.map_err(Failure::Unsaved)?;
    let mut resumed_after = None;
    let mut max_since: Option<String> = None;
    let mut pending_begin: Option<String> = None;
    let mut resumed_records = 0;
    let pager = match checkpoint {
        Some(cp) if !spec.restart && cp.fingerprint != fingerprint => {
            return Err(Failure::Usage(format!(
                "an unfinished sync of {} (page {} of it committed) was started with other arguments: run it again with the same ones to finish it, or add --restart to discard it",
                spec.table, cp.page
            )))
        }
        // A checkpoint with no page staged is a run that never got going: start anew.
        Some(cp) if !spec.restart && cp.pages > 0 => {
            resumed_after = Some(cp.page);
            max_since = cp.max_since.clone();
            on_page(Progress {
                page: cp.page,
                pages: 0,
                records: cp.records,
                resumed_at: Some(cp.page),
            });
            resumed_records = cp.records;
            if cp.next_url.is_empty() {
                None // every page is staged: only the final transaction is left
            } else {
                let url = Url::parse(&cp.next_url).map_err(|e| Failure::Unsaved(e.to_string()))?;
                Some(new_pager(client, spec)?.resume_at(url, cp.page))
            }
        }
        _ => {
            let mut first = Url::parse(&spec.url)
                .map_err(|e| Failure::Usage(format!("'{}' is not a valid URL: {e}", spec.url)))?;
            if let (Some((_, param)), Some(since)) =
                (&spec.since, store.since().await.map_err(Failure::Unsaved)?)
            {
                first.query_pairs_mut().append_pair(param, &since);
            }
            // Begun (tables created, checkpoint set) only once the first page is in:
            // a first page that fails or does not match leaves the database as it was.
            pending_begin = Some(first.to_string());
            Some(new_pager(client, spec)?.resume_at(first, 0))
        }
    };
    let mut progress = Progress {
        page: resumed_after.unwrap_or(0),
        records: resumed_records,
        resumed_at: resumed_after,
        ..Progress::default()
    };
    let mut stop_reason = "every page staged before".to_owned();
    let mut delete_skipped = false;
    if let Some(mut pager) = pager.map(|p| p.prepare(prepare)) {
        loop {
            if *stop.borrow() {
                return Err(Failure::Interrupted {
                    pages: progress.pages,
                });
            }
            let page = match pager.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    return Err(Failure::Page {
                        number: progress_number(resumed_after, progress.pages) + 1,
                        error: Box::new(error),
                    })
                }
            };
            let mut rows = Vec::with_capacity(page.records.len());
            for (index, record) in page.records.iter().enumerate() {
                let key = match key_path.query(record).first() {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(Failure::NoKey {
                            page: page.number,
                            index,
                            key: spec.key.clone(),
                        })
                    }
                };
                if let Some((path, _)) = &since_path {
                    if let Some(value) = path.query(record).first() {
                        let text = match value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        if max_since.as_ref().is_none_or(|m| later(&text, m)) {
                            max_since = Some(text);
                        }
                    }
                }
                rows.push(Row {
                    key,
                    record: record.to_string(),
                    columns: columns
                        .iter()
                        .map(|(_, p)| {
                            p.query(record)
                                .first()
                                .map(|v| (*v).clone())
                                .unwrap_or(Value::Null)
                        })
                        .collect(),
                });
            }
            let next = page.next.as_ref().map(|u| u.to_string());
            if let Some(first) = pending_begin.take() {
                store
                    .begin(&fingerprint, &first, &now())
                    .await
                    .map_err(Failure::Unsaved)?;
            }
            store
                .stage_page(&rows, page.number, next.as_deref(), max_since.as_deref())
                .await
                .map_err(Failure::Unsaved)?;
            progress.page = page.number;
            progress.pages += 1;
            progress.records += rows.len() as u64;
            on_page(progress);
        }
        stop_reason = match pager.stopped() {
            Some(Stop::MaxPages(n)) => {
                delete_skipped = spec.delete_missing;
                format!("--max-pages {n}")
            }
            Some(Stop::Complete(why)) => (*why).to_owned(),
            _ => "the last page".into(),
        };
    }
    if let Some(first) = pending_begin.take() {
        store
            .begin(&fingerprint, &first, &now())
            .await
            .map_err(Failure::Unsaved)?;
    }
    let started_at = store.started_at().await.map_err(Failure::Unsaved)?;
    let (counts, pages, records) = store
        .finish(
            spec.delete_missing && !delete_skipped,
            max_since.as_deref().filter(|_| spec.since.is_some()),
            &started_at,
            &now(),
        )
        .await
        .map_err(Failure::Unsaved)?;
    Ok(Report {
        pages,
        records,
        counts,
        resumed_after,
        since: max_since.filter(|_| spec.since.is_some()),
        stop: stop_reason,
        delete_skipped,
    })
}

fn progress_number(resumed_after: Option<u32>, pages: u32) -> u32 {
    resumed_after.unwrap_or(0) + pages
}

/// Whether cursor value `a` comes after `b`: as numbers when both are, else as text
/// (ISO 8601 timestamps compare as text).
fn later(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

fn new_pager(client: &Client, spec: &Spec) -> Result<Paginate, Failure> {
    let pager = Paginate::new(client, &spec.url, &spec.records, &spec.next)
        .map_err(|e| Failure::Usage(e.what()))?;
    Ok(match spec.max_pages {
        Some(n) => pager.max_pages(n),
        None => pager,
    })
}
