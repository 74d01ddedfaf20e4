//! `steady batch` and `steady results`: the command-line front of `steady-batch`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady_batch::export::{self, Format};
use steady_batch::input;
use steady_batch::run::{self, OnFailure, Options, Progress};
use steady_batch::store::postgres::{self, PgResults, Target};
use steady_batch::store::{Db, Results, RunStatus, Store};

use crate::cli::{BatchArgs, ExportFormat, OnFailureArg, OnlyArg, ResultsArgs};
use crate::config::{self, Common, FallbackFlag};
use crate::exit::{self, UsageError};

/// Exit code: the run finished with failed items.
pub const FAILED_ITEMS: u8 = 9;
/// Exit code: interrupted.
pub const INTERRUPTED: u8 = exit::INTERRUPTED;

/// Where a run's results go: a SQLite file, or a batch in PostgreSQL.
#[derive(Debug, Clone)]
enum Where {
    File(PathBuf),
    Postgres { url: String, batch: String },
}

impl Where {
    /// For messages: the file, or the database (password hidden) and the batch.
    fn shown(&self) -> String {
        match self {
            Where::File(path) => path.display().to_string(),
            Where::Postgres { url, batch } => {
                format!("{} (batch {batch})", postgres::shown(url))
            }
        }
    }

    /// The results, for reading. Blocking (PostgreSQL's client): call it off the async
    /// runtime ([`off_runtime`]).
    fn results(&self) -> Result<Box<dyn Results>, String> {
        Ok(match self {
            Where::File(path) => Box::new(Store::open_read_only(path)?),
            Where::Postgres { url, batch } => Box::new(PgResults::open(url, Some(batch))?),
        })
    }
}

/// Runs `f` on a thread of its own: the PostgreSQL client blocks, and may not block the
/// async runtime's thread.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("a thread of the summary"))
}

/// The run's arguments as stored with it: a PostgreSQL URL's password hidden.
fn stored_args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .map(|arg| match arg.split_once('=') {
            Some((flag, url)) if flag.starts_with("--") && postgres::is_url(url) => {
                format!("{flag}={}", postgres::shown(url))
            }
            _ if postgres::is_url(&arg) => postgres::shown(&arg),
            _ => arg,
        })
        .collect()
}

