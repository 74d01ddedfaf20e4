//! The batch input: JSONL, one request per line, validated whole before anything is
//! sent, and streamed (never loaded whole; a small input's lines are kept, parsed, for
//! the run: see [`Checked::lines`]).
//!
//! A line is a JSON object:
//!
//! | field | type | default |
//! |---|---|---|
//! | `id` | string or integer | the line number |
//! | `method` | string | `GET` |
//! | `url` | string | required |
//! | `headers` | object of strings | none |
//! | `query` | object of strings, numbers or booleans | none |
//! | `json` | any JSON | none (a JSON body) |
//! | `body` | string | none (a raw body; not with `json`; typed `application/json` when it is JSON text, `text/plain` otherwise, unless `headers` has a Content-Type) |
//! | `expect` | string or list of strings | none (expectations, as `--expect`) |
//! | `timeout` | `"5s"`-style string or seconds | the run's `--timeout` |
//!
//! Blank lines and lines starting with `#` are skipped.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One line, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: Option<Value>,
    method: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    query: BTreeMap<String, Value>,
    json: Option<Value>,
    body: Option<String>,
    expect: Option<Value>,
    timeout: Option<Value>,
}

/// One request of the batch, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The id: given, or the line number.
    pub id: String,
    /// The line it came from (from 1).
    pub line: u64,
    /// The method.
    pub method: String,
    /// The URL, as written.
    pub url: String,
    /// The URL, parsed once while the line was checked (not parsed again to send it).
    pub parsed_url: steady::Url,
    /// Headers, in name order.
    pub headers: Vec<(String, String)>,
    /// Query parameters, in name order.
    pub query: Vec<(String, String)>,
    /// A JSON body.
    pub json: Option<Value>,
    /// A raw body.
    pub body: Option<String>,
    /// Expectations.
    pub expect: Vec<String>,
    /// A deadline for this item.
    pub timeout: Option<Duration>,
}

/// A bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line (from 1).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A line as the check pass read it: its number and the item, or what is wrong.
pub type Line = (u64, Result<Item, String>);

/// What a validation pass found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Valid items.
    pub items: u64,
    /// Bad lines (all of them are counted; the first 100 are kept).
    pub problems: Vec<Problem>,
    /// How many lines were bad.
    pub bad: u64,
    /// SHA-256 of the input bytes, to refuse resuming with another input.
    pub sha256: String,
    /// The lines, parsed, when the input is small enough to keep (at most
    /// [`KEPT_LINES`] lines in at most [`KEPT_BYTES`]): the run then sends them without
    /// reading and parsing the file a second time.
    pub lines: Option<Vec<Line>>,
}

const KEPT_PROBLEMS: usize = 100;
/// The most lines kept from the check pass for the run (a few hundred bytes each).
pub const KEPT_LINES: usize = 65_536;
/// The largest input whose lines are kept.
pub const KEPT_BYTES: u64 = 16 << 20;

/// 64-bit fingerprints of item ids, to find duplicates without keeping the ids. Keyed
/// at random for each pass (SipHash), so no input can be made to collide on purpose.
#[derive(Debug, Default, Clone)]
pub struct IdHasher(RandomState);

impl IdHasher {
    /// The fingerprint of `id`.
    pub fn hash(&self, id: &str) -> u64 {
        self.0.hash_one(id)
    }
}

/// Why a line is not an item, in words: not JSON at all (a bare URL gets the line it
/// should be), JSON but not an object, or an object with a field the format lacks.
fn not_an_item(line: &str, err: &serde_json::Error) -> String {
    const EXAMPLE: &str =
        r#"each line is one JSON object, e.g. {"url": "https://api.example.com/items/1"}"#;
    match serde_json::from_str::<Value>(line) {
        Err(e) => {
            if line.starts_with("http://") || line.starts_with("https://") {
                let url = serde_json::to_string(line).unwrap_or_default();
                return format!(
                    "a bare URL is not a line of the batch format: write {{\"url\": {url}}}"
                );
            }
            let at = if e.column() > 0 {
                format!(" at column {}", e.column())
            } else {
                String::new()
            };
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or(&what);
            format!("not JSON ({what}{at}): {EXAMPLE}")
        }
        Ok(Value::Object(_)) => format!("not a request of the batch format: {err}"),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            format!("JSON {kind}, not an object: {EXAMPLE}")
        }
    }
}

