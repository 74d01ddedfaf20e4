//! The command line, as clap sees it. Doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit-code table, shown at the end of `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0   success (a 2xx, or a 304)
  1   transport failure: DNS, connection refused or reset, TLS
  2   timeout: connect, read or the total deadline
  3   redirect not followed (--no-follow) or refused
  4   HTTP 4xx: the request is wrong, or 408/429: still turned away after every retry
  5   HTTP 5xx: their server failed
  6   too many redirects
  7   semantic failure: a 2xx whose body is not what was asked for
  8   not sent: a guard refused it (circuit open, rate limit, bulkhead)
  64  usage error: bad flag, request item, URL or credential variable
  73  -o FILE cannot be written (missing folder, permissions, disk full); FILE unchanged
  130 interrupted (Ctrl-C); a download's temporary file is removed
  (steady batch: 9 the run finished with failed items, 74 results could not be saved)";

/// The exit codes in one line, at the end of `-h`.
pub const EXIT_SHORT: &str = "\
Exit codes: 0 ok, 1 transport, 2 timeout, 3 redirect, 4 4xx, 5 5xx, 6 redirects, 7 semantic,
8 guard, 64 usage, 73 -o unwritable, 130 Ctrl-C.
--help shows every flag (guards, fallbacks, TLS, proxies, checks) and what each code means.";

/// The end of `steady batch -h` and `steady sync -h`.
const EXIT_SHORT_JOBS: &str =
    "--help shows every flag (guards, retries, TLS, credentials) and the exit codes.";

/// The flags `steady get -h` shows, each in one line (`--help` shows them all, with
/// their whole text): the ones a call needs most, so that `-h` fits a screen.
const SHORT_HELP: &[(&str, &str)] = &[
    (
        "url",
        "The URL (`http://` is assumed; `:8080/x` is http://localhost:8080/x)",
    ),
    (
        "items",
        "Name:Value header, name==value query, name=value / name:=json JSON field, @file body",
    ),
    (
        "form",
        "Send the fields as a form (HTTPie's -f; curl's --fail is the default here)",
    ),
    (
        "headers",
        "A header, as curl: 'Name: value'; 'Name:' removes one",
    ),
    (
        "data",
        "A body, as curl: DATA, @FILE or @- (not with get: use post)",
    ),
    ("json", "A JSON body, as curl --json"),
    ("head", "Ask for the head only (HEAD), as curl -I"),
    (
        "save",
        "Save the body to FILE (streamed; FILE untouched on failure)",
    ),
    (
        "include",
        "Print the status line and headers before the body",
    ),
    ("status", "Print only the status code"),
    (
        "format",
        "json: one outcome object (attempts, error, body), success or failure",
    ),
    (
        "verbose",
        "Every attempt, decision and head on stderr (-vv: redirects too)",
    ),
    (
        "silent",
        "Nothing on stderr: the exit code tells (-sS: errors still shown)",
    ),
    (
        "write_out",
        "Print curl's -w variables after the body: '%{http_code}\\n'",
    ),
    (
        "timeout",
        "ONE deadline for the whole call: attempts, waits, body",
    ),
    (
        "retries",
        "Retries after the first attempt, only for what can succeed",
    ),
    ("user_auth", "Basic auth; USER alone asks for the password"),
    (
        "bearer_env",
        "Authorization: Bearer, the token from environment variable VAR",
    ),
    (
        "idempotency_key",
        "Idempotency-Key (auto or KEY): makes a POST safe to retry",
    ),
    (
        "expect",
        "A JSONPath check on the body: '$.items count > 0' (exit 7 if not)",
    ),
    (
        "insecure",
        "Do not verify the certificate (warns; credentials refused)",
    ),
];

/// The flags `steady batch -h` and `steady sync -h` show (`--help` shows them all).
const SHORT_BATCH: &[&str] = &[
    "input",
    "db",
    "resume",
    "concurrency",
    "on_failure",
    "max_wait",
    "skip_invalid",
    "quiet",
    "verbose",
    "timeout",
    "retries",
    "bearer_env",
    "header_env",
    "rate",
    "state",
    "batch",
];
const SHORT_SYNC: &[&str] = &[
    "url",
    "into",
    "table",
    "records",
    "key",
    "next",
    "columns",
    "delete_missing",
    "since",
    "since_param",
    "max_pages",
    "restart",
    "quiet",
    "verbose",
    "timeout",
    "retries",
    "bearer_env",
];

