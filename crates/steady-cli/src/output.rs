//! Writing results: the body, the status, the head, or one JSON outcome; and messages
//! for people on stderr, coloured only on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use steady::header::HeaderMap;
use steady::{StatusCode, Version};

use crate::cli::{Format, OutputArgs};

/// What came back, for printing.
pub struct Printed<'a> {
    /// The answer to a HEAD: its head is all there is, printed as with `--include`.
    pub head_only: bool,
    pub version: Version,
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The call succeeded (the body is data, not an error description).
    pub ok: bool,
}

/// Prints a response according to the output flags.
pub fn response(out: &OutputArgs, printed: &Printed<'_>) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let mut w = stdout.lock();
    // Binary data would garble a terminal (and can carry escape sequences): said, not
    // shown. Redirected or piped, the bytes go out as they are.
    let notice;
    let body = if terminal && is_binary(printed.body) {
        notice = format!(
            "[binary body, {} bytes, not shown on a terminal: use -o FILE, or pipe it]\n",
            printed.body.len()
        );
        notice.as_bytes()
    } else {
        printed.body
    };
    if out.status {
        writeln!(w, "{}", printed.status.as_u16())?;
        return w.flush();
    }
    if out.include || printed.head_only {
        let reason = printed.status.canonical_reason().unwrap_or("");
        writeln!(
            w,
            "{:?} {} {reason}",
            printed.version,
            printed.status.as_u16()
        )?;
        for (name, value) in printed.headers {
            writeln!(w, "{name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
        }
        writeln!(w)?;
        w.write_all(body)?;
    } else if printed.ok {
        // An error body is not data: it goes to stderr as "server said", not to stdout
        // where a pipeline would consume it.
        w.write_all(body)?;
    } else {
        return Ok(());
    }
    if terminal && !body.ends_with(b"\n") && !body.is_empty() {
        writeln!(w)?;
    }
    w.flush()
}

/// Whether a body is binary: a NUL byte, or text that is not UTF-8, in its first 8 KiB
/// (as git and HTTPie judge it).
fn is_binary(body: &[u8]) -> bool {
    let head = &body[..body.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        // Cut in the middle of a character at the 8 KiB mark: still text.
        Err(e) => e.error_len().is_some() || body.len() <= head.len(),
    }
}

/// Prints a successful response according to the output flags.
pub fn success(out: &OutputArgs, resp: &steady::Response) -> std::io::Result<()> {
    // A download's body is in its file, not for stdout (with --include, the head is).
    let saved = resp.saved_to().zip(resp.saved_bytes());
    if saved.is_some() && !out.include {
        return report_saved(saved);
    }
    response(
        out,
        &Printed {
            head_only: resp.method() == steady::Method::HEAD,
            version: resp.version(),
            status: resp.status(),
            headers: resp.headers(),
            body: if saved.is_some() { &[] } else { resp.bytes() },
            ok: true,
        },
    )?;
    report_saved(saved)
}

/// `saved 1.0 GiB to export.csv`, on stderr when it is a terminal.
fn report_saved(saved: Option<(&std::path::Path, u64)>) -> std::io::Result<()> {
    if let Some((path, bytes)) = saved {
        if std::io::stderr().is_terminal() {
            writeln!(
                std::io::stderr(),
                "saved {} to {}",
                steady::duration::human_size(bytes),
                path.display()
            )?;
        }
    }
    Ok(())
}

/// Prints one JSON outcome object.
pub fn json(value: &serde_json::Value) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if stdout.is_terminal() {
        serde_json::to_writer_pretty(&mut w, value)?;
    } else {
        serde_json::to_writer(&mut w, value)?;
    }
    writeln!(w)?;
    w.flush()
}

/// Whether the JSON format was asked for.
pub fn wants_json(out: &OutputArgs) -> bool {
    out.format == Format::Json
}

