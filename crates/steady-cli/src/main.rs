//! The `steady` command: a thin front on the steady library.

mod batch;
mod chaos;
mod cli;
mod config;
mod credentials;
mod curl;
mod demo;
mod exit;
mod items;
mod manual;
mod metrics_file;
mod output;
mod sync;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{CallArgs, Cli, Job};
use crate::config::FallbackFlag;

// A call allocates many small, short-lived buffers (headers, URLs, JSON outcomes);
// mimalloc serves them with thread-local free lists. Measured on `steady batch`
// against a local nginx: less CPU per item than glibc malloc (see BENCHMARKS.md).
// Built with `no_thp`: its arenas otherwise ask for transparent huge pages, which
// took a 1 GiB download from 10 MiB to 22 MiB peak RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `steady request -X METHOD URL`, as curl writes it.
    let argv = curl::method_first(std::env::args().collect());
    let parsed = cli::command()
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            let code = match err.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::SUCCESS,
                _ => exit::USAGE,
            };
            // A curl flag steady does not take: say what steady has instead, not
            // clap's tip about `--`.
            if let Some(hint) = curl_hint(&err) {
                output::problem(&hint);
                return exit::exit(exit::USAGE);
            }
            let _ = err.print();
            return exit::exit(code);
        }
    };
    // The order of the fallback flags is only in the raw matches.
    let order = matches
        .subcommand()
        .map(|(_, sub)| config::fallback_order(sub))
        .unwrap_or_default();
    match run(cli, &order) {
        Ok(code) => code,
        Err(err) if exit::is_broken_pipe(&err) => exit::exit(exit::SUCCESS),
        Err(err) => {
            output::problem(&format!("{err:#}"));
            exit::exit(exit::code_of_anyhow(&err))
        }
    }
}

/// The hint for a curl flag clap did not know, or for a URL or method typed where the
/// subcommand goes (`steady https://...`, `steady GET ...`), if the error is one.
fn curl_hint(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match err.kind() {
        ErrorKind::UnknownArgument => match err.get(ContextKind::InvalidArg)? {
            ContextValue::String(arg) => curl::hint(arg),
            _ => None,
        },
        ErrorKind::InvalidSubcommand => match err.get(ContextKind::InvalidSubcommand)? {
            ContextValue::String(word) => curl::subcommand_hint(word),
            _ => None,
        },
        _ => None,
    }
}

fn run(cli: Cli, fallback_order: &[FallbackFlag]) -> anyhow::Result<ExitCode> {
    let metrics = match &cli.command {
        cli::Command::Get(a)
        | cli::Command::Head(a)
        | cli::Command::Post(a)
        | cli::Command::Put(a)
        | cli::Command::Patch(a)
        | cli::Command::Delete(a)
        | cli::Command::Options(a) => a.common.telemetry.metrics.clone(),
        cli::Command::Request(r) => r.call.common.telemetry.metrics.clone(),
        cli::Command::Events(e) => e.call.common.telemetry.metrics.clone(),
        cli::Command::Batch(a) => a.common.telemetry.metrics.clone(),
        cli::Command::Sync(a) => a.common.telemetry.metrics.clone(),
        _ => None,
    };
    let metrics = match metrics {
        Some(path) => Some(metrics_file::MetricsFile::start(&path)?),
        None => None,
    };
    let code = run_job(cli, fallback_order);
    if let Some(metrics) = metrics {
        if let Err(e) = metrics.finish() {
            output::warning(&format!("--metrics: cannot write the file: {e}"));
        }
    }
    code
}

fn run_job(cli: Cli, fallback_order: &[FallbackFlag]) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command.into_job() {
        Job::Call(method, args) => {
            output::set_silent(args.output.silent && !args.output.show_error);
            init_logging(args.output.verbose, "steady");
            runtime.block_on(async {
                // Ctrl-C drops the call, and with it a download's temporary file.
                tokio::select! {
                    done = call(&method, &args, fallback_order) => done,
                    _ = tokio::signal::ctrl_c() => {
                        output::problem("interrupted; nothing was written");
                        Ok(exit::exit(exit::INTERRUPTED))
                    }
                }
            })
        }
        Job::Events(args) => {
            output::set_silent(args.call.output.silent && !args.call.output.show_error);
            init_logging(args.call.output.verbose, "steady");
            runtime.block_on(async {
                tokio::select! {
                    done = events(&args) => done,
                    _ = tokio::signal::ctrl_c() => Ok(exit::exit(exit::INTERRUPTED)),
                }
            })
        }
        Job::Chaos(args) => {
            init_logging(u8::from(!args.quiet), "steady_chaos");
            runtime.block_on(chaos::run(args))
        }
        Job::Demo(args) => runtime.block_on(demo::run(args)),
        Job::Sync(args) => {
            init_logging(args.verbose, "steady");
            runtime.block_on(sync::run(*args))
        }
        Job::Batch(args) => {
            init_logging(args.verbose, "steady");
            // Measured against a local nginx on 2 cores (bench/batch.sh): one thread beat
            // two (less cross-thread waking), and one thread is best as the thread that
            // reads the input (a current-thread runtime: no wake-up crosses threads;
            // 10% less CPU than one worker beside it). The writer has a thread of its own.
            let threads = args.threads.map(usize::from).unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
            });
            if threads == 1 {
                return runtime.block_on(batch::run(*args, fallback_order));
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()?;
            runtime.block_on(batch::run(*args, fallback_order))
        }
        Job::Results(args) => batch::results(args),
        Job::Completions(shell) => {
            // Into memory first: clap_complete panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli::command(), "steady", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(exit::exit(exit::SUCCESS))
        }
        Job::Man => {
            let page = manual::render(cli::command())?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &page)?;
            Ok(exit::exit(exit::SUCCESS))
        }
    }
}