/// The command line as clap sees it, with `-h` kept to one screen for the calling
/// commands: the flags of [`SHORT_HELP`] in one line each; `--help` has every flag
/// with its whole text. `batch -h` and `sync -h` show their main flags only.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let calls = [
        "get", "head", "post", "put", "patch", "delete", "options", "request",
    ];
    // A flag given twice: the last one counts, as in curl (--timeout 5 -m 3).
    let mut cmd = Cli::command().args_override_self(true);
    // Changed subcommands move to the end: keep the order they are declared in.
    let order: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for (i, name) in order.iter().enumerate() {
        cmd = cmd.mut_subcommand(name, |sub| sub.display_order(i));
    }
    for (name, shown) in [("batch", SHORT_BATCH), ("sync", SHORT_SYNC)] {
        cmd = cmd.mut_subcommand(name, |sub| {
            let ids: Vec<String> = sub
                .get_arguments()
                .map(|a| a.get_id().to_string())
                .filter(|id| id != "help" && !shown.contains(&id.as_str()))
                .collect();
            let mut sub = sub.after_help(EXIT_SHORT_JOBS);
            for id in ids {
                sub = sub.mut_arg(id.as_str(), |arg| arg.hide_short_help(true));
            }
            sub
        });
    }
    for name in calls {
        cmd = cmd.mut_subcommand(name, |sub| {
            let ids: Vec<String> = sub
                .get_arguments()
                .map(|a| a.get_id().to_string())
                .filter(|id| id != "help")
                .collect();
            let mut sub = sub;
            for id in ids {
                sub = sub.mut_arg(id.as_str(), |arg| {
                    match SHORT_HELP.iter().find(|(short, _)| *short == id) {
                        None => arg.hide_short_help(true),
                        Some((_, short)) => {
                            let long = arg.get_long_help().or(arg.get_help()).cloned();
                            match long {
                                Some(long) => arg.long_help(long).help(*short),
                                None => arg.help(*short),
                            }
                        }
                    }
                });
            }
            sub
        });
    }
    cmd
}

/// Call HTTP APIs without crashing, hanging or hammering.
///
/// Every call has a connect timeout, a read timeout and one total deadline; failures are
/// classified (transport, HTTP, semantic), explained, and retried only when another
/// attempt can succeed.
#[derive(Debug, Parser)]
#[command(name = "steady", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// GET a URL and print the body.
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Get(CallArgs),
    /// HEAD: fetch and print the status line and headers only.
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Head(CallArgs),
    /// POST a body (retried only with --idempotency-key or when nothing was sent).
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Post(CallArgs),
    /// PUT a body.
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Put(CallArgs),
    /// PATCH a body (retried only with --idempotency-key or when nothing was sent).
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Patch(CallArgs),
    /// DELETE a resource.
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Delete(CallArgs),
    /// OPTIONS: ask what a resource allows.
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Options(CallArgs),
    /// Any other method: steady request METHOD URL [ITEMS]... (or -X METHOD, as curl)
    #[command(after_help = EXIT_SHORT, after_long_help = EXIT_CODES)]
    Request(RequestArgs),
    /// Follow a server-sent-events stream: print each event's data as it comes,
    /// reconnecting with Last-Event-ID when the stream breaks (--format json: JSONL).
    #[command(after_help = EVENTS_HELP, after_long_help = EXIT_CODES)]
    Events(EventsArgs),
    /// Serve a fault-injecting HTTP API (or proxy one) to test any client against.
    #[command(after_help = CHAOS_HELP)]
    Chaos(ChaosArgs),
    /// See steady and a naive client face the same flaky API, side by side.
    Demo(DemoArgs),
    /// Run a JSONL file of requests as a resumable sync job; results go to SQLite.
    #[command(after_long_help = BATCH_HELP)]
    Batch(BatchArgs),
    /// Export the results of a batch: JSONL, CSV or JUnit XML.
    Results(ResultsArgs),
    /// Pull a paginated API into a database table: all of it or nothing, resumable.
    #[command(after_long_help = SYNC_HELP)]
    Sync(Box<SyncArgs>),
    /// Print a shell completion script (bash, zsh, fish; where it goes: its --help).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff): steady man | man -l -
    #[command(after_help = MAN_HELP)]
    Man,
}

/// Where a completion script goes, at the end of `steady completions --help`. The
/// folders may not exist yet: a redirect into one that does not fails.
const COMPLETIONS_HELP: &str = "\
Installing it (the folder may not exist yet, hence mkdir -p):
  mkdir -p ~/.local/share/bash-completion/completions
  steady completions bash > ~/.local/share/bash-completion/completions/steady
  mkdir -p ~/.config/fish/completions
  steady completions fish > ~/.config/fish/completions/steady.fish
  zsh: steady completions zsh > _steady, in a folder of $fpath";

/// Where the manual page goes, at the end of `steady man --help`.
const MAN_HELP: &str = "\
Installing it, for man steady (the folder may not exist yet, hence mkdir -p):
  mkdir -p ~/.local/share/man/man1
  steady man > ~/.local/share/man/man1/steady.1";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// How a sync stores its data and ends, shown at the end of `steady sync --help`.
pub const SYNC_HELP: &str = "\
Example, a nightly job:
  steady sync https://api.example.com/users --into app.db --table users \\
      --records '$.data' --key '$.id' --next link --column email='$.email' --delete-missing

The table gets key (primary key), record (the record as JSON) and each --column
(text, integer, real, boolean or json). --into takes a SQLite file or postgres://...
Each page is staged with the checkpoint in one transaction; only when the last page is
in does one transaction change the table (upsert, --delete-missing, the run record in
steady_sync_runs, the --since cursor). Readers never see a half-synced table.

Exit codes:
  0    the table holds the new snapshot
  1-8  a page failed (the code of that failure, as for one call): the table is
       unchanged; the same command continues from that page (--restart starts over)
  7    also: a page or record without the records or the key
  64   bad flags, or an unfinished sync with other arguments
  74   the database could not be written
  130  interrupted (Ctrl-C); the same command continues";