/// Parses one line. `Ok(None)` for blank and comment lines.
///
/// # Errors
/// What is wrong with it.
pub fn parse_line(text: &str, line: u64) -> Result<Option<Item>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let raw: Raw = match serde_json::from_str(trimmed) {
        Ok(raw) => raw,
        Err(e) => return Err(not_an_item(trimmed, &e)),
    };
    let id = match raw.id {
        None => line.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(other) => {
            return Err(format!(
                "\"id\" must be a non-empty string or an integer, not {other}"
            ))
        }
    };
    let url = raw.url.ok_or("\"url\" is missing")?;
    let parsed =
        steady::Url::parse(&url).map_err(|e| format!("\"url\" '{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("\"url\" '{url}': only http and https"));
    }
    let method = raw.method.unwrap_or_else(|| "GET".into());
    if steady::Method::from_bytes(method.as_bytes()).is_err() || method.is_empty() {
        return Err(format!("\"method\" '{method}' is not an HTTP method"));
    }
    for (name, value) in &raw.headers {
        if steady::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("header name '{name}' is not valid"));
        }
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(format!("the value of header {name} contains CR, LF or NUL"));
        }
    }
    let query = raw
        .query
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(format!(
                "query parameter '{k}' must be a string, number or boolean, not {other}"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if raw.json.is_some() && raw.body.is_some() {
        return Err("\"json\" and \"body\" cannot both be given".into());
    }
    let expect = match raw.expect {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("\"expect\" must be a string or a list of strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"expect\" must be a string or a list of strings".into()),
    };
    for e in &expect {
        steady::semantic::Expectation::parse(e).map_err(|err| format!("\"expect\" {err}"))?;
    }
    let timeout = match raw.timeout {
        None => None,
        Some(Value::String(s)) => {
            Some(steady::duration::parse_duration(&s).map_err(|e| format!("\"timeout\": {e}"))?)
        }
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| *s > 0.0 && *s < 1e7)
            .map(Duration::from_secs_f64)
            .map(Some)
            .ok_or("\"timeout\" must be a positive number of seconds")?,
        Some(other) => {
            return Err(format!(
                "\"timeout\" must be like \"5s\" or a number, not {other}"
            ))
        }
    };
    Ok(Some(Item {
        id,
        line,
        method,
        url,
        parsed_url: parsed,
        headers: raw.headers.into_iter().collect(),
        query,
        json: raw.json,
        body: raw.body,
        expect,
        timeout,
    }))
}

/// Reads an input line by line (never whole), keeping count of the lines.
pub struct Lines<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    /// Bytes read before the last line.
    start: u64,
    /// Bytes read so far.
    read: u64,
}

impl<R: BufRead> Lines<R> {
    /// Reads from `reader`, the first line being line 1.
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            line: 0,
            buf: Vec::with_capacity(1024),
            start: 0,
            read: 0,
        }
    }

    /// Where the last line read starts, in bytes from the start of the input: what
    /// [`read_line_at`] takes.
    pub fn offset(&self) -> u64 {
        self.start
    }

    /// The next line, parsed, with its number; `None` at the end.
    ///
    /// # Errors
    /// When the input cannot be read.
    #[allow(clippy::type_complexity)]
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Result<Option<Item>, String>)>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.start = self.read;
        self.read += n as u64;
        self.line += 1;
        let parsed = match std::str::from_utf8(&self.buf) {
            Ok(text) => parse_line(text, self.line),
            Err(_) => Err("not UTF-8".to_owned()),
        };
        Ok(Some((self.line, parsed)))
    }
}

/// The item on line `line`, which starts `offset` bytes into `file` ([`Lines::offset`]):
/// how a worker sharing a batch through PostgreSQL reads an item it claimed from its
/// own copy of the input.
///
/// # Errors
/// When the file cannot be read, or the line is not an item (the file changed).
pub fn read_line_at(
    file: &mut std::io::BufReader<std::fs::File>,
    offset: u64,
    line: u64,
) -> Result<Item, String> {
    use std::io::{Seek, SeekFrom};
    let mut buf = Vec::new();
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_until(b'\n', &mut buf))
        .map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&buf).map_err(|_| format!("line {line}: not UTF-8"))?;
    match parse_line(text, line) {
        Ok(Some(item)) => Ok(item),
        Ok(None) => Err(format!("line {line}: not an item")),
        Err(e) => Err(format!("line {line}: {e}")),
    }
}

/// Reads `reader` line by line (never whole), calling `each` for every line until it
/// returns false.
///
/// # Errors
/// When the input cannot be read.
pub fn for_each_line(
    reader: impl BufRead,
    mut each: impl FnMut(u64, Result<Option<Item>, String>) -> bool,
) -> std::io::Result<()> {
    let mut lines = Lines::new(reader);
    while let Some((line, parsed)) = lines.next_line()? {
        if !each(line, parsed) {
            break;
        }
    }
    Ok(())
}

/// Checks a whole input file: every line parses, ids are unique. Streams the file.
///
/// Duplicate ids are found with 64-bit hashes of the ids (8 bytes an item, so a
/// million-line input stays within a few megabytes).
///
/// # Errors
/// When the file cannot be read.
pub fn check(path: &Path) -> std::io::Result<Checked> {
    check_keeping(path, KEPT_LINES, KEPT_BYTES)
}

