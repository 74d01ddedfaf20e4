//! `steady sync`: the command line of `steady_sync`.

use std::process::ExitCode;

use steady_sync::{Failure, Spec};

use crate::cli::SyncArgs;
use crate::config::{self, Common};
use crate::exit::{self, UsageError};

pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let mut columns = Vec::new();
    for spec in &args.columns {
        match spec.split_once('=') {
            Some((name, path)) if !name.is_empty() && !path.is_empty() => {
                let (name, ty) = match name.split_once(':') {
                    Some((name, ty)) => (
                        name,
                        ty.parse::<steady_sync::ColumnType>()
                            .map_err(|e| UsageError::new(format!("--column {spec}: {e}")))?,
                    ),
                    None => (name, steady_sync::ColumnType::Text),
                };
                columns.push((name.to_owned(), ty, path.to_owned()))
            }
            _ => {
                return Err(UsageError::new(format!(
                    "--column {spec}: expected NAME[:TYPE]=JSONPATH, e.g. email='$.email' or age:integer='$.age'"
                ))
                .into())
            }
        }
    }
    let spec = Spec {
        url: config::checked_url("", &args.url)?,
        into: args.into.clone(),
        table: args.table.clone(),
        records: args.records.clone(),
        key: args.key.clone(),
        next: args.next.clone(),
        columns,
        delete_missing: args.delete_missing,
        since: args.since.clone().zip(args.since_param.clone()),
        max_pages: args.max_pages,
        restart: args.restart,
    };
    let client = config::client(&args.common)?;
    let common = Common::from_args(&args.common)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nsteady sync: stopping after the page in flight (Ctrl-C again to quit at once; the table stays as it was)");
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        }
    });
    let quiet = args.quiet;
    let table = args.table.clone();
    let result = steady_sync::run(
        &client,
        &spec,
        move |rb| common.apply_with(rb, false),
        move |p| {
            if quiet {
                return;
            }
            match p.resumed_at {
                Some(at) if p.pages == 0 => eprintln!(
                    "steady sync: continuing {table} after page {at} ({} staged)",
                    plural(p.records, "record")
                ),
                _ => eprintln!(
                    "steady sync: {table}: page {} in, {} so far",
                    p.page,
                    plural(p.records, "record")
                ),
            }
        },
        stop_rx,
    )
    .await;
    signals.abort();
    let again = "run the same command again to continue from there (--restart starts over)";
    let db = match steady::Url::parse(&args.into) {
        Ok(url) if url.scheme().starts_with("postgres") => steady::redact_url(&url),
        _ => args.into.clone(),
    };
    match result {
        Ok(_) if args.quiet => Ok(exit::exit(exit::SUCCESS)),
        Ok(report) => {
            let c = report.counts;
            eprintln!(
                "steady sync: {} in {db}: {} in {} ({}): {} inserted, {} updated, {} deleted, {} unchanged",
                args.table,
                plural(report.records, "record"),
                plural(u64::from(report.pages), "page"),
                report.stop,
                c.inserted,
                c.updated,
                c.deleted,
                c.unchanged
            );
            if let Some(at) = report.resumed_after {
                eprintln!(
                    "  continued after page {at} of an earlier run; no page was fetched twice"
                );
            }
            if let Some(since) = &report.since {
                eprintln!(
                    "  next run: {}={since}",
                    args.since_param.as_deref().unwrap_or("")
                );
            }
            if report.delete_skipped {
                eprintln!(
                    "  --delete-missing skipped: --max-pages ended the listing before its end"
                );
            }
            Ok(exit::exit(exit::SUCCESS))
        }
        Err(Failure::Usage(message)) => Err(UsageError::new(message).into()),
        Err(Failure::Page { number: 1, error }) => {
            eprintln!(
                "steady sync: stopped at page 1: {}\n  nothing was written to {db}",
                error.explain().replace('\n', "\n  "),
            );
            Ok(exit::exit(exit::code(&error)))
        }
        Err(Failure::Page { number, error }) => {
            eprintln!(
                "steady sync: stopped at page {number}: {}\n  the table {} in {db} is unchanged; the pages before are staged\n  {again}",
                error.explain().replace('\n', "\n  "),
                args.table
            );
            Ok(exit::exit(exit::code(&error)))
        }
        Err(Failure::NoKey { page, index, key }) => {
            let state = if page == 1 {
                format!("nothing was written to {db}")
            } else {
                format!("the table {} in {db} is unchanged\n  {again}", args.table)
            };
            eprintln!(
                "steady sync: stopped at page {page}: record {} has no key at {key}\n  {state}",
                index + 1,
            );
            Ok(exit::exit(exit::SEMANTIC))
        }
        Err(Failure::Interrupted { pages }) => {
            eprintln!(
                "steady sync: interrupted after {} of this run; the table {} in {db} is unchanged\n  {again}",
                plural(u64::from(pages), "page"),
                args.table
            );
            Ok(exit::exit(exit::INTERRUPTED))
        }
        Err(Failure::Unsaved(why)) => {
            eprintln!(
                "steady sync: stopped: {db} could not be written: {why}\n  the table {} is as the last complete run left it\n  {again}",
                args.table
            );
            Ok(exit::exit(exit::UNSAVED))
        }
    }
}

/// `1 page`, `2 pages`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