/// Batch input format and exit codes, shown at the end of `steady batch --help`.
pub const BATCH_HELP: &str = "\
Input: one JSON object per line (blank lines and # comments are skipped):
  {\"id\": \"u1\", \"method\": \"GET\", \"url\": \"https://api.example.com/users/1\",
   \"headers\": {\"Accept\": \"application/json\"}, \"query\": {\"page\": 2},
   \"json\": {...} or \"body\": \"...\", \"expect\": \"$.id exists\", \"timeout\": \"5s\"}
  Only url is required; id defaults to the line number, method to GET.

Exit codes:
  0    every item succeeded
  9    the run finished with failed items (see steady results DB)
  64   bad input lines or flags (nothing was sent), an unusable --db (not steady's,
       corrupt, read-only, locked), or another run on the same --db is live
  74   results could not be saved (disk full, --db-lock-timeout passed, I/O error):
       the run stopped sending at once; --resume sends only the items without a
       saved result
  130  interrupted (Ctrl-C); --resume finishes the run

Guarantees: every result is written whole in one transaction, or not at all; an item
with a stored result is never sent again by --resume; after kill -9 at most
--concurrency items are sent twice; one run at a time per --db (FILE.lock).";

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The first page.
    #[arg(value_name = "URL")]
    pub url: String,

    /// The database: a SQLite file (created when missing), or a PostgreSQL URL,
    /// postgres://USER@HOST:PORT/DB (a password in it is never printed; better, from
    /// the environment: --into "$DATABASE_URL").
    #[arg(long, value_name = "DB")]
    pub into: String,

    /// The table to keep in sync (letters, digits and _).
    #[arg(long, value_name = "NAME")]
    pub table: String,

    /// Where a page's records are: a JSONPath, e.g. '$.data' ('$' for a page that is
    /// a list).
    #[arg(long, value_name = "JSONPATH")]
    pub records: String,

    /// Where a record's key is, within the record: '$.id'.
    #[arg(long, value_name = "JSONPATH")]
    pub key: String,

    /// How to find the next page: link (Link rel=next), '$.next' (a URL in the body),
    /// cursor='$.meta.cursor' (PARAM=JSONPATH: a query parameter), page=PARAM
    /// (counted up until an empty page), offset=PARAM (advanced by the records).
    #[arg(long, value_name = "SPEC")]
    pub next: String,

    /// An extra column: NAME[:TYPE]=JSONPATH within the record, TYPE one of text (the
    /// default), integer, real, boolean, json. Repeatable.
    #[arg(long = "column", value_name = "NAME[:TYPE]=JSONPATH")]
    pub columns: Vec<String>,

    /// Delete the rows whose keys the new snapshot lacks.
    #[arg(long)]
    pub delete_missing: bool,

    /// Incremental: the JSONPath of a record's cursor value (e.g. '$.updated_at'); the
    /// largest is stored with the run and sent next time in --since-param.
    #[arg(long, value_name = "JSONPATH", requires = "since_param")]
    pub since: Option<String>,

    /// The query parameter the stored --since value goes in.
    #[arg(long, value_name = "NAME", requires = "since")]
    pub since_param: Option<String>,

    /// Stop after N pages (--delete-missing is then skipped: the snapshot is partial).
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u32>,

    /// Discard an unfinished sync of the table and start over.
    #[arg(long)]
    pub restart: bool,

    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,

    /// Show each page's attempts (-v) and redirects (-vv) on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The JSONL input file, or - for standard input.
    #[arg(value_name = "FILE")]
    pub input: std::path::PathBuf,

    /// The results database: a SQLite file (default: FILE.steady.db beside the
    /// input; steady-batch.db in the current directory for standard input), or
    /// postgres://USER[:PASSWORD]@HOST:PORT/DB: a batch shared by every worker started
    /// with the same input and database, on any machine (items claimed with leases,
    /// each recorded once).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<std::path::PathBuf>,

    /// Finish an earlier run: send only the items without a final result. The input
    /// must be the same. With PostgreSQL, workers join an unfinished batch without it;
    /// --resume sends a finished batch's resumable items again.
    #[arg(long)]
    pub resume: bool,

    /// With --db postgres://: the batch's name. Workers with the same name share it;
    /// it must be the same input. Default: the input's file name and the start of its
    /// SHA-256 (orders.jsonl-3f2a9c1b7d0e).
    #[arg(long, value_name = "NAME")]
    pub batch: Option<String>,

    /// With --db postgres://: how long a worker's claimed items stay its own after its
    /// last sign of life (renewed every third of it); a killed worker's items go to
    /// the others after this. Default: 30s.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub lease: Option<Duration>,

    /// Items in flight at once, at most. Per host, steady adapts the number in flight
    /// to what the host serves: it starts at 4, grows toward N while answers come
    /// back healthy, and shrinks on 503, 429, 504, timeouts and queueing latency.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,

    /// Keep --concurrency items in flight whatever the host answers (no adaptation).
    #[arg(long)]
    pub fixed_concurrency: bool,

    /// Threads that run the calls (default: half the cores, at least one; the
    /// results writer has a thread of its own). Waiting on the network needs no
    /// threads; more help only when TLS handshakes or large bodies keep one busy.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// continue: record a failure and go on; stop: the first failure stops the run
    /// (items in flight finish).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = OnFailureArg::Continue)]
    pub on_failure: OnFailureArg,

    /// How long an item waits for its host to recover when the host is down for
    /// everything (its circuit open, or nothing of it succeeding) before it is
    /// recorded as failed (resumable). An item that fails while its host serves the
    /// others gets its own outcome after its retries and one or two more rounds.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration)]
    pub max_wait: Duration,

    /// Keep each response body in the database (bounded by --max-body).
    #[arg(long)]
    pub store_body: bool,

    /// How long writing results may wait for a lock that another process holds on
    /// the database (a long read transaction, a backup); past it the run stops with
    /// exit 74, resumable. Default: 10s.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub db_lock_timeout: Duration,

    /// Record bad input lines as failed items instead of refusing the whole input.
    #[arg(long)]
    pub skip_invalid: bool,

    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,

    /// Log every attempt and guard decision to stderr. RUST_LOG overrides.
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailureArg {
    /// Skip and continue, recording the failure.
    Continue,
    /// Surface and stop.
    Stop,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The results database of a batch: a SQLite file, or postgres://... (a shared
    /// batch).
    #[arg(value_name = "DB")]
    pub db: std::path::PathBuf,

    /// With postgres://: the batch (default: the newest).
    #[arg(long, value_name = "NAME")]
    pub batch: Option<String>,

    /// jsonl: one outcome per line; csv; junit: JUnit XML for CI systems.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,

    /// Only the items that succeeded, or failed.
    #[arg(long, value_enum, value_name = "OUTCOME")]
    pub only: Option<OnlyArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlyArg {
    Ok,
    Failed,
}

/// Fault syntax, shown at the end of `steady chaos --help`.
pub const CHAOS_HELP: &str = "\
Faults (--fault SPEC, repeatable; the first that fires applies, latency adds up):
  status=503                    that status with a JSON error body
  status=429,retry-after=2      ... with Retry-After: 2 (retry-after-date=2: an HTTP date)
  latency=200ms[..800ms]        delay, fixed or drawn from a range
  hang                          accept the request, never answer
  reset | reset=mid             reset before the response | in the middle of the body
  drip=100ms                    send the body one byte per interval
  truncate                      close before Content-Length is reached
  error-200                     200 OK with {\"error\": ...}
  bad-json                      200 OK, JSON content type, a body that does not parse
  huge=50MiB                    a body that large
  gzip-bomb=100MiB              a small gzip body that inflates that large
  redirect=same|cross           302 to this origin | to another (localhost vs 127.0.0.1)
  rate-limit=10/s               beyond 10/s: 429 + Retry-After + RateLimit headers
  outage=10s,at=5s              refuse connections from second 5 for 10s
  flap=3s/1s                    up 3s, refusing connections 1s, repeatedly
  capacity=8[,queue]            room for 8 in flight: one more gets 503 at once | waits
Knobs: rate=0.2 (probability), at=5s and for=10s (schedule), path=/items (prefix),
first=2 (only the first 2 requests to each path and query: items that fail at most twice).

Endpoints: GET / lists the built-in API; /__chaos/stats counts requests and faults.

Examples:
  steady chaos --fault status=503,rate=0.2 --fault latency=100ms..500ms,rate=0.3
  steady chaos --upstream https://api.example.com --fault reset,rate=0.05 --seed 7";

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Proxy to this base URL instead of serving the built-in JSON API.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// A fault to inject (see below). Repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,

    /// Seed for the fault dice: the same requests meet the same faults.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Read listen, upstream, seed and faults from a TOML file; flags add to it.
    #[arg(long, value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,

    /// Do not log each injected fault to stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Which story `steady demo` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoScenario {
    /// Faults and an outage.
    Flaky,
    /// A server with room for 8 requests in flight.
    Capacity,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// flaky: a naive client and steady against an API with faults and an outage;
    /// capacity: a fixed concurrency and steady's adaptive one against an API with
    /// room for 8 requests in flight.
    #[arg(long, value_enum, value_name = "SCENARIO", default_value_t = DemoScenario::Flaky)]
    pub scenario: DemoScenario,

    /// Requests per client (default 200; capacity: 1200).
    #[arg(long, value_name = "N")]
    pub requests: Option<usize>,

    /// Requests in flight at once, per client (default 16; capacity: 64).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Seed for the faults (both clients meet the same ones).
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub seed: u64,
}

/// What `steady events` does beyond a GET, at the end of its `-h`.
const EVENTS_HELP: &str = "\
Each event's data is printed as one line (a multi-line data keeps its lines), flushed
as it comes; --format json prints one object a line: {\"id\", \"event\", \"data\"}.
The deadline (--timeout) bounds each connection up to its response head, the read
timeout each silence; a break or an end connects again after the server's retry:
(default 3s) with Last-Event-ID. A 204 ends it (exit 0); a reconnection that fails
ends it with that failure's exit code. Ctrl-C ends it (exit 130).";

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Stop after N events (exit 0). Default: follow until the server says stop.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    #[command(flatten)]
    pub call: CallArgs,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The method, e.g. PROPFIND or PURGE (case-sensitive, as sent).
    #[arg(value_name = "METHOD")]
    pub method: String,
    #[command(flatten)]
    pub call: CallArgs,
}

/// Everything one call takes.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The URL. `http://` is assumed without a scheme; `:8080/x` means
    /// `http://localhost:8080/x`.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Request items, as in HTTPie and xh:
    ///   Name:Value     header
    ///   name==value    query parameter
    ///   name=value     JSON string field
    ///   name:=json     raw JSON field (number, bool, array, object)
    ///   name@path      file field: a multipart/form-data upload
    ///   @path          body from a file; @- (or -) reads standard input
    /// Escape a separator with a backslash (`a\:b=c`). JSON fields make a JSON body with
    /// Content-Type and Accept set; with -f they make a form.
    #[arg(value_name = "ITEM", verbatim_doc_comment)]
    pub items: Vec<String>,

    /// Send name=value fields as an HTML form (application/x-www-form-urlencoded), or
    /// as multipart/form-data when a file field (name@path) is given.
    ///
    /// -f is HTTPie's --form, not curl's --fail: steady fails on HTTP errors by default
    /// (exit 4 for a 4xx, 5 for a 5xx), so --fail is not needed. curl's habit -fsSL
    /// still works: -f without fields sends no form.
    #[arg(short = 'f', long)]
    pub form: bool,

    /// Send the fields as multipart/form-data even without a file field.
    #[arg(long)]
    pub multipart: bool,

    #[command(flatten)]
    pub curl: CurlArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What a single call and every item of a batch share.
#[derive(Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    #[command(flatten)]
    pub guards: GuardArgs,
    #[command(flatten)]
    pub checks: CheckArgs,
    #[command(flatten)]
    pub fallbacks: FallbackArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Telemetry")]
pub struct TelemetryArgs {
    /// Write the run's metrics to FILE in Prometheus' text format (node_exporter's
    /// textfile collector): every attempt's duration, retries, guard waits and
    /// refusals, breaker transitions, fallbacks. Written atomically every 5s during a
    /// run and once at its end.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    next_help_heading = "Fallbacks (only for outages: transport, timeout, 5xx, 429, guard; tried in the order given)"
)]
pub struct FallbackArgs {
    /// `cache`: serve the last good answer to the same request (same method, URL and
    /// credentials) from the local cache, marked stale with its age.
    #[arg(long, value_name = "cache", value_parser = ["cache"])]
    pub fallback: Vec<String>,

    /// Send the same request (credentials included) to this URL instead. Repeatable.
    #[arg(long, value_name = "URL")]
    pub fallback_url: Vec<String>,

    /// Answer with this JSON.
    #[arg(long, value_name = "JSON")]
    pub fallback_json: Vec<String>,

    /// Answer with the contents of this file.
    #[arg(long, value_name = "PATH")]
    pub fallback_body: Vec<std::path::PathBuf>,

    /// The cache file for --fallback cache. Default: steady/cache.db in the user's cache
    /// directory (~/.cache on Linux).
    #[arg(long, value_name = "PATH")]
    pub cache: Option<std::path::PathBuf>,

    /// Serve nothing older than this from the cache. Default: no limit beyond the
    /// response's own stale-if-error.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub max_stale: Option<Duration>,

    /// Serve cached answers marked no-cache or must-revalidate too.
    #[arg(long)]
    pub allow_stale_revalidate: bool,

    /// Exit with the original failure's code even when a fallback answered.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Checks on the body (semantic layer: exit 7 when one fails)")]
pub struct CheckArgs {
    /// A JSONPath and a predicate that must hold on a 2xx body (repeatable):
    /// exists, not-empty, == != < <= > >= JSON, matches REGEX,
    /// is string|number|boolean|array|object|null, count OP N.
    /// E.g. '$.items count > 0', '$.status == "ok"'.
    #[arg(long, value_name = "EXPR")]
    pub expect: Vec<String>,

    /// Poll: while this expectation fails on a 2xx, retry with the same backoff,
    /// budget and deadline (raise --retries and --timeout for long jobs). Repeatable.
    #[arg(long, value_name = "EXPR")]
    pub until: Vec<String>,

    /// Accept only these statuses, comma-separated (a listed 404 counts as success).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub expect_status: Vec<u16>,

    /// Accept only this content type: json, or a fragment such as text/csv.
    #[arg(long, value_name = "TYPE")]
    pub expect_type: Option<String>,

    /// Do not treat a 2xx JSON body with a top-level error/errors member or
    /// "ok"/"success": false as a failure.
    #[arg(long)]
    pub allow_error_body: bool,

    /// Do not check that a body labelled JSON parses (for an API that labels other
    /// things application/json). JSON lines (NDJSON) pass the check without this.
    #[arg(long)]
    pub no_json_check: bool,
}

/// curl's everyday flags, with curl's meaning (docs/command-line.md, "For curl
/// users"). `-f` stays steady's form flag (HTTPie's); curl's `--fail` is steady's
/// default (exit codes tell).
#[derive(Debug, Args)]
#[command(next_help_heading = "curl's flags")]
pub struct CurlArgs {
    /// A header, as curl: 'Name: value' (repeatable). 'Name:' removes a header steady
    /// would send (User-Agent, Accept, Accept-Encoding); 'Name;' sends it empty.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// A body, as curl -d: DATA, @FILE (newlines removed, as curl does) or @- (standard
    /// input). Repeated, the parts are joined with '&'. Typed application/json when it
    /// is JSON text, else application/x-www-form-urlencoded, unless -H gives a type.
    /// Not with `steady get` (the subcommand is the method: steady post URL -d ...).
    #[arg(short = 'd', long = "data", value_name = "DATA|@FILE")]
    pub data: Vec<String>,

    /// As -d, without reading a file for a leading @.
    #[arg(long, value_name = "DATA", hide_short_help = true)]
    pub data_raw: Vec<String>,

    /// As -d, but @FILE is sent byte for byte (newlines kept).
    #[arg(long, value_name = "DATA|@FILE", hide_short_help = true)]
    pub data_binary: Vec<String>,

    /// A JSON body, as curl 7.82+ --json: DATA, @FILE or @-, with Content-Type and
    /// Accept set to application/json.
    #[arg(long, value_name = "JSON|@FILE")]
    pub json: Vec<String>,

    /// Ask for the head only (a HEAD request), as curl -I; prints the status line and
    /// headers of any answer (a 404's too; the exit code still tells). With `steady get`
    /// (or head); other methods are refused.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Save the body to a file named after the URL's last path segment, in the current
    /// folder, as curl -O.
    #[arg(short = 'O', long, conflicts_with = "save")]
    pub remote_name: bool,

    /// After the call, print FORMAT to stdout with curl's variables: %{http_code},
    /// %{time_total}, %{url_effective}, %{size_download}, %{num_retries},
    /// %{content_type}, %{method}, %{exitcode}, %{errormsg}, %{json}; \n and \t.
    #[arg(short = 'w', long, value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Cookies to send: 'name=value; name2=value2', or a file of cookies (curl's
    /// cookies.txt or a steady --session file; a file not there yet is an empty jar),
    /// sent where they match. Repeatable.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE")]
    pub cookie: Vec<String>,

    /// After the call, write the cookies of the jar (those read from a -b FILE and
    /// those servers set) to FILE, in curl's cookies.txt format (mode 0600, written
    /// atomically).
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE")]
    pub cookie_jar: Option<PathBuf>,

    /// The User-Agent header (default steady/VERSION).
    #[arg(
        short = 'A',
        long = "user-agent",
        value_name = "NAME",
        hide_short_help = true
    )]
    pub user_agent: Option<String>,

    /// The Referer header.
    #[arg(
        short = 'e',
        long = "referer",
        value_name = "URL",
        hide_short_help = true
    )]
    pub referer: Option<String>,

    /// Accepted for curl's sake: steady follows redirects by default (--no-follow to
    /// stop, --max-redirects N).
    #[arg(short = 'L', long = "location", hide_short_help = true)]
    pub location: bool,

    /// Accepted for curl's sake: steady always asks for gzip, deflate, br and zstd and
    /// decodes the answer itself.
    #[arg(long, hide_short_help = true)]
    pub compressed: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print only the status code (for any response; nothing on a transport failure).
    #[arg(long, conflicts_with_all = ["include", "format"])]
    pub status: bool,

    /// Print the status line and headers before the body, for any response.
    #[arg(short = 'i', long)]
    pub include: bool,

    /// Save the body of a successful response to FILE instead of printing it: streamed
    /// (any size, little memory), decoded, written to a temporary file beside it and
    /// renamed into place only when the call succeeds; a download cut short is retried
    /// from the start. FILE is left untouched on failure. Error bodies are not saved.
    /// `-o -` is standard output.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "status"
    )]
    pub save: Option<PathBuf>,

    /// `body` prints the response body; `json` prints one outcome object (ok, layer,
    /// status, attempts, attempt_log, error, body), success or failure.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Body)]
    pub format: Format,

    /// Log every attempt and decision to stderr, with each request's and response's
    /// headers (credentials as ****); -vv adds redirects and connection details.
    /// RUST_LOG overrides.
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on stderr, as curl -s: the exit code tells (-v still logs).
    #[arg(short = 's', long)]
    pub silent: bool,

    /// With -s, still print what went wrong, as curl -sS.
    #[arg(short = 'S', long)]
    pub show_error: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The response body, as received.
    Body,
    /// One JSON outcome object (schema in docs/output-formats.md).
    Json,
}

