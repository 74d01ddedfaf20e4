//! For curl users: curl's everyday flags where steady has them (`-H`, `-d`, `--json`,
//! `-m`, `-I`, `-s`, `-w`, `-b`, `-c`, `-O`, `-X` on `steady request`), and a hint
//! naming steady's equivalent for the curl flags it does not take, instead of clap's
//! "unexpected argument" and its tip about `--`.
//!
//! Hand-written: the table of curl's flags and their steady equivalents is steady's
//! own knowledge, and `-w`'s variables are curl's names over steady's outcome.

use std::fmt::Write as _;
use std::time::Duration;

use crate::exit::UsageError;

/// What steady says when a curl flag it does not take is typed: the flag (long and
/// short forms) and what to use instead.
const CURL_ONLY: &[(&[&str], &str)] = &[
    (&["--retry"], "--retries N (default 3, with backoff, jitter and Retry-After honoured)"),
    (&["--retry-max-time"], "--timeout DURATION: one deadline covers every attempt and wait"),
    (&["--retry-delay"], "--backoff DURATION (the first wait; it grows exponentially, with jitter)"),
    (&["--retry-connrefused", "--retry-all-errors"], "nothing: steady retries what can succeed (refused, reset, timeouts, 408, 429, 5xx) by default"),
    (&["--fail", "--fail-with-body", "--fail-early"], "nothing: an HTTP error is a non-zero exit code by default (4 for 4xx, 5 for 5xx); -f in steady sends a form"),
    (&["--max-redirs"], "--max-redirects N"),
    (&["--noproxy"], "--no-proxy LIST"),
    (&["-G", "--get"], "steady get URL name==value (query parameters are request items)"),
    (&["-F", "--form"], "-f/--form with name=value and name@file request items (multipart with a file)"),
    (&["--form-string"], "-f/--form with name=value request items"),
    (&["--data-urlencode"], "-f/--form with name=value request items (percent-encoded for you)"),
    (&["-T", "--upload-file"], "steady put URL @FILE"),
    (&["-D", "--dump-header"], "-i/--include (the head before the body) or -v (both heads on stderr)"),
    (&["--trace", "--trace-ascii", "--trace-time"], "-v or -vv (each attempt, decision and head on stderr), or RUST_LOG=trace"),
    (&["-r", "--range"], "a request item: Range:bytes=0-99"),
    (&["--limit-rate"], "nothing for bytes per second; --rate 10/s limits requests per second"),
    (&["-Z", "--parallel"], "steady batch FILE (a JSONL file of requests, resumable, bounded concurrency)"),
    (&["--http1.1", "--http2", "--http2-prior-knowledge", "--http1.0", "--http3"], "nothing: steady speaks HTTP/2 over TLS when the server offers it, HTTP/1.1 otherwise"),
    (&["-E", "--cert", "--key", "--cert-type", "--key-type"], "nothing yet: client certificates are not supported by the command line"),
    (&["--capath"], "--cacert FILE (a PEM file of CA certificates)"),
    (&["--resolve", "--connect-to"], "nothing yet: call the address and set a Host:NAME request item"),
    (&["-K", "--config"], "a shell alias or script: steady has no config file for calls"),
    (&["-n", "--netrc", "--netrc-file"], "--basic-env VAR or --bearer-env VAR (credentials from the environment)"),
    (&["--oauth2-bearer"], "--bearer-env VAR or --bearer-file PATH (the token stays out of ps and shell history)"),
    (&["-#", "--progress-bar"], "nothing: steady batch shows progress; a download to -o prints its size when done"),
    (&["--url"], "the URL as the first argument after the subcommand"),
    (&["-X", "--request"], "the subcommand: steady post URL, steady put URL, ..., or steady request -X METHOD URL"),
    (&["-q", "--disable"], "nothing: steady reads no .curlrc"),
    (&["--create-dirs"], "mkdir -p first: steady refuses a folder that does not exist rather than guess"),
    (&["-C", "--continue-at"], "nothing yet: a download cut short is retried from the start"),
    (&["--expect100-timeout", "--tcp-nodelay", "--keepalive-time", "--no-keepalive"], "nothing: steady's connection settings are fixed"),
    (&["-N", "--no-buffer"], "nothing: a piped body already goes out as it arrives"),
    (&["--no-progress-meter"], "nothing: steady shows no progress meter for a call"),
    (&["--max-filesize"], "--max-body SIZE"),
    (&["--show-headers"], "-i/--include"),
    (&["--location-trusted"], "nothing: steady strips credentials when a redirect leaves the origin, on purpose; call the new location with them directly"),
    (&["--speed-time", "--speed-limit"], "--read-timeout DURATION (the longest silence) and --timeout DURATION (one deadline)"),
    (&["--url-query"], "name==value request items"),
    (&["-J", "--remote-header-name"], "-o FILE (the name is yours to choose)"),
    (&["-g", "--globoff"], "nothing: steady does no URL globbing"),
    (&["-4", "--ipv4", "-6", "--ipv6"], "nothing yet: steady uses the addresses the name resolves to"),
    (&["-U", "--proxy-user"], "--proxy http://USER:PASSWORD@HOST:PORT"),
    (&["--digest", "--ntlm", "--negotiate", "--anyauth"], "nothing: steady does Basic (-a) and Bearer (--bearer-env) auth"),
    (&["--basic"], "nothing: -a USER is Basic auth"),
    (&["--output-dir"], "-o DIR/FILE"),
    (&["--data-ascii"], "-d DATA"),
    (&["--post301", "--post302", "--post303"], "nothing: steady keeps POST on 307/308 and turns it into GET on 301/302/303, as browsers do"),
    (&["--parallel-max"], "steady batch FILE --concurrency N"),
    (&["--stderr"], "2> FILE (steady writes messages to stderr)"),
];