async fn call(
    method: &str,
    args: &CallArgs,
    fallback_order: &[FallbackFlag],
) -> anyhow::Result<ExitCode> {
    let prepared = config::call_client(args).and_then(|client| {
        let request = config::request(&client, method, args)?;
        let fallbacks = config::fallbacks(&args.common, fallback_order)?;
        Ok((client, request, fallbacks))
    });
    let (client, request, fallbacks) = match prepared {
        Ok(prepared) => prepared,
        Err(err) if output::wants_json(&args.output) => {
            let code = exit::code_of_anyhow(&err);
            output::json(&serde_json::json!({
                "ok": false,
                "layer": "usage",
                "attempts": 0,
                "error": {"kind": "usage", "message": format!("{err:#}")},
            }))?;
            output::problem(&format!("{err:#}"));
            return Ok(exit::exit(code));
        }
        Err(err) => return Err(err),
    };
    if !fallbacks.is_empty() {
        let code = with_fallbacks(request, fallbacks, method, args).await;
        save_session(&client, args);
        return code;
    }
    let result = request.send().await;
    save_session(&client, args);
    if output::wants_json(&args.output) {
        output::json(&steady::report::outcome_json(result.as_ref()))?;
    }
    match result {
        Ok(resp) => {
            if !output::wants_json(&args.output) {
                output::success(&args.output, &resp)?;
            }
            write_out(args, output::outcome_of_response(&resp, exit::SUCCESS))?;
            Ok(exit::exit(exit::SUCCESS))
        }
        Err(err) => failed(&err, method, args),
    }
}

/// `steady events`: each event as it comes, until the server says stop, N events, an
/// error or Ctrl-C.
async fn events(args: &cli::EventsArgs) -> anyhow::Result<ExitCode> {
    use futures_util::StreamExt as _;
    use std::io::Write as _;

    let call = &args.call;
    let client = config::call_client(call)?;
    let request = config::events_request(&client, call)?;
    let mut events = match request.send_events().await {
        Ok(events) => events,
        Err(err) => return failed(&err, "GET", call),
    };
    let mut seen = 0u64;
    while args.max_events.is_none_or(|max| seen < max) {
        let Some(event) = events.next().await else {
            break;
        };
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                output::problem(&err.explain());
                return Ok(exit::exit(exit::code(&err)));
            }
        };
        seen += 1;
        let mut out = std::io::stdout().lock();
        let written = if output::wants_json(&call.output) {
            let line =
                serde_json::json!({"id": event.id(), "event": event.event(), "data": event.data()});
            writeln!(out, "{line}")
        } else {
            writeln!(out, "{}", event.data())
        };
        // `steady events URL | head -3`: the reader has what it wanted.
        if written.and_then(|()| out.flush()).is_err() {
            return Ok(exit::exit(exit::SUCCESS));
        }
    }
    save_session(&client, call);
    Ok(exit::exit(exit::SUCCESS))
}

/// curl's `-w FORMAT`, after the body.
fn write_out(args: &CallArgs, outcome: curl::Outcome) -> std::io::Result<()> {
    let Some(format) = &args.curl.write_out else {
        return Ok(());
    };
    let mut outcome = outcome;
    if let Ok(url) = steady::Url::parse(&config::normalize_url(&args.url)) {
        outcome.url = steady::redact_url(&url);
    }
    let text = curl::write_out(format, &outcome);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, text.as_bytes())?;
    std::io::Write::flush(&mut out)
}