#[derive(Debug, Args)]
#[command(
    next_help_heading = "Credentials (from the environment, a file or a prompt; never printed)"
)]
pub struct AuthArgs {
    /// Basic auth, as curl -u and HTTPie -a. USER alone asks for the password on the
    /// terminal, echoing nothing. USER:PASSWORD works but warns: a password on the
    /// command line is visible to other users (ps) and stays in shell history; prefer
    /// --basic-env VAR or the prompt.
    #[arg(
        short = 'a',
        long = "auth",
        visible_short_alias = 'u',
        visible_alias = "user",
        value_name = "USER[:PASSWORD]",
        conflicts_with_all = ["basic_env", "bearer_env", "bearer_file"]
    )]
    pub user_auth: Option<String>,

    /// `Authorization: Bearer <token>`, the token read from environment variable VAR.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["basic_env", "bearer_file"])]
    pub bearer_env: Option<String>,

    /// `Authorization: Bearer <token>`, the token read from a file (one trailing
    /// newline is ignored).
    #[arg(long, value_name = "PATH", conflicts_with = "basic_env")]
    pub bearer_file: Option<PathBuf>,

    /// Basic auth from environment variable VAR, whose value is `user:password`.
    #[arg(long, value_name = "VAR")]
    pub basic_env: Option<String>,

    /// A credential header from an environment variable, e.g. `X-Api-Key=API_KEY`.
    /// Repeatable.
    #[arg(long, value_name = "NAME=VAR")]
    pub header_env: Vec<String>,

    /// Treat header NAME as a credential: `****` in -v, logs, errors and reports, and
    /// not sent to another origin on a redirect. Names with key, token, secret,
    /// password, auth, session, cookie, signature, credential or csrf in them are
    /// treated so already. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub sensitive_header: Vec<String>,

    /// Keep cookies in this file between runs, as HTTPie's sessions and curl's
    /// cookie jar: cookies it holds are sent where they match, cookies servers set are
    /// saved back (mode 0600, written atomically). Created when missing.
    #[arg(long, value_name = "PATH")]
    pub session: Option<PathBuf>,

    /// Send `Idempotency-Key`, the same on every attempt, so a POST or PATCH may be
    /// retried. `auto` makes a random UUID.
    #[arg(long, value_name = "auto|KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Time limits (250ms, 3.05s, 2m, or seconds)")]
