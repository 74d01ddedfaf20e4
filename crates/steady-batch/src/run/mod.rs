//! The runner: items in, results out, through one client, under every guard.
//!
//! Items are read from the input as they are needed (never loaded whole; a small input's
//! lines come parsed from the check pass instead, see [`Checked::lines`]), sent with at
//! most `concurrency` in flight, and each final result is written in one transaction
//! by a single writer thread. Only an item's own outcome is recorded: a call turned away
//! by a guard (the host's circuit, retry budget or concurrency limit) or failed because
//! its host is down is *deferred*: it waits, holding no concurrency slot, then goes
//! again; an item whose retries ran out on a host that answered gets one or two more
//! rounds, then its true outcome ([`defer`] has the rules). Other hosts carry on
//! meanwhile. Only after `max_wait` with the host down is an item recorded as failed,
//! and marked resumable.
//!
//! Stopping (Ctrl-C, or `--on-failure stop`) stops taking new items; items in flight
//! finish within their deadline and are written; deferred items are left without a
//! result (their rounds so far are kept, see [`Carried`]), so `--resume` sends them.
//!
//! Results that cannot be saved stop the run at once ([`RunStatus::Unsaved`]): items
//! in flight are abandoned, nothing new is sent, and the items without a stored result
//! are exactly those `--resume` sends. One run at a time per database: the run holds
//! [`RunLock`] from start to end.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use steady::fallback::Fallback;
use steady::report::Record;
use steady::{Client, Error, Method, RequestBuilder};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

#[cfg(doc)]
use crate::input::Checked;
use crate::input::{IdHasher, Item, Line, Lines};
use crate::store::{now_rfc3339, Carried, Db, ItemState, Row, RunLock, RunStatus, Sink, Store};
use crate::writer::{writer, Msg, Unsaved};

mod defer;
mod shared;

use defer::{host_of, Next};

/// What to do with a failed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Record it and go on (default).
    #[default]
    Continue,
    /// Record it and stop taking new items.
    Stop,
}

/// How a run behaves.
#[derive(Clone)]
pub struct Options {
    /// Items in flight at once.
    pub concurrency: usize,
    /// What a failure does to the run.
    pub on_failure: OnFailure,
    /// How long an item waits for its host to recover.
    pub max_wait: Duration,
    /// Keep response bodies in the database.
    pub store_body: bool,
    /// Send a per-item `Idempotency-Key` (stable across resumes) with non-idempotent
    /// methods.
    pub idempotency_keys: bool,
    /// Record bad lines (and duplicate ids) as failed items instead of stopping.
    pub skip_invalid: bool,
    /// Fallbacks for outages, per item.
    pub fallbacks: Vec<Fallback>,
    /// Applies the run-wide request settings (credentials, checks) to each request.
    pub prepare: Arc<dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync>,
    /// How long a write of results waits for a lock another process holds on the
    /// database before the run stops ([`Store::set_lock_timeout`]).
    pub lock_timeout: Duration,
}

/// Live counters, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Items in the input.
    pub total: AtomicU64,
    /// Items with a final result written in this run.
    pub done: AtomicU64,
    /// ... that succeeded.
    pub ok: AtomicU64,
    /// ... that failed.
    pub failed: AtomicU64,
    /// Items waiting for their host to recover.
    pub deferred: AtomicU64,
    /// Items with a final result from an earlier run.
    pub skipped: AtomicU64,
    /// Hosts whose items are deferred.
    pub waiting_hosts: Mutex<BTreeSet<String>>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Why it ended.
    pub status: RunStatus,
    /// Results written in this run: ok, failed.
    pub ok: u64,
    /// Failed items written in this run.
    pub failed: u64,
    /// Items already done before.
    pub skipped: u64,
    /// Why results could not be saved (with [`RunStatus::Unsaved`]).
    pub unsaved: Option<String>,
}