/// A hint for `arg`, a flag clap did not know, when it is one of curl's.
pub fn hint(arg: &str) -> Option<String> {
    let flag = arg.split('=').next().unwrap_or(arg);
    // `-XPOST`, `-sS` and the like: the first letter names the flag.
    let short =
        (flag.len() > 2 && flag.starts_with('-') && !flag.starts_with("--")).then(|| &flag[..2]);
    CURL_ONLY.iter().find_map(|(names, instead)| {
        names
            .iter()
            .any(|n| *n == flag || Some(*n) == short)
            .then(|| format!("curl's {flag} is not a steady flag; use {instead}"))
    })
}

/// A hint for a word typed where the subcommand goes: a URL (as curl and HTTPie take
/// it), or a method in capitals.
pub fn subcommand_hint(word: &str) -> Option<String> {
    let methods = ["get", "head", "post", "put", "patch", "delete", "options"];
    if methods.contains(&word.to_ascii_lowercase().as_str()) {
        return Some(format!(
            "'{word}' is not a subcommand; the method is one, in lower case: steady {} URL",
            word.to_ascii_lowercase()
        ));
    }
    if word.chars().all(|c| c.is_ascii_uppercase()) && !word.is_empty() {
        return Some(format!(
            "'{word}' is not a subcommand; for any other method: steady request {word} URL"
        ));
    }
    let url = word.contains("://")
        || word.starts_with(':')
        || word.starts_with("localhost")
        || word.split('/').next().is_some_and(|h| h.contains('.'));
    url.then(|| {
        format!(
            "steady takes the method first: steady get {word} (or post, put, patch, delete, ...)"
        )
    })
}

/// `steady request -X METHOD URL` as curl writes it, turned into steady's `steady
/// request METHOD URL`. Only for `request`; elsewhere the subcommand is the method.
pub fn method_first(args: Vec<String>) -> Vec<String> {
    let Some(at) = args.iter().position(|a| a == "request") else {
        return args;
    };
    let mut method = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut i = at + 1;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            rest.extend_from_slice(&args[i..]);
            break;
        }
        if method.is_none() && (a == "-X" || a == "--request") && i + 1 < args.len() {
            method = Some(args[i + 1].clone());
            i += 2;
            continue;
        }
        if method.is_none() {
            if let Some(m) = a
                .strip_prefix("--request=")
                .or_else(|| a.strip_prefix("-X").filter(|m| !m.is_empty()))
            {
                method = Some(m.to_owned());
                i += 1;
                continue;
            }
        }
        rest.push(a.clone());
        i += 1;
    }
    match method {
        None => args,
        Some(method) => {
            let mut out = args[..=at].to_vec();
            out.push(method);
            out.extend(rest);
            out
        }
    }
}

/// One `-H`: a header to send, one to send empty (`Name;`), or one to remove (`Name:`).
#[derive(Debug, PartialEq, Eq)]
pub enum Header {
    Set(String, String),
    Remove(String),
}

/// Parses `-H 'Name: value'` as curl does.
pub fn header(spec: &str) -> Result<Header, UsageError> {
    let bad = || {
        UsageError::new(format!(
            "-H '{spec}': expected 'Name: value' ('Name:' removes a header, 'Name;' sends it empty)"
        ))
    };
    let (name, value) = match spec.split_once(':') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => match spec.trim().strip_suffix(';') {
            Some(name) => (name.trim(), None),
            None => return Err(bad()),
        },
    };
    if name.is_empty() || steady::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(bad());
    }
    Ok(match value {
        Some("") => Header::Remove(name.to_owned()),
        Some(value) => Header::Set(name.to_owned(), value.to_owned()),
        None => Header::Set(name.to_owned(), String::new()),
    })
}