pub async fn run(args: BatchArgs, fallback_order: &[FallbackFlag]) -> anyhow::Result<ExitCode> {
    let from_stdin = args.input.as_os_str() == "-";
    let pg_url = args
        .db
        .as_deref()
        .and_then(Path::to_str)
        .filter(|db| postgres::is_url(db))
        .map(str::to_owned);
    let db = args.db.clone().unwrap_or_else(|| {
        if from_stdin {
            PathBuf::from("steady-batch.db")
        } else {
            let mut name = args.input.clone().into_os_string();
            name.push(".steady.db");
            PathBuf::from(name)
        }
    });
    if args.concurrency == 0 {
        return Err(UsageError::new("--concurrency must be at least 1").into());
    }
    if pg_url.is_none() && (args.batch.is_some() || args.lease.is_some()) {
        let flag = if args.batch.is_some() {
            "--batch"
        } else {
            "--lease"
        };
        return Err(UsageError::new(format!(
            "{flag} is for a batch shared through PostgreSQL: add --db postgres://USER@HOST:PORT/DB"
        ))
        .into());
    }
    let lease = args.lease.unwrap_or(postgres::DEFAULT_LEASE);
    if lease < Duration::from_millis(100) {
        return Err(UsageError::new("--lease must be at least 100ms").into());
    }
    if args.batch.as_deref().is_some_and(str::is_empty) {
        return Err(UsageError::new("--batch needs a name").into());
    }

    // Everything is checked before anything is sent: flags, credentials, the database
    // and every input line.
    let common = Common::from_args(&args.common)?;
    if common.idempotency_fixed() {
        return Err(UsageError::new(
            "--idempotency-key KEY would give every item the same key; use --idempotency-key auto (a stable key per item)",
        )
        .into());
    }
    let fallbacks = config::fallbacks(&args.common, fallback_order)?;
    // Guards turn items away at once (fail-fast): the runner defers them without
    // holding a slot, so other hosts' items go meanwhile.
    let mut builder = config::builder(&args.common)?.fail_fast(true);
    if !args.fixed_concurrency {
        let max = u32::try_from(args.concurrency).unwrap_or(u32::MAX);
        builder = builder.adaptive_concurrency(steady::AdaptiveConcurrency::new(max));
    }
    let client = builder.build()?;
    let spooled = match (from_stdin, &pg_url) {
        (false, _) => None,
        (true, None) => Some(spool_stdin(&db)?),
        // Not beside a database file: there is none.
        (true, Some(_)) => Some(spool_stdin(
            &std::env::temp_dir().join(format!("steady-batch-{}", std::process::id())),
        )?),
    };
    let input_path: &Path = spooled.as_deref().unwrap_or(&args.input);
    let mut checked = input::check(input_path)
        .map_err(|e| UsageError::new(format!("cannot read {}: {e}", args.input.display())))?;
    if checked.bad > 0 && !args.skip_invalid {
        let mut message = format!(
            "{} of the input lines are not valid; nothing was sent (--skip-invalid records them as failed items instead):",
            checked.bad
        );
        for problem in checked.problems.iter().take(20) {
            message.push_str(&format!("\n{problem}"));
        }
        if checked.bad > 20 {
            message.push_str(&format!("\n... and {} more", checked.bad - 20));
        }
        return Err(UsageError::new(message).into());
    }
    let (target, place): (Db, Where) = match &pg_url {
        None => (
            Store::open(&db).map_err(UsageError::new)?.into(),
            Where::File(db.clone()),
        ),
        Some(url) => {
            let name = args
                .batch
                .clone()
                .unwrap_or_else(|| postgres::default_name(&args.input, &checked.sha256));
            let target = Target {
                url: url.clone(),
                batch: Some(name.clone()),
                lease,
            };
            (
                Db::Postgres(target),
                Where::Postgres {
                    url: url.clone(),
                    batch: name,
                },
            )
        }
    };

    let progress = Arc::new(Progress::default());
    progress
        .total
        .store(checked.items + checked.bad, Ordering::Relaxed);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let prepare_common = common.clone();
    let options = Options {
        concurrency: args.concurrency,
        on_failure: match args.on_failure {
            OnFailureArg::Continue => OnFailure::Continue,
            OnFailureArg::Stop => OnFailure::Stop,
        },
        max_wait: args.max_wait,
        store_body: args.store_body,
        idempotency_keys: common.idempotency_auto(),
        skip_invalid: args.skip_invalid,
        fallbacks,
        prepare: Arc::new(move |rb| prepare_common.apply_with(rb, false)),
        lock_timeout: args.db_lock_timeout,
    };
    let flags = serde_json::json!({ "args": stored_args() });

    let resume_command = resume_command(&args.input, &place);
    let limits = client.clone();
    let ticker = tokio::spawn(show_progress(
        Arc::clone(&progress),
        limits.clone(),
        args.quiet,
    ));
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nsteady batch: stopping: finishing the items in flight (Ctrl-C again to quit at once; the database stays consistent)");
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(INTERRUPTED));
            }
        }
    });
    let result = run::run(
        client,
        input_path,
        checked.lines.take(),
        &checked.sha256,
        target,
        flags,
        args.resume,
        options,
        Arc::clone(&progress),
        stop_rx,
    )
    .await;
    ticker.abort();
    signals.abort();
    if let Some(Err(err)) = limits.cookie_jar().map(|jar| jar.save()) {
        eprintln!("steady batch: warning: {}", err.what());
    }
    if let Some(path) = &spooled {
        let _ = std::fs::remove_file(path);
    }
    let report = result.map_err(UsageError::new)?;
    if let Some(why) = &report.unsaved {
        // Always shown, --quiet or not: the run did not do its job.
        let again = match place {
            Where::File(_) => "are sent again by --resume",
            Where::Postgres { .. } => "go to the other workers, or to the next one started",
        };
        eprintln!(
            "steady batch: stopped: results could not be saved to {}: {why}\n  nothing more was sent; the items without a saved result {again} once the database can be written\n  resume: {resume_command}",
            place.shown()
        );
        if let Ok(Ok((rows, ok, failed))) = off_runtime(|| place.results().map(|mut r| r.counts()))
        {
            eprintln!(
                "  saved: {rows} of {} items ({ok} ok, {failed} failed)",
                progress.total.load(Ordering::Relaxed)
            );
        }
        return Ok(exit::exit(exit::UNSAVED));
    }
    let failed = off_runtime(|| {
        summary(
            &place,
            &report,
            &progress,
            &limits,
            args.concurrency,
            &resume_command,
            args.quiet,
        )
    })?;
    Ok(exit::exit(match report.status {
        RunStatus::Interrupted => INTERRUPTED,
        _ if report.failed > 0 || failed > 0 => FAILED_ITEMS,
        _ => exit::SUCCESS,
    }))
}