pub struct TimeArgs {
    /// Limit on setting up a connection: DNS, TCP and TLS.
    #[arg(long, value_name = "DURATION", default_value = "3.05s", value_parser = positive_duration)]
    pub connect_timeout: Duration,

    /// Longest silence allowed between two reads from the server.
    #[arg(long, value_name = "DURATION", default_value = "27s", value_parser = positive_duration)]
    pub read_timeout: Duration,

    /// ONE deadline for the whole call: every attempt, every wait, the whole body.
    /// (-m/--max-time, as curl's; a plain number is seconds.)
    #[arg(
        short = 'm',
        long,
        visible_alias = "max-time",
        value_name = "DURATION",
        default_value = "60s",
        value_parser = positive_duration
    )]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Retries")]
pub struct RetryArgs {
    /// Retries after the first attempt (0 disables). Only failures that another attempt
    /// can fix are retried: refused, reset, timeouts, 408, 429, 500, 502, 503, 504.
    #[arg(long, value_name = "N", default_value_t = 3, allow_hyphen_values = true, value_parser = retries)]
    pub retries: u32,

    /// First backoff delay, doubled for each retry.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub backoff: Duration,

    /// Longest backoff delay.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub backoff_max: Duration,

    /// How randomness spreads the backoff delays.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = JitterArg::Full)]
    pub jitter: JitterArg,