/// The warning for an answer that came from a fallback.
pub fn degraded(source: &steady::Source, err: &steady::Error) -> String {
    let from = match source {
        steady::Source::Cache { age } => format!(
            "served the cached answer from {} ago (stale)",
            steady::duration::human(*age)
        ),
        steady::Source::Alternative { url } => format!("served the answer of the fallback {url}"),
        steady::Source::Default => "served the default answer".to_owned(),
        _ => "served a fallback answer".to_owned(),
    };
    format!(
        "warning: {from} because the live call failed:\n{}",
        err.explain()
    )
}

/// `-s` without `-S`: nothing on stderr.
static SILENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the messages of [`problem`] and [`warning`] off (curl's `-s`).
pub fn set_silent(silent: bool) {
    SILENT.store(silent, std::sync::atomic::Ordering::Relaxed);
}

/// Whether messages are off.
pub fn silent() -> bool {
    SILENT.load(std::sync::atomic::Ordering::Relaxed)
}

/// What `-w` can say about a successful call (or one a fallback answered).
pub fn outcome_of_response(resp: &steady::Response, exit_code: u8) -> crate::curl::Outcome {
    crate::curl::Outcome {
        status: Some(resp.status().as_u16()),
        version: Some(version_number(resp.version())),
        elapsed: resp.elapsed(),
        url: steady::redact_url(resp.url()),
        url_effective: steady::redact_url(resp.url()),
        size_download: resp.saved_bytes().unwrap_or(resp.bytes().len() as u64),
        attempts: resp.attempts(),
        content_type: resp.content_type().map(str::to_owned),
        method: resp.method().to_string(),
        exit_code,
        error: None,
    }
}

/// What `-w` can say about a failed call.
pub fn outcome_of_error(err: &steady::Error, exit_code: u8) -> crate::curl::Outcome {
    let url = err.url().unwrap_or_default().to_owned();
    crate::curl::Outcome {
        status: err.status().map(|s| s.as_u16()),
        version: err.version().map(version_number),
        elapsed: err.elapsed(),
        url_effective: err.final_url().map_or_else(|| url.clone(), str::to_owned),
        url,
        size_download: err.body().map_or(0, |b| b.len() as u64),
        attempts: err.attempts(),
        content_type: err
            .headers()
            .and_then(|h| h.get(steady::header::CONTENT_TYPE))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        method: err.method().map(|m| m.to_string()).unwrap_or_default(),
        exit_code,
        error: Some(err.what()),
    }
}

/// `1.1`, `2`: curl's `%{http_version}`.
fn version_number(version: Version) -> String {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "0",
    }
    .to_owned()
}

/// Prints a message for people on stderr: the first line after `steady: `, the rest
/// indented. Nothing with `-s`.
pub fn problem(text: &str) {
    if silent() {
        return;
    }
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let mut message = if colour {
        format!("\x1b[1;31msteady:\x1b[0m {first}\n")
    } else {
        format!("steady: {first}\n")
    };
    for line in lines {
        message.push_str("  ");
        message.push_str(line);
        message.push('\n');
    }
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// Prints a warning on stderr (`steady: warning: ...`).
pub fn warning(text: &str) {
    problem(&format!("warning: {text}"));
}

/// How steady's own log events read on stderr (without `RUST_LOG`): `steady: warning:
/// MESSAGE` for a warning, as every other message steady prints; with `-v`, each line
/// after its time, and the attempt lines as they are.
pub struct LogLine {
    pub timestamps: bool,
    pub colour: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LogLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut message = Message(String::new());
        event.record(&mut message);
        let level = *event.metadata().level();
        let label = if level == tracing::Level::ERROR {
            "error: "
        } else if level == tracing::Level::WARN {
            "warning: "
        } else {
            ""
        };
        if self.timestamps {
            let now = steady_batch::store::now_rfc3339();
            write!(writer, "{now} {label}")?;
        } else if self.colour {
            write!(writer, "\x1b[1;31msteady:\x1b[0m {label}")?;
        } else {
            write!(writer, "steady: {label}")?;
        }
        writeln!(writer, "{}", message.0)
    }
}

/// The `message` field of an event.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_owned();
        }
    }
}