fn resume_command(input: &Path, place: &Where) -> String {
    let input = shell_quote(&input.display().to_string());
    match place {
        Where::File(db) => format!(
            "steady batch {input} --db {} --resume   (with the same flags)",
            shell_quote(&db.display().to_string())
        ),
        Where::Postgres { url, batch } => format!(
            "steady batch {input} --db {} --batch {} --resume   (on any worker, with the same flags)",
            shell_quote(&postgres::shown(url)),
            shell_quote(batch)
        ),
    }
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Standard input, copied to a file beside the database so that it can be checked
/// whole before anything is sent (and hashed for --resume).
fn spool_stdin(db: &Path) -> anyhow::Result<PathBuf> {
    let mut name = db.as_os_str().to_owned();
    name.push(".input");
    let path = PathBuf::from(name);
    let mut file = std::fs::File::create(&path)
        .map_err(|e| UsageError::new(format!("cannot write {}: {e}", path.display())))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)?;
    file.sync_all()?;
    Ok(path)
}

/// A progress bar on a terminal; a plain line every 5 seconds otherwise.
async fn show_progress(progress: Arc<Progress>, client: steady::Client, quiet: bool) {
    if quiet {
        return;
    }
    let started = Instant::now();
    let counts = |p: &Progress| {
        (
            p.done.load(Ordering::Relaxed) + p.skipped.load(Ordering::Relaxed),
            p.total.load(Ordering::Relaxed),
            p.ok.load(Ordering::Relaxed),
            p.failed.load(Ordering::Relaxed),
            p.deferred.load(Ordering::Relaxed),
            p.waiting_hosts
                .lock()
                .map(|h| h.iter().cloned().collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        )
    };
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(progress.total.load(Ordering::Relaxed));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        loop {
            let (done, _, ok, failed, deferred, hosts) = counts(&progress);
            bar.set_position(done);
            let waiting = if hosts.is_empty() {
                String::new()
            } else {
                format!(" waiting for: {hosts}")
            };
            bar.set_message(format!(
                "ok {ok} failed {failed} deferred {deferred}{}{waiting}",
                limit_now(&client)
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    } else {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let (done, total, ok, failed, deferred, hosts) = counts(&progress);
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            let waiting = if hosts.is_empty() {
                String::new()
            } else {
                format!(", waiting for {hosts}")
            };
            eprintln!(
                "steady batch: {done}/{total} done ({ok} ok, {failed} failed, {deferred} deferred{}{waiting}), {rate:.0}/s",
                limit_now(&client).replacen(' ', ", ", 1)
            );
        }
    }
}

/// ` limit N`: the calls in flight the hosts allow now (adaptive concurrency), or
/// nothing when it is off.
fn limit_now(client: &steady::Client) -> String {
    let limits = client.concurrency_limits();
    if limits.is_empty() {
        return String::new();
    }
    format!(
        " limit {}",
        limits.iter().map(|(_, l)| l.limit).sum::<u32>()
    )
}

/// The summary's line on adaptive concurrency: the range each host's limit moved in.
fn concurrency_line(client: &steady::Client, max: usize) -> Option<String> {
    let mut limits = client.concurrency_limits();
    limits.sort_by(|a, b| a.0.cmp(&b.0));
    let range = |l: &steady::limit::LimitStats| {
        let cuts = match l.decreases {
            0 => "no sign of overload".to_owned(),
            1 => "cut once on signs of overload".to_owned(),
            n => format!("cut {n} times on signs of overload"),
        };
        format!(
            "{} to {} in flight, adapted to the host (--concurrency {max}); {cuts}; {} at the end",
            l.lowest, l.highest, l.limit
        )
    };
    match limits.as_slice() {
        [] => None,
        [(_, only)] => Some(format!("  concurrency: {}\n", range(only))),
        several => {
            let mut line = String::from("  concurrency per host:\n");
            for (host, l) in several.iter().take(5) {
                line.push_str(&format!("    {host}: {}\n", range(l)));
            }
            if several.len() > 5 {
                line.push_str(&format!("    ... and {} more hosts\n", several.len() - 5));
            }
            Some(line)
        }
    }
}

/// Prints the summary of a run (unless quiet and all is well); returns the failed items
/// in the database.
#[allow(clippy::too_many_arguments)]
fn summary(
    place: &Where,
    report: &run::Report,
    progress: &Progress,
    client: &steady::Client,
    concurrency: usize,
    resume: &str,
    quiet: bool,
) -> anyhow::Result<u64> {
    let mut store = place.results().map_err(anyhow::Error::msg)?;
    let (rows, ok, failed) = store.counts().map_err(anyhow::Error::msg)?;
    let total = progress.total.load(Ordering::Relaxed);
    let missing = total.saturating_sub(rows);
    let mut out = String::new();
    let how = match report.status {
        RunStatus::Interrupted => "interrupted",
        RunStatus::Stopped => "stopped at the first failure (--on-failure stop)",
        _ => "finished",
    };
    let (batch, elsewhere) = match place {
        Where::File(_) => (String::new(), "in earlier runs"),
        Where::Postgres { batch, .. } => (
            format!(" batch {batch}:"),
            "by other workers or earlier runs",
        ),
    };
    out.push_str(&format!(
        "steady batch {how}:{batch} {total} items: {ok} ok, {failed} failed, {missing} without a result\n  this run: {} ok, {} failed; {} done {elsewhere}\n",
        report.ok, report.failed, report.skipped
    ));
    if let Some(line) = concurrency_line(client, concurrency) {
        out.push_str(&line);
    }
    let layers = store.failures_by_layer().map_err(anyhow::Error::msg)?;
    if !layers.is_empty() {
        let parts: Vec<String> = layers.iter().map(|(l, n)| format!("{l} {n}")).collect();
        out.push_str(&format!("  failures by layer: {}\n", parts.join(", ")));
        for (kind, n, example, message) in store.top_failures(5).map_err(anyhow::Error::msg)? {
            out.push_str(&format!("  {n} x {kind}, e.g. item {example}: {message}\n"));
        }
        let details = match place {
            Where::File(db) => shell_quote(&db.display().to_string()),
            Where::Postgres { url, batch } => format!(
                "{} --batch {}",
                shell_quote(&postgres::shown(url)),
                shell_quote(batch)
            ),
        };
        out.push_str(&format!(
            "  details: steady results {details} --only failed\n"
        ));
    }
    if missing > 0 || report.status != RunStatus::Finished {
        out.push_str(&format!("  resume: {resume}\n"));
    }
    if !quiet || report.status != RunStatus::Finished || failed > 0 {
        let _ = std::io::stderr().write_all(out.as_bytes());
    }
    Ok(failed)
}

pub fn results(args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.to_str().filter(|db| postgres::is_url(db));
    let mut store: Box<dyn Results> = match url {
        Some(url) => {
            let store = PgResults::open(url, args.batch.as_deref()).map_err(UsageError::new)?;
            if args.batch.is_none() && store.batches() > 1 {
                eprintln!(
                    "steady results: batch {} (the newest of {}; --batch NAME for another)",
                    store.name(),
                    store.batches()
                );
            }
            Box::new(store)
        }
        None if args.batch.is_some() => {
            return Err(UsageError::new(
                "--batch is for a batch shared through PostgreSQL (postgres://...); a SQLite file holds one",
            )
            .into())
        }
        // Read-only: works as another user and on read-only media, writes nothing.
        None => Box::new(Store::open_read_only(&args.db).map_err(UsageError::new)?),
    };
    let format = match args.format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Junit => Format::Junit,
    };
    let only = args.only.map(|o| o == OnlyArg::Ok);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    export::export(&mut *store, format, only, &mut out).map_err(|e| {
        if e.contains("Broken pipe") {
            anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        } else {
            anyhow::Error::msg(e)
        }
    })?;
    out.flush()?;
    Ok(exit::exit(exit::SUCCESS))
}