    /// Longest Retry-After honoured; a server asking for more ends the call at once.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = duration)]
    pub retry_after_max: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JitterArg {
    /// Uniform in [0, delay].
    Full,
    /// Half the delay plus uniform in [0, delay/2].
    Equal,
    /// Uniform in [base, 3 x previous wait].
    Decorrelated,
    /// Exactly the delay.
    None,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Redirects and limits")]
pub struct LimitArgs {
    /// Do not follow redirects: a 3xx exits with code 3.
    #[arg(long)]
    pub no_follow: bool,

    /// Most redirects followed; one more exits with code 6.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirects: usize,

    /// Largest response body accepted, counted after decompression (512k, 10MB, 1GiB).
    /// Default: 100MiB for a body held in memory (a terminal, JSON, --expect); no limit
    /// for one streamed to a pipe or to -o FILE, which is written as it arrives.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_body: Option<u64>,
}

#[derive(Debug, Args)]
#[command(
    next_help_heading = "Proxies (default: http_proxy, https_proxy, all_proxy and no_proxy from the environment, as in curl)"
)]
pub struct ProxyArgs {
    /// Send every request through this proxy (http://[user:password@]host:port)
    /// instead of the environment's. Its credentials go to the proxy only. (-x, as
    /// curl's.)
    #[arg(short = 'x', long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Reach these hosts directly, replacing NO_PROXY: comma-separated domains
    /// (subdomains included), IP addresses, CIDR ranges; `*` turns proxies off.
    #[arg(long, value_name = "LIST")]
    pub no_proxy: Option<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "TLS (certificates are always verified unless you say otherwise)")]
