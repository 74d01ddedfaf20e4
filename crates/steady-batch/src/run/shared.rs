//! A run that shares its batch with other workers through PostgreSQL: its items come
//! from claims ([`crate::store::postgres`]), not from the input's order, and it ends
//! when no item of the batch is left without a final result (waiting, meanwhile, for
//! the items other live workers hold, in case one dies and its items come free).
//!
//! Everything that talks to PostgreSQL blocks: it runs on blocking tasks and on threads
//! of its own (the writer, the lease), never on the async runtime.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use steady::Client;
use tokio::sync::watch;

use super::{invalid_row, Options, Progress, Report, Running};
use crate::input::Line;
use crate::store::postgres::{
    self, ClaimError, Claimed, Feed, Heartbeat, Joining, PgSink, Polled, Target,
};
use crate::store::RunStatus;

/// What the run is given besides its target.
pub(super) struct Run<'a> {
    pub(super) input: &'a Path,
    pub(super) lines: Option<Vec<Line>>,
    pub(super) sha256: &'a str,
    pub(super) flags: Value,
    pub(super) resume: bool,
}

/// The most items one claim takes.
const CLAIM_MAX: usize = 64;
/// How often the count of items done by other workers is refreshed, for progress.
const COUNT_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn run(
    client: Client,
    target: Target,
    how: Run<'_>,
    options: Options,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Result<Report, String> {
    let shown = postgres::shown(&target.url);
    let name = target
        .batch
        .clone()
        .unwrap_or_else(|| postgres::default_name(how.input, how.sha256));
    let setup = {
        let (target, name, shown) = (target.clone(), name.clone(), shown.clone());
        let (input, sha256, flags) = (how.input.to_owned(), how.sha256.to_owned(), how.flags);
        let (total, resume) = (progress.total.load(Ordering::Relaxed), how.resume);
        let (skip_invalid, lines) = (options.skip_invalid, how.lines);
        tokio::task::spawn_blocking(move || -> Result<_, String> {
            let mut client = postgres::connect(&target.url)?;
            let joining = Joining {
                name: &name,
                input: &input,
                sha256: &sha256,
                total,
                flags: &flags,
                resume,
                lease: target.lease,
                skip_invalid,
                invalid: invalid_row,
            };
            let joined = postgres::join(&mut client, &shown, &joining)?;
            let sink = PgSink::new(postgres::connect(&target.url)?, &name, &shown)?;
            let heartbeat = Heartbeat::start(
                postgres::connect(&target.url)?,
                target.url.clone(),
                joined.run,
                target.lease,
            )?;
            let mut feed = Feed::new(client, &name, joined.run, resume, &shown, &input, lines)?;
            let elsewhere = feed.done_elsewhere()?;
            Ok((joined, sink, heartbeat, feed, elsewhere))
        })
    };
    let (joined, sink, heartbeat, feed, elsewhere) = setup.await.map_err(|e| e.to_string())??;
    progress.skipped.store(elsewhere, Ordering::Relaxed);
    progress.done.fetch_add(joined.invalid, Ordering::Relaxed);
    progress.failed.fetch_add(joined.invalid, Ordering::Relaxed);
    tracing::info!(
        target: "steady_batch",
        "{} batch '{}' in {shown} as run {}",
        if joined.created { "created" } else { "joined" },
        joined.name,
        joined.run
    );

    let mut running = Running::start(
        sink, joined.run, client, options, &progress, &stop, how.sha256,
    )?;
    let feed = Arc::new(Mutex::new(feed));
    // Items held by other live workers: looked at again this often, so a dead worker's
    // items are taken soon after its lease runs out.
    let poll = (target.lease / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut status = RunStatus::Finished;
    let mut failure: Option<String> = None;
    let mut counted = Instant::now();
    loop {
        if let Some(stopped) = running.stopped(&stop) {
            status = stopped;
            break;
        }
        let semaphore = Arc::clone(&running.job.semaphore);
        let first = tokio::select! {
            p = Arc::clone(&semaphore).acquire_owned() => p.expect("semaphore"),
            _ = changed(&mut stop) => continue,
            _ = changed(&mut running.stop_rx) => continue,
        };
        // Claim only for slots in hand: what a kill -9 can leave held stays within
        // --concurrency.
        let mut permits = vec![first];
        while permits.len() < CLAIM_MAX {
            match Arc::clone(&semaphore).try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        let n = permits.len();
        let count = counted.elapsed() >= COUNT_EVERY;
        let f = Arc::clone(&feed);
        let polled = tokio::task::spawn_blocking(move || {
            let mut feed = f.lock().expect("feed");
            let polled = feed.claim(n)?;
            let elsewhere = match count {
                true => Some(feed.done_elsewhere().map_err(ClaimError::Db)?),
                false => None,
            };
            Ok::<_, ClaimError>((polled, elsewhere))
        })
        .await
        .map_err(|e| e.to_string())?;
        let polled = match polled {
            Ok((polled, elsewhere)) => {
                if let Some(n) = elsewhere {
                    progress.skipped.store(n, Ordering::Relaxed);
                    counted = Instant::now();
                }
                polled
            }
            Err(ClaimError::Db(e)) => {
                // As when a commit fails: nothing more is sent.
                let _ = running.unsaved.why.set(format!("cannot claim items: {e}"));
                running.unsaved.stop.send_replace(true);
                break;
            }
            Err(ClaimError::Input(e)) => {
                failure = Some(e);
                running.unsaved.stop.send_replace(true);
                break;
            }
        };
        match polled {
            Polled::Items(items) => {
                for Claimed { item, carried } in items {
                    let permit = permits.pop().expect("a slot for each item claimed");
                    running.spawn(item, carried, permit)?;
                }
            }
            Polled::Stopped => {
                status = RunStatus::Stopped;
                break;
            }
            Polled::Wait { open: 0 } => break,
            Polled::Wait { .. } => {
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = changed(&mut stop) => {}
                    _ = changed(&mut running.stop_rx) => {}
                }
            }
        }
    }
    let mut report = running.finish(status, &stop, &progress).await;
    // After the writer has ended the run (and given back what it still held).
    drop(heartbeat);
    if let Some(e) = failure {
        return Err(e);
    }
    if let Ok(report) = &mut report {
        let f = Arc::clone(&feed);
        if let Ok(Ok(n)) =
            tokio::task::spawn_blocking(move || f.lock().expect("feed").done_elsewhere()).await
        {
            report.skipped = n;
            progress.skipped.store(n, Ordering::Relaxed);
        }
    }
    report
}

/// The next change of `rx`; never, once its sender is gone (no stop can come).
async fn changed(rx: &mut watch::Receiver<bool>) {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
