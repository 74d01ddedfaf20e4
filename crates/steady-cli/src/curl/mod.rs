//! For curl users: curl's everyday flags where steady has them (`-H`, `-d`, `--json`,
//! `-m`, `-I`, `-s`, `-w`, `-b`, `-c`, `-O`, `-X` on `steady request`), and a hint
//! naming steady's equivalent for the curl flags it does not take ([`hints`]).
//!
//! Hand-written: `-w`'s variables are curl's names over steady's outcome.

mod hints;

pub use hints::{hint, subcommand_hint};

use std::fmt::Write as _;
use std::time::Duration;

use crate::exit::UsageError;

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