pub struct TlsArgs {
    /// Trust the CA certificates in this PEM file instead of the system's (a private
    /// CA, a test server). Default: the system's roots.
    #[arg(long, value_name = "PATH")]
    pub cacert: Option<std::path::PathBuf>,

    /// Do not verify the server's certificate. Prints a warning on every use, applies
    /// to this process only, and is refused together with credentials unless
    /// --insecure-with-credentials is also given.
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Send credentials even with --insecure (anyone in the middle can read them).
    #[arg(long, requires = "insecure")]
    pub insecure_with_credentials: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Guards (per host: scheme, host and port)")]
pub struct GuardArgs {
    /// Keep breaker, budget and rate-limit state in this SQLite file, shared by
    /// successive and concurrent steady processes (a cron job notices a dead API), or
    /// in Redis (redis://HOST:PORT[/DB], or rediss:// over TLS), shared by every
    /// process on every machine; while Redis is away, each process guards itself (with
    /// a warning). Default: in memory, for this process only.
    #[arg(long, value_name = "PATH|redis://...")]
    pub state: Option<std::path::PathBuf>,

    /// With --state rediss://: trust only this CA certificate (PEM) for the Redis
    /// server, not the system's store (a Redis with a private CA's certificate).
    #[arg(long, value_name = "PATH")]
    pub state_cacert: Option<std::path::PathBuf>,

    /// Client-side rate limit per host, evenly spaced: 10/s, 100/m, 1000/h. Waiting for
    /// a permit counts against --timeout. Default: none.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    pub rate: Option<steady::Rate>,