/// Saves the cookies of `--session` (or curl's `-c FILE`), whatever the call's outcome
/// (a failed call may still have set some); a file that cannot be written is a warning.
fn save_session(client: &steady::Client, args: &CallArgs) {
    let Some(jar) = client.cookie_jar() else {
        return;
    };
    let saved = match &args.curl.cookie_jar {
        Some(path) => jar.save_netscape(path),
        None => jar.save(),
    };
    if let Err(err) = saved {
        output::warning(&err.what());
    }
}

/// A call with fallbacks: fresh data, a handled outage (exit 0 with a warning, or the
/// original code with --strict), or an error.
async fn with_fallbacks(
    request: steady::RequestBuilder,
    fallbacks: Vec<steady::Fallback>,
    method: &str,
    args: &CallArgs,
) -> anyhow::Result<ExitCode> {
    let mut fallbacks = fallbacks.into_iter();
    let mut request = request.fallback(fallbacks.next().expect("at least one fallback"));
    for fallback in fallbacks {
        request = request.fallback(fallback);
    }
    match request.send().await {
        Ok(outcome) => {
            if output::wants_json(&args.output) {
                output::json(&steady::report::fallback_outcome_json(&outcome))?;
            } else {
                output::success(&args.output, outcome.response())?;
            }
            let code = match outcome.degraded_by() {
                None => exit::SUCCESS,
                Some(err) => {
                    output::problem(&output::degraded(outcome.source(), err));
                    if args.common.fallbacks.strict {
                        exit::code(err)
                    } else {
                        exit::SUCCESS
                    }
                }
            };
            write_out(args, output::outcome_of_response(outcome.response(), code))?;
            Ok(exit::exit(code))
        }
        Err(err) => {
            if output::wants_json(&args.output) {
                output::json(&steady::report::outcome_json(Err(&err)))?;
            }
            failed(&err, method, args)
        }
    }
}

/// Prints a failed call (its response, for --status and --include) and its explanation.
fn failed(err: &steady::Error, method: &str, args: &CallArgs) -> anyhow::Result<ExitCode> {
    // `steady get URL | head`: the reader has what it wanted.
    if err.kind() == steady::ErrorKind::Save && err.what().ends_with(steady::download::BROKEN_PIPE)
    {
        return Ok(exit::exit(exit::SUCCESS));
    }
    if !output::wants_json(&args.output) {
        if let (Some(status), Some(headers)) = (err.status(), err.headers()) {
            output::response(
                &args.output,
                &output::Printed {
                    // A HEAD (`steady head`, or -I on get) prints the head of any
                    // answer, as with -i: the method sent decides, not the subcommand.
                    head_only: err
                        .method()
                        .map_or(method.eq_ignore_ascii_case("HEAD"), |m| {
                            *m == steady::Method::HEAD
                        }),
                    version: err.version().unwrap_or(steady::Version::HTTP_11),
                    status,
                    headers,
                    body: err.body().map(|b| &b[..]).unwrap_or(&[]),
                    ok: false,
                },
            )?;
        }
    }
    output::problem(&err.explain());
    let code = exit::code(err);
    write_out(args, output::outcome_of_error(err, code))?;
    Ok(exit::exit(code))
}

/// `-v` shows each attempt as one line; `-vv` adds redirects; `RUST_LOG` overrides.
/// `target` is the crate whose events `-v` shows. Without `-v`, only warnings that a
/// user must see are shown: a cache or shared state that cannot be used.
fn init_logging(verbose: u8, target: &str) {
    use tracing_subscriber::EnvFilter;

    // What a user must see without -v: a cache or a shared guard state (a state file,
    // Redis) that cannot be used, a shared batch's lease that cannot be renewed.
    const ALWAYS: &str = "steady::cache=warn,steady::state=warn,steady_batch=warn";
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    let filter = match (&from_env, verbose) {
        (Some(spec), _) => EnvFilter::new(spec),
        // -s: nothing at all.
        (None, 0) if output::silent() => EnvFilter::new("off"),
        (None, 0) => EnvFilter::new(ALWAYS),
        // Attempts that went well and the heads are DEBUG in the library (a service
        // keeps INFO quiet); -v shows them.
        (None, 1) => EnvFilter::new(format!(
            "{ALWAYS},{target}=info,steady::attempt=debug,steady::headers=debug"
        )),
        // `steady=debug` is less specific than ALWAYS, which would hide the cache's
        // debug events.
        (None, _) if target == "steady" => EnvFilter::new("steady=debug"),
        (None, _) => EnvFilter::new(format!("{ALWAYS},{target}=debug")),
    };
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    if from_env.is_some() {
        builder.with_target(true).init();
    } else {
        builder
            .event_format(output::LogLine {
                timestamps: verbose > 0,
                colour,
            })
            .init();
    }
}