/// How one `-d`-like flag reads its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `-d`: `@FILE` read with CR and LF removed.
    Data,
    /// `--data-raw`: as given.
    Raw,
    /// `--data-binary`: `@FILE` byte for byte.
    Binary,
    /// `--json`: `@FILE` byte for byte, typed JSON.
    Json,
}

/// The body of `-d`, `--data-raw`, `--data-binary` and `--json`, in curl's way: the
/// parts joined with `&` (with nothing for `--json`), files and standard input read.
pub fn data_body(
    parts: &[(DataKind, &str)],
    stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<Vec<u8>, UsageError> {
    let mut body = Vec::new();
    for (i, (kind, part)) in parts.iter().enumerate() {
        let flag = match kind {
            DataKind::Data => "-d",
            DataKind::Raw => "--data-raw",
            DataKind::Binary => "--data-binary",
            DataKind::Json => "--json",
        };
        let bytes = match (kind, part.strip_prefix('@')) {
            (DataKind::Raw, _) | (_, None) => part.as_bytes().to_vec(),
            (_, Some("-")) => stdin().map_err(|e| {
                UsageError::new(format!("{flag} @-: cannot read standard input: {e}"))
            })?,
            (_, Some(path)) => std::fs::read(path)
                .map_err(|e| UsageError::new(format!("{flag} @{path}: cannot read {path}: {e}")))?,
        };
        let bytes = if *kind == DataKind::Data && part.starts_with('@') {
            bytes
                .into_iter()
                .filter(|b| *b != b'\r' && *b != b'\n')
                .collect()
        } else {
            bytes
        };
        if i > 0 && *kind != DataKind::Json {
            body.push(b'&');
        }
        body.extend(bytes);
    }
    Ok(body)
}

/// `-O`: the file name the URL gives (its last path segment, percent-decoded).
pub fn remote_name(url: &str) -> Result<std::path::PathBuf, UsageError> {
    let parsed = steady::Url::parse(url)
        .map_err(|e| UsageError::new(format!("-O: '{url}' is not a URL: {e}")))?;
    let segment = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let name: String = percent_decode(segment);
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(UsageError::new(format!(
            "-O: the URL {url} ends without a file name; give one with -o FILE"
        )));
    }
    Ok(std::path::PathBuf::from(name))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What `-w` can print about a call, success or failure.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: Option<u16>,
    pub version: Option<String>,
    pub elapsed: Duration,
    pub url: String,
    pub url_effective: String,
    pub size_download: u64,
    pub attempts: u32,
    pub content_type: Option<String>,
    pub method: String,
    pub exit_code: u8,
    pub error: Option<String>,
}

/// The variables `-w` knows.
const VARIABLES: [&str; 13] = [
    "http_code",
    "response_code",
    "http_version",
    "time_total",
    "url",
    "url_effective",
    "size_download",
    "num_retries",
    "content_type",
    "method",
    "exitcode",
    "errormsg",
    "json",
];