    /// Turn off the circuit breaker, the retry budget and server-driven pauses.
    #[arg(long, conflicts_with_all = ["breaker_failures", "retry_budget", "hedge_after"])]
    pub no_guards: bool,

    /// Turn off the circuit breaker.
    #[arg(long)]
    pub no_breaker: bool,

    /// Open the circuit after N failed calls in a row spanning at least --breaker-span
    /// (a call's retries are one call: it counts once, when it ends).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub breaker_failures: u32,

    /// How long failed calls in a row must last to open the circuit (a shorter blip
    /// is ridden out by retries).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub breaker_span: Duration,

    /// Open the circuit when this share of the calls in the window failed.
    #[arg(long, value_name = "RATIO", default_value_t = 0.5)]
    pub breaker_ratio: f64,

    /// How far back the failure ratio looks.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub breaker_window: Duration,

    /// Calls the window needs before the ratio judges.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub breaker_min_calls: u32,

    /// How long the circuit stays open at first; each failed probe doubles it.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub breaker_open: Duration,

    /// The longest the circuit stays open.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub breaker_open_max: Duration,

    /// Probes let through while half-open.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub breaker_probes: u32,

    /// Open the circuit only when K distinct clients sharing --state saw failures
    /// (with --state redis://, one bad node cannot trip it for the fleet).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub breaker_quorum: u32,

    /// Count semantic failures (a 2xx with the wrong content) against the host.
    #[arg(long)]
    pub breaker_count_semantic: bool,

    /// Retries (and hedges) may add at most this percentage of the first attempts to
    /// the host in the last 10s, plus --retry-budget-min a second.
    #[arg(long, value_name = "PERCENT", default_value_t = 20.0)]
    pub retry_budget: f64,

    /// Retries always allowed per second per host, however quiet the client (as
    /// Finagle's budget): the budget bites only under load.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub retry_budget_min: u32,

    /// Turn off the retry budget.
    #[arg(long)]
    pub no_retry_budget: bool,

    /// Fail at once (exit 8) on an open circuit or a spent retry budget. Default: wait
    /// for the circuit's probe or the budget's next retry when it comes before
    /// --timeout, and go on when the host is back.
    #[arg(long)]
    pub fail_fast: bool,

    /// Ignore the server's rate-limit signals (429 + Retry-After pausing the host,
    /// X-RateLimit-*, RateLimit). A 429's Retry-After still delays its own retry.
    #[arg(long)]
    pub ignore_server_limits: bool,

    /// Hedge idempotent requests: send a second one after DURATION (250ms) or after a
    /// percentile of the host's recent latencies (p95); the first answer wins.
    #[arg(long, value_name = "DURATION|pNN", value_parser = hedge)]
    pub hedge_after: Option<steady::Hedge>,
}

fn rate(text: &str) -> Result<steady::Rate, String> {
    text.parse()
}

fn hedge(text: &str) -> Result<steady::Hedge, String> {
    text.parse()
}

fn duration(text: &str) -> Result<Duration, String> {
    steady::duration::parse_duration(text)
}

/// A time limit: 0 would end every call before it starts (or, for a timer that never
/// fires, by chance), so it is refused.
fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "'{text}' is no time at all: a limit must be more than 0 (e.g. 250ms, 5s, 2m)"
        ));
    }
    Ok(d)
}

/// `--retries N`: a whole number from 0; a negative one gets a message that says so
/// (clap's own would suggest `-- -1`).
fn retries(text: &str) -> Result<u32, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!(
            "{n} is not a number of retries: use 0 for none, or a whole number up to {}",
            u32::MAX
        )),
        Ok(n) => u32::try_from(n).map_err(|_| format!("{n} retries is more than {}", u32::MAX)),
        Err(_) => Err(format!(
            "'{text}' is not a number of retries: use a whole number (0 for none)"
        )),
    }
}

fn size(text: &str) -> Result<u64, String> {
    steady::duration::parse_size(text)
}

/// What the command line asks for.
pub enum Job {
    /// One HTTP call: the method and its arguments.
    Call(String, Box<CallArgs>),
    /// A server-sent-events subscription.
    Events(Box<EventsArgs>),
    Chaos(ChaosArgs),
    Demo(DemoArgs),
    Batch(Box<BatchArgs>),
    Results(ResultsArgs),
    Sync(Box<SyncArgs>),
    Completions(clap_complete::Shell),
    Man,
}

impl Command {
    pub fn into_job(self) -> Job {
        let call = |m: &str, a| Job::Call(m.to_owned(), Box::new(a));
        match self {
            Command::Get(a) => call("GET", a),
            Command::Head(a) => call("HEAD", a),
            Command::Post(a) => call("POST", a),
            Command::Put(a) => call("PUT", a),
            Command::Patch(a) => call("PATCH", a),
            Command::Delete(a) => call("DELETE", a),
            Command::Options(a) => call("OPTIONS", a),
            Command::Request(r) => Job::Call(r.method, Box::new(r.call)),
            Command::Events(a) => Job::Events(Box::new(a)),
            Command::Chaos(a) => Job::Chaos(a),
            Command::Demo(a) => Job::Demo(a),
            Command::Batch(a) => Job::Batch(Box::new(a)),
            Command::Results(a) => Job::Results(a),
            Command::Sync(a) => Job::Sync(a),
            Command::Completions(a) => Job::Completions(a.shell),
            Command::Man => Job::Man,
        }
    }
}