/// [`check`], keeping the lines of an input of at most `max_lines` lines and
/// `max_bytes` bytes.
fn check_keeping(path: &Path, max_lines: usize, max_bytes: u64) -> std::io::Result<Checked> {
    let file = std::fs::File::open(path)?;
    let keep = file.metadata()?.len() <= max_bytes;
    let mut hasher = Sha256::new();
    let reader = HashingReader {
        inner: std::io::BufReader::with_capacity(64 * 1024, file),
        hasher: &mut hasher,
    };
    let mut checked = Checked::default();
    let mut kept: Option<Vec<Line>> = keep.then(Vec::new);
    // One map for "seen" and "first on line": each id costs one entry (16 bytes, a
    // hash and a line number), which bounds a million-line check to about 32 MiB.
    let mut first_line: HashMap<u64, u64> = HashMap::new();
    let ids = IdHasher::default();
    for_each_line(std::io::BufReader::new(reader), |line, parsed| {
        let problem = match &parsed {
            Ok(None) => None,
            Ok(Some(item)) => match first_line.entry(ids.hash(&item.id)) {
                Entry::Vacant(slot) => {
                    slot.insert(line);
                    checked.items += 1;
                    None
                }
                Entry::Occupied(first) => Some(format!(
                    "duplicate id '{}' (first on line {})",
                    item.id,
                    first.get()
                )),
            },
            Err(message) => Some(message.clone()),
        };
        if let Some(message) = problem {
            checked.bad += 1;
            if checked.problems.len() < KEPT_PROBLEMS {
                checked.problems.push(Problem { line, message });
            }
        }
        if let Some(lines) = &mut kept {
            if lines.len() >= max_lines {
                kept = None;
            } else if let Some(parsed) = parsed.transpose() {
                // As parsed: with --skip-invalid the run records bad lines and finds
                // duplicates itself.
                lines.push((line, parsed));
            }
        }
        true
    })?;
    checked.lines = kept;
    checked.sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(checked)
}

/// A reader that hashes what passes through it.
struct HashingReader<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: std::io::Read> std::io::Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_line_and_the_defaults() {
        let item = parse_line(
            r#"{"id": 7, "method": "POST", "url": "http://a.test/x", "headers": {"X-A": "1"}, "query": {"n": 2, "f": true}, "json": {"k": "v"}, "expect": "$.ok == true", "timeout": "5s"}"#,
            3,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (item.id.as_str(), item.line, item.method.as_str()),
            ("7", 3, "POST")
        );
        assert_eq!(
            item.query,
            [
                ("f".to_owned(), "true".to_owned()),
                ("n".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(item.timeout, Some(Duration::from_secs(5)));
        let item = parse_line(r#"{"url": "http://a.test/"}"#, 9)
            .unwrap()
            .unwrap();
        assert_eq!((item.id.as_str(), item.method.as_str()), ("9", "GET"));
        assert_eq!(parse_line("  ", 1), Ok(None));
        assert_eq!(parse_line("# a comment", 1), Ok(None));
    }

    #[test]
    fn only_a_small_input_is_kept() {
        let path = std::env::temp_dir().join(format!("steady-keep-{}.jsonl", std::process::id()));
        std::fs::write(
            &path,
            "{\"url\": \"http://a.test/1\"}\n\n{\"url\": \"http://a.test/2\"}\nnot json\n",
        )
        .unwrap();
        let lines = |max_lines, max_bytes| {
            check_keeping(&path, max_lines, max_bytes)
                .unwrap()
                .lines
                .map(|l| l.iter().map(|(n, r)| (*n, r.is_ok())).collect::<Vec<_>>())
        };
        assert_eq!(
            lines(3, 1000),
            Some(vec![(1, true), (3, true), (4, false)]),
            "blank lines are not kept, bad ones are"
        );
        assert_eq!(lines(2, 1000), None, "too many lines");
        assert_eq!(lines(3, 10), None, "too many bytes");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, message) in [
            ("not json", "not JSON (expected ident at column 2)"),
            (r#"{"method": "GET"}"#, "\"url\" is missing"),
            (r#"{"url": "nope"}"#, "is not a URL"),
            (r#"{"url": "ftp://a.test/"}"#, "only http and https"),
            (
                r#"{"url": "http://a.test/", "method": "G E T"}"#,
                "is not an HTTP method",
            ),
            (
                r#"{"url": "http://a.test/", "json": 1, "body": "x"}"#,
                "cannot both",
            ),
            (
                r#"{"url": "http://a.test/", "expect": "$.a cnt 1"}"#,
                "unknown predicate",
            ),
            (
                r#"{"url": "http://a.test/", "timeout": "soon"}"#,
                "\"timeout\"",
            ),
            (
                r#"{"url": "http://a.test/", "headers": {"X": "a\r\nb"}}"#,
                "CR, LF or NUL",
            ),
            (
                r#"{"url": "http://a.test/", "id": {"a": 1}}"#,
                "\"id\" must be",
            ),
            (
                r#"{"url": "http://a.test/", "colour": "red"}"#,
                "unknown field `colour`",
            ),
        ] {
            let err = parse_line(line, 1).unwrap_err();
            assert!(err.contains(message), "{line}: {err}");
        }
    }
}