/// Checks a `-w` format before anything is sent: every `%{...}` is a known variable.
pub fn check_write_out(format: &str) -> Result<(), UsageError> {
    let mut rest = format;
    while let Some(at) = rest.find("%{") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            return Err(UsageError::new(format!(
                "-w: '%{{' without its '}}' in '{format}'"
            )));
        };
        let name = &after[..end];
        if !VARIABLES.contains(&name) {
            return Err(UsageError::new(format!(
                "-w: unknown variable %{{{name}}}; steady knows {}",
                VARIABLES
                    .iter()
                    .map(|v| format!("%{{{v}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// `-w FORMAT` filled in (the format was checked by [`check_write_out`]).
pub fn write_out(format: &str, o: &Outcome) -> String {
    let value = |name: &str| -> String {
        match name {
            "http_code" | "response_code" => format!("{:03}", o.status.unwrap_or(0)),
            "http_version" => o.version.clone().unwrap_or_else(|| "0".into()),
            "time_total" => format!("{:.6}", o.elapsed.as_secs_f64()),
            "url" => o.url.clone(),
            "url_effective" => o.url_effective.clone(),
            "size_download" => o.size_download.to_string(),
            "num_retries" => o.attempts.saturating_sub(1).to_string(),
            "content_type" => o.content_type.clone().unwrap_or_default(),
            "method" => o.method.clone(),
            "exitcode" => o.exit_code.to_string(),
            "errormsg" => o.error.clone().unwrap_or_default(),
            "json" => serde_json::json!({
                "http_code": o.status.unwrap_or(0),
                "response_code": o.status.unwrap_or(0),
                "http_version": o.version.clone().unwrap_or_else(|| "0".into()),
                "time_total": o.elapsed.as_secs_f64(),
                "url": o.url,
                "url_effective": o.url_effective,
                "size_download": o.size_download,
                "num_retries": o.attempts.saturating_sub(1),
                "content_type": o.content_type,
                "method": o.method,
                "exitcode": o.exit_code,
                "errormsg": o.error,
            })
            .to_string(),
            _ => String::new(),
        }
    };
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' if chars.peek() == Some(&'{') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push_str(&value(&name));
            }
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                out.push('%');
            }
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    let _ = write!(out, "\\{other}");
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_flags_get_steady_equivalents() {
        let h = hint("--retry").unwrap();
        assert!(h.contains("--retries N"), "{h}");
        assert!(hint("--retry-max-time").unwrap().contains("--timeout"));
        assert!(hint("--fail").unwrap().contains("exit code"));
        assert!(hint("-XPOST")
            .unwrap()
            .contains("steady request -X METHOD URL"));
        assert!(hint("--max-redirs=3").unwrap().contains("--max-redirects"));
        assert_eq!(hint("--frobnicate"), None);
    }

    #[test]
    fn a_url_or_a_method_where_the_subcommand_goes_gets_the_command_meant() {
        assert!(subcommand_hint("https://api.test/x")
            .unwrap()
            .contains("steady get https://api.test/x"));
        assert!(subcommand_hint(":8080/x")
            .unwrap()
            .contains("steady get :8080/x"));
        assert!(subcommand_hint("GET").unwrap().contains("steady get URL"));
        assert!(subcommand_hint("PURGE")
            .unwrap()
            .contains("steady request PURGE URL"));
        assert_eq!(subcommand_hint("bach"), None);
    }

    #[test]
    fn request_takes_x_as_curl_writes_it() {
        let argv = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            method_first(argv("steady request -X PURGE http://h/x a:b")),
            argv("steady request PURGE http://h/x a:b")
        );
        assert_eq!(
            method_first(argv("steady request http://h/x --request=PATCH")),
            argv("steady request PATCH http://h/x")
        );
        assert_eq!(
            method_first(argv("steady request -XDELETE http://h/x")),
            argv("steady request DELETE http://h/x")
        );
        assert_eq!(
            method_first(argv("steady get http://h/x")),
            argv("steady get http://h/x")
        );
    }

    #[test]
    fn headers_as_curl_reads_them() {
        assert_eq!(
            header("Accept: text/csv").unwrap(),
            Header::Set("Accept".into(), "text/csv".into())
        );
        assert_eq!(
            header("User-Agent:").unwrap(),
            Header::Remove("User-Agent".into())
        );
        assert_eq!(
            header("X-Empty;").unwrap(),
            Header::Set("X-Empty".into(), String::new())
        );
        assert!(header("no colon").is_err());
    }

    #[test]
    fn write_out_fills_curls_variables() {
        let o = Outcome {
            status: Some(201),
            elapsed: Duration::from_millis(1500),
            url_effective: "http://h/x".into(),
            size_download: 42,
            attempts: 3,
            content_type: Some("application/json".into()),
            method: "POST".into(),
            ..Outcome::default()
        };
        assert_eq!(
            write_out(
                "%{http_code} %{time_total}s %{size_download} %{num_retries} %{content_type} %%\\n",
                &o
            ),
            "201 1.500000s 42 2 application/json %\n"
        );
        assert_eq!(write_out("%{http_code}", &Outcome::default()), "000");
        assert!(check_write_out("%{http_code}\\n").is_ok());
        assert!(check_write_out("%{nope}")
            .unwrap_err()
            .to_string()
            .contains("unknown variable %{nope}"));
    }

    #[test]
    fn data_parts_join_as_curl_joins_them() {
        let mut no_stdin = || Ok(Vec::new());
        let body = data_body(
            &[(DataKind::Data, "a=1"), (DataKind::Raw, "@b=2")],
            &mut no_stdin,
        )
        .unwrap();
        assert_eq!(body, b"a=1&@b=2");
        let body = data_body(&[(DataKind::Data, "@-")], &mut || Ok(b"x\r\ny\n".to_vec())).unwrap();
        assert_eq!(body, b"xy");
        let body = data_body(
            &[(DataKind::Binary, "@-")],
            &mut || Ok(b"x\r\ny\n".to_vec()),
        )
        .unwrap();
        assert_eq!(body, b"x\r\ny\n");
    }

    #[test]
    fn remote_names_come_from_the_last_segment() {
        assert_eq!(
            remote_name("http://h/files/report%202026.csv").unwrap(),
            std::path::PathBuf::from("report 2026.csv")
        );
        assert!(remote_name("http://h/").is_err());
    }
}