/// Runs the batch in `input` (already checked: `sha256` is its hash) into `db`: a SQLite
/// [`Store`] of its own, or a batch in PostgreSQL that this run shares with every worker
/// started with the same input ([`crate::store::postgres`]).
///
/// # Errors
/// When the input cannot be read or the run may not start: another run on the same
/// SQLite database is live ([`RunLock`]), or see [`Store::start_run`] and
/// [`crate::store::postgres::join`].
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: Client,
    input: &Path,
    lines: Option<Vec<Line>>,
    sha256: &str,
    db: impl Into<Db>,
    flags: Value,
    resume: bool,
    options: Options,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Result<Report, String> {
    let store = match db.into() {
        Db::Sqlite(store) => store,
        Db::Postgres(target) => {
            let how = shared::Run {
                input,
                lines,
                sha256,
                flags,
                resume,
            };
            return shared::run(client, target, how, options, progress, stop).await;
        }
    };
    let _lock = RunLock::acquire(store.path())?;
    store.set_lock_timeout(options.lock_timeout)?;
    let run_id = store.start_run(
        &input.display().to_string(),
        sha256,
        &flags,
        progress.total.load(Ordering::Relaxed),
        resume,
    )?;
    let reader = Store::open(store.path())?;
    let mut running = Running::start(store, run_id, client, options, &progress, &stop, sha256)?;
    let tx = running.job.tx.clone();
    let mut lines = match lines {
        Some(kept) => Source::Kept(kept.into_iter()),
        None => {
            let file = std::fs::File::open(input)
                .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
            Source::File(Lines::new(std::io::BufReader::with_capacity(
                64 * 1024,
                file,
            )))
        }
    };
    let mut status = RunStatus::Finished;
    let mut seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let ids = IdHasher::default();
    let mut stop = stop;
    let job = Arc::clone(&running.job);
    while let Some((line, parsed)) = lines
        .next_line()
        .map_err(|e| format!("cannot read {}: {e}", input.display()))?
    {
        let problem = match parsed {
            // Without --skip-invalid the check pass proved the ids unique.
            Ok(Some(item)) if !job.options.skip_invalid || seen.insert(ids.hash(&item.id)) => {
                Ok(item)
            }
            Ok(Some(item)) => Err(format!("duplicate id '{}'", item.id)),
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        let item = match problem {
            Ok(item) => item,
            Err(message) if job.options.skip_invalid => {
                let id = format!("line-{line}");
                if !(resume && reader.is_final(&id)?) {
                    let _ = tx.send(Msg::Row(Box::new(invalid_row(id, line, message)), None));
                    progress.done.fetch_add(1, Ordering::Relaxed);
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                } else {
                    progress.skipped.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            Err(message) => {
                return Err(format!(
                    "the input changed while running: line {line}: {message}"
                ))
            }
        };
        if let Some(stopped) = running.stopped(&stop) {
            status = stopped;
            break;
        }
        // A fresh run starts from an empty database: only a resume needs the lookup.
        let carried = if resume {
            match reader.item_state(&item.id)? {
                ItemState::Final => {
                    progress.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                ItemState::Open(carried) => carried,
            }
        } else {
            Carried::default()
        };
        let permit = tokio::select! {
            p = Arc::clone(&job.semaphore).acquire_owned() => p.expect("semaphore"),
            _ = stop.changed() => { status = RunStatus::Interrupted; break; }
        };
        // A failure may have stopped the run while this item waited for a slot.
        if *running.stop_rx.borrow() {
            status = RunStatus::Stopped;
            break;
        }
        running.spawn(item, carried, permit)?;
    }
    drop((job, tx));
    running.finish(status, &stop, &progress).await
}

/// A run under way: its items' tasks and its single writer.
struct Running {
    job: Arc<Job>,
    tasks: tokio::task::JoinSet<()>,
    unsaved: Unsaved,
    /// Set when the run stops by itself: results unsaved, or `--on-failure stop`.
    stop_rx: watch::Receiver<bool>,
    writer: std::thread::JoinHandle<Result<(), String>>,
}

impl Running {
    /// Starts the writer of `run_id` on `sink`.
    #[allow(clippy::too_many_arguments)]
    fn start<S: Sink>(
        sink: S,
        run_id: i64,
        client: Client,
        options: Options,
        progress: &Arc<Progress>,
        stop: &watch::Receiver<bool>,
        sha256: &str,
    ) -> Result<Running, String> {
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let (stop_tx, stop_rx) = watch::channel(false);
        let unsaved = Unsaved {
            why: Arc::default(),
            stop: stop_tx.clone(),
        };
        let writer_unsaved = unsaved.clone();
        let writer = std::thread::Builder::new()
            .name("steady-batch-writer".into())
            .spawn(move || writer(sink, run_id, rx, writer_unsaved))
            .map_err(|e| e.to_string())?;
        let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
        // One for the whole run: an item's task holds only a reference.
        let job = Arc::new(Job {
            client,
            options,
            progress: Arc::clone(progress),
            tx,
            stop_tx,
            user_stop: stop.clone(),
            semaphore,
            key_seed: sha256.to_owned(),
        });
        Ok(Running {
            job,
            tasks: tokio::task::JoinSet::new(),
            unsaved,
            stop_rx,
            writer,
        })
    }

    /// Why the run must take no more items, if it must: Ctrl-C (`stop`), or the run
    /// stopped itself (results unsaved, `--on-failure stop`).
    fn stopped(&self, stop: &watch::Receiver<bool>) -> Option<RunStatus> {
        if *stop.borrow() {
            Some(RunStatus::Interrupted)
        } else if *self.stop_rx.borrow() {
            Some(RunStatus::Stopped)
        } else {
            None
        }
    }

    /// Sends `item` on `permit`, and reaps the items that are done.
    fn spawn(
        &mut self,
        item: Item,
        carried: Carried,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), String> {
        self.tasks
            .spawn(Box::pin(Arc::clone(&self.job).run(item, carried, permit)));
        while let Some(done) = self.tasks.try_join_next() {
            done.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Lets the items in flight finish (or abandons them when results cannot be saved),
    /// records how the run ended and waits for the writer.
    async fn finish(
        mut self,
        mut status: RunStatus,
        stop: &watch::Receiver<bool>,
        progress: &Progress,
    ) -> Result<Report, String> {
        loop {
            if self.unsaved.why.get().is_some() {
                // Their results could not be stored: stop sending at once.
                self.tasks.abort_all();
            }
            tokio::select! {
                done = self.tasks.join_next() => match done {
                    None => break,
                    Some(Err(e)) if e.is_cancelled() => {}
                    Some(done) => done.map_err(|e| e.to_string())?,
                },
                _ = self.stop_rx.changed() => {}
            }
        }
        if self.unsaved.why.get().is_some() {
            status = RunStatus::Unsaved;
        }
        if status == RunStatus::Finished && *stop.borrow() {
            status = RunStatus::Interrupted;
        }
        if status == RunStatus::Finished && *self.stop_rx.borrow() {
            status = RunStatus::Stopped;
        }
        let _ = self.job.tx.send(Msg::Finish(status));
        drop(self.job);
        self.writer
            .join()
            .map_err(|_| "the result writer failed".to_owned())??;
        let unsaved = self.unsaved.why.get().cloned();
        Ok(Report {
            status: if unsaved.is_some() {
                RunStatus::Unsaved
            } else {
                status
            },
            ok: progress.ok.load(Ordering::Relaxed),
            failed: progress.failed.load(Ordering::Relaxed),
            skipped: progress.skipped.load(Ordering::Relaxed),
            unsaved,
        })
    }
}

/// Where the run takes its lines: those the check pass kept (a small input), or the
/// file, read and parsed again.
enum Source {
    Kept(std::vec::IntoIter<Line>),
    File(Lines<std::io::BufReader<std::fs::File>>),
}

impl Source {
    #[allow(clippy::type_complexity)]
    fn next_line(&mut self) -> std::io::Result<Option<(u64, Result<Option<Item>, String>)>> {
        match self {
            Source::Kept(lines) => Ok(lines.next().map(|(line, parsed)| (line, parsed.map(Some)))),
            Source::File(lines) => lines.next_line(),
        }
    }
}

/// The failed result of a bad input line (`--skip-invalid`).
pub(crate) fn invalid_row(id: String, line: u64, message: String) -> Row {
    let now = now_rfc3339();
    let outcome = serde_json::json!({
        "ok": false, "layer": "usage", "status": null, "attempts": 0, "elapsed_ms": 0,
        "error": {"kind": "invalid_line", "message": message.clone(), "server_message": null},
        "source": "network", "id": id.clone(),
    });
    Row {
        id,
        line,
        method: String::new(),
        url: String::new(),
        ok: false,
        layer: Some("usage".into()),
        status: None,
        attempts: 0,
        elapsed_ms: 0,
        error_kind: Some("invalid_line".into()),
        error_message: Some(message),
        server_message: None,
        source: "network".into(),
        started_at: now.clone(),
        finished_at: now,
        resumable: false,
        outcome: outcome.to_string(),
        body: None,
    }
}

struct Job {
    client: Client,
    options: Options,
    progress: Arc<Progress>,
    tx: std::sync::mpsc::Sender<Msg>,
    stop_tx: watch::Sender<bool>,
    user_stop: watch::Receiver<bool>,
    semaphore: Arc<Semaphore>,
    key_seed: String,
}

impl Job {
    /// Sends `item` until it has a result: round after round while its host is down or
    /// a guard turns it away ([`defer`]); `carried` holds what its earlier rounds (in
    /// earlier runs) cost.
    async fn run(self: Arc<Self>, item: Item, mut carried: Carried, permit: OwnedSemaphorePermit) {
        let mut permit = Some(permit);
        let retries = self.client.retry_policy().retries();
        // Attempts made toward the item's current set of retries.
        let mut spent = 0u32;
        let mut down_since: Option<Instant> = None;
        let mut again = 0u32;
        let mut waited_for_host = false;
        loop {
            let started = now_rfc3339();
            let began = defer::now_ms(&self.client);
            let left = (spent > 0).then(|| retries.saturating_sub(spent));
            let sent = Box::pin(self.send(&item, left)).await;
            let next = match &sent {
                Ok(_) => Next::Final,
                Err(err) => defer::judge(&self.client, err, &item.parsed_url, began, again),
            };
            let down = match next {
                Next::Final => {
                    self.record(&item, &carried, started, sent, false, permit.take());
                    if waited_for_host {
                        self.progress
                            .waiting_hosts
                            .lock()
                            .expect("hosts")
                            .remove(&host_of(&item.url));
                    }
                    return;
                }
                Next::Defer { down: true } => {
                    let since = *down_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.options.max_wait {
                        self.record(&item, &carried, started, sent, true, permit.take());
                        return;
                    }
                    spent = 0;
                    true
                }
                Next::Defer { down: false } => {
                    down_since = None;
                    spent += record_of(&sent).attempts;
                    false
                }
                Next::Again => {
                    down_since = None;
                    again += 1;
                    spent = 0;
                    false
                }
            };
            add_round(&mut carried, &record_of(&sent), started);
            drop(sent);
            if *self.user_stop.borrow() || *self.stop_tx.borrow() {
                // Left without a result: --resume sends it.
                self.carry(&item, carried, permit.take());
                return;
            }
            // Wait without holding a slot.
            drop(permit.take());
            self.progress.deferred.fetch_add(1, Ordering::Relaxed);
            let mut wait = defer::wait_for(&self.client, &item.url);
            if down {
                waited_for_host = true;
                self.progress
                    .waiting_hosts
                    .lock()
                    .expect("hosts")
                    .insert(host_of(&item.url));
                let since = down_since.unwrap_or_else(Instant::now);
                wait = wait.min(self.options.max_wait.saturating_sub(since.elapsed()));
            }
            let mut user_stop = self.user_stop.clone();
            let mut stop_rx = self.stop_tx.subscribe();
            let interrupted = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = user_stop.changed() => true,
                _ = stop_rx.changed() => true,
            };
            self.progress.deferred.fetch_sub(1, Ordering::Relaxed);
            if interrupted {
                self.carry(&item, carried, None);
                return;
            }
            permit = Some(
                Arc::clone(&self.semaphore)
                    .acquire_owned()
                    .await
                    .expect("semaphore"),
            );
        }
    }

    /// One call for `item`; `retries` when it has fewer left than the client's.
    async fn send(&self, item: &Item, retries: Option<u32>) -> Result<Sent, Error> {
        let method = Method::from_bytes(item.method.as_bytes()).unwrap_or(Method::GET);
        let idempotent = steady::retry::is_idempotent(&method);
        let mut rb = self.client.request_url(method, item.parsed_url.clone());
        for (name, value) in &item.headers {
            rb = rb.header(name, value);
        }
        if !item.query.is_empty() {
            rb = rb.query(&item.query);
        }
        if let Some(json) = &item.json {
            rb = rb.json(json);
        } else if let Some(body) = &item.body {
            // Typed as its bytes say (JSON text is application/json) unless the line
            // gives a Content-Type: many servers read an untyped body as nothing.
            if !item
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            {
                let content_type = steady::content_type::guess_bytes(body.as_bytes());
                rb = rb.header("content-type", content_type);
            }
            rb = rb.body(body.clone());
        }
        for e in &item.expect {
            rb = rb.expect(e);
        }
        if let Some(timeout) = item.timeout {
            rb = rb.timeout(timeout);
        }
        if let Some(retries) = retries {
            rb = rb.retries(retries);
        }
        rb = (self.options.prepare)(rb);
        if self.options.idempotency_keys && !idempotent {
            // The same key for the same item in every run and resume of this input, so
            // a request resent after a crash is recognised by the server.
            let digest = Sha256::digest(format!("{}\n{}", self.key_seed, item.id).as_bytes());
            let key: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            rb = rb.idempotency_key(&key);
        }
        let mut fallbacks = self.options.fallbacks.iter().cloned();
        match fallbacks.next() {
            None => Ok(Sent::Network(Box::new(rb.send().await?))),
            Some(first) => {
                let mut fr = rb.fallback(first);
                for f in fallbacks {
                    fr = fr.fallback(f);
                }
                Ok(Sent::Fallback(Box::new(fr.send().await?)))
            }
        }
    }

    /// Keeps the rounds of an item left without a result, for the resume.
    fn carry(&self, item: &Item, carried: Carried, slot: Option<OwnedSemaphorePermit>) {
        let _ = self.tx.send(Msg::Carry(item.id.clone(), Box::new(carried)));
        drop(slot);
    }

    fn record(
        &self,
        item: &Item,
        carried: &Carried,
        started_at: String,
        sent: Result<Sent, Error>,
        gave_up: bool,
        slot: Option<OwnedSemaphorePermit>,
    ) {
        let mut outcome = record_of(&sent);
        let rounds = carried.rounds + 1;
        if carried.rounds > 0 {
            for a in &mut outcome.attempt_log {
                a.attempt += carried.attempts;
                a.round = Some(rounds);
            }
            for g in &mut outcome.guard_log {
                g.round = Some(rounds);
            }
            outcome.attempts += carried.attempts;
            outcome.elapsed_ms += carried.elapsed_ms;
        }
        // Scrubbed only when it is kept.
        let body = match &sent {
            _ if !self.options.store_body => None,
            Ok(Sent::Network(resp)) => Some(resp.bytes_scrubbed()),
            Ok(Sent::Fallback(fallback)) => Some(fallback.response().bytes_scrubbed()),
            Err(err) => err.body_scrubbed(),
        };
        if gave_up {
            let waited = steady::duration::human(self.options.max_wait);
            outcome.layer = Some("guard");
            if let Some(error) = &mut outcome.error {
                error.kind = "host_unavailable";
                error.message =
                    format!("the host did not recover within --max-wait {waited}; resumable");
                error.hint = "Run the same command with --resume once the host is back.".into();
                error.stop_reason = None;
                error.stop = None;
                error.retryable = true;
            }
        }
        let error = outcome.error.as_ref();
        let row = Row {
            id: item.id.clone(),
            line: item.line,
            method: item.method.clone(),
            url: outcome
                .url
                .as_deref()
                .unwrap_or(item.url.as_str())
                .to_owned(),
            ok: outcome.ok,
            layer: outcome.layer.map(str::to_owned),
            status: outcome.status,
            attempts: outcome.attempts,
            elapsed_ms: outcome.elapsed_ms,
            error_kind: error.map(|e| e.kind.to_owned()),
            error_message: error.map(|e| e.message.clone()),
            server_message: error.and_then(|e| e.server_message).map(str::to_owned),
            source: outcome.source.to_owned(),
            started_at: carried.started_at.clone().unwrap_or(started_at),
            finished_at: now_rfc3339(),
            resumable: gave_up,
            outcome: outcome_text(&outcome, &item.id, carried),
            body: body.map(|b| b.to_vec()),
        };
        let ok = outcome.ok;
        self.progress.done.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.progress.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.progress.failed.fetch_add(1, Ordering::Relaxed);
            if self.options.on_failure == OnFailure::Stop {
                let _ = self.stop_tx.send(true);
            }
        }
        let _ = self.tx.send(Msg::Row(Box::new(row), slot));
    }
}

/// What a call brought back.
enum Sent {
    Network(Box<steady::Response>),
    Fallback(Box<steady::fallback::Outcome>),
}

fn record_of(sent: &Result<Sent, Error>) -> Record<'_> {
    match sent {
        Ok(Sent::Network(resp)) => Record::of(Ok(resp)),
        Ok(Sent::Fallback(fallback)) => Record::of_fallback(fallback),
        Err(err) => Record::of(Err(err)),
    }
}

/// Adds a round that ended without a result (the item is deferred) to `carried`: its
/// attempts numbered on from the earlier rounds', each entry marked with its round.
fn add_round(carried: &mut Carried, record: &Record<'_>, started_at: String) {
    let round = carried.rounds + 1;
    carried.started_at.get_or_insert(started_at);
    for a in &record.attempt_log {
        let mut a = a.clone();
        a.attempt += carried.attempts;
        a.round = Some(round);
        carried
            .attempt_log
            .push(serde_json::to_value(&a).unwrap_or_default());
    }
    for g in &record.guard_log {
        let mut g = g.clone();
        g.round = Some(round);
        carried
            .guard_log
            .push(serde_json::to_value(&g).unwrap_or_default());
    }
    carried.attempts += record.attempts;
    carried.elapsed_ms += record.elapsed_ms;
    carried.rounds = round;
}

/// The stored outcome: the record's JSON with the item's `id` and `rounds` first, and
/// the entries of earlier rounds (`carried`) at the head of `attempt_log` and
/// `guard_log`. Spliced in as text: `#[serde(flatten)]` would send every field through
/// serde's generic map path, measurably slower on a path taken once per item.
fn outcome_text(outcome: &Record<'_>, id: &str, carried: &Carried) -> String {
    let record = serde_json::to_string(outcome).unwrap_or_default();
    let id = serde_json::to_string(id).unwrap_or_default();
    let mut text = String::with_capacity(record.len() + id.len() + 24);
    text.push_str("{\"id\":");
    text.push_str(&id);
    text.push_str(",\"rounds\":");
    text.push_str(&(carried.rounds + 1).to_string());
    match record.strip_prefix('{') {
        Some(rest) if rest != "}" => {
            text.push(',');
            text.push_str(rest);
        }
        _ => text.push('}'),
    }
    for (key, entries) in [
        ("\"attempt_log\":[", &carried.attempt_log),
        ("\"guard_log\":[", &carried.guard_log),
    ] {
        if entries.is_empty() {
            continue;
        }
        // The first unescaped `"key":[` is the key itself: inside a JSON string every
        // quote is escaped, and no earlier member holds an object with that key.
        let Some(at) = text.find(key).map(|at| at + key.len()) else {
            continue;
        };
        let mut head = entries
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if !text[at..].starts_with(']') {
            head.push(',');
        }
        text.insert_str(at, &head);
    }
    text
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text_puts_the_escaped_id_first_and_stays_valid_json() {
        let err = steady::Client::builder().build().unwrap().get("not a url");
        let err = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(err.send())
            .unwrap_err();
        let record = Record::of(Err(&err));
        let text = outcome_text(&record, "a \"quoted\" id", &Carried::default());
        assert!(
            text.starts_with(r#"{"id":"a \"quoted\" id","rounds":1,"ok":false,"#),
            "{text}"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["id"], "a \"quoted\" id");
        assert_eq!(value["layer"], "usage");
    }
}

#[cfg(test)]
mod source_tests {
    //! The run takes its lines from the check pass (a small input) or from the file
    //! (a large one): both must send and record exactly the same.

    use std::time::Duration;

    use steady_chaos::{Reply, ScriptServer};

    use super::*;
    use crate::input;

    fn options() -> Options {
        Options {
            concurrency: 4,
            on_failure: OnFailure::Continue,
            max_wait: Duration::from_secs(5),
            store_body: false,
            idempotency_keys: false,
            skip_invalid: true,
            fallbacks: Vec::new(),
            prepare: Arc::new(|rb| rb),
            lock_timeout: Duration::from_secs(5),
        }
    }

    async fn run_from(kept: bool, dir: &Path, url: &str) -> Vec<(String, u64, bool)> {
        let input = dir.join("in.jsonl");
        std::fs::write(
            &input,
            format!(
                "{{\"id\": \"a\", \"url\": \"{url}/a\"}}\n\n# a comment\nnot json\n{{\"id\": \"b\", \"url\": \"{url}/b\"}}\n{{\"id\": \"a\", \"url\": \"{url}/again\"}}\n{{\"url\": \"{url}/c\"}}\n"
            ),
        )
        .unwrap();
        let mut checked = input::check(&input).unwrap();
        assert!(checked.lines.is_some(), "a small input is kept");
        let lines = if kept { checked.lines.take() } else { None };
        let db = dir.join(if kept { "kept.db" } else { "file.db" });
        let (_stop_tx, stop_rx) = watch::channel(false);
        let report = run(
            Client::builder().build().unwrap(),
            &input,
            lines,
            &checked.sha256,
            Store::open(&db).unwrap(),
            serde_json::json!({}),
            false,
            options(),
            Arc::new(Progress::default()),
            stop_rx,
        )
        .await
        .unwrap();
        assert_eq!((report.ok, report.failed), (3, 2));
        let mut rows = Vec::new();
        Store::open(&db)
            .unwrap()
            .rows(None, |row| rows.push((row.id, row.line, row.ok)))
            .unwrap();
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn kept_lines_and_the_file_give_the_same_run() {
        let server = ScriptServer::builder()
            .fallback(Reply::json(200, "{}"))
            .start();
        let dir = std::env::temp_dir().join(format!("steady-batch-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = server.url("");
        let url = url.trim_end_matches('/');
        let kept = run_from(true, &dir, url).await;
        let read = run_from(false, &dir, url).await;
        assert_eq!(kept, read);
        assert_eq!(
            kept,
            [
                ("7".to_owned(), 7, true),
                ("a".to_owned(), 1, true),
                ("b".to_owned(), 5, true),
                ("line-4".to_owned(), 4, false),
                ("line-6".to_owned(), 6, false),
            ]
        );
        for path in ["/a", "/b", "/c"] {
            assert_eq!(server.hits(path), 2, "{path}: once a run");
        }
        assert_eq!(server.hits("/again"), 0, "the duplicate id is never sent");
    }
}
