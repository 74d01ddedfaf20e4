//! The `Content-Type` of a body that came without one: from a file's extension, or
//! from what the bytes are.
//!
//! Why: a body sent without a type is read by many servers as nothing at all.
//! json-server, Express's `json()` and Rails' params parser ignore a JSON body
//! labelled `application/octet-stream` or unlabelled, and answer `201 Created` for a
//! record with no fields: data lost with a success code. curl sends `-d @file` as a
//! form, HTTPie guesses from the file name; steady guesses from the name and, for a
//! name that says nothing (or standard input), from the bytes.
//!
//! ```
//! use std::path::Path;
//! use steady::content_type::{guess, guess_bytes};
//!
//! assert_eq!(guess(Some(Path::new("note.json")), b"{}"), "application/json");
//! assert_eq!(guess(Some(Path::new("rows.csv")), b"a,b\n1,2\n"), "text/csv");
//! assert_eq!(guess(None, br#"{"title": "x"}"#), "application/json");
//! assert_eq!(guess_bytes(b"{\"a\":1}\n{\"a\":2}\n"), "application/x-ndjson");
//! assert_eq!(guess_bytes(b"plain words"), "text/plain; charset=utf-8");
//! assert_eq!(guess_bytes(&[0, 159, 146, 150]), "application/octet-stream");
//! ```

use std::path::Path;

/// The type that a file's extension says, when it says one.
pub fn from_extension(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" | "geojson" => "application/json",
        "ndjson" | "jsonl" => "application/x-ndjson",
        "xml" => "application/xml",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "graphql" | "gql" => "application/graphql",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "bin" => "application/octet-stream",
        _ => return None,
    })
}

/// The type of bytes with no name to go by: JSON (an object or an array),
/// newline-delimited JSON (two or more lines, each an object or array), UTF-8 text,
/// or `application/octet-stream`.
pub fn guess_bytes(bytes: &[u8]) -> &'static str {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return "application/octet-stream";
    };
    if text.contains('\0') {
        return "application/octet-stream";
    }
    let trimmed = text.trim();
    if trimmed.starts_with(['{', '[']) {
        if serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok() {
            return "application/json";
        }
        let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty()).peekable();
        let mut count = 0;
        let json_lines = lines.peek().is_some()
            && lines.all(|line| {
                count += 1;
                let line = line.trim();
                line.starts_with(['{', '['])
                    && serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok()
            });
        if json_lines && count >= 2 {
            return "application/x-ndjson";
        }
    }
    "text/plain; charset=utf-8"
}

/// The type for a body read from `path` (or standard input, `None`): the extension's,
/// else what the bytes are.
pub fn guess(path: Option<&Path>, bytes: &[u8]) -> &'static str {
    path.and_then(from_extension)
        .unwrap_or_else(|| guess_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_then_bytes() {
        let cases: [(&str, &[u8], &str); 8] = [
            ("doc.json", b"not even json", "application/json"),
            ("DOC.JSON", b"{}", "application/json"),
            ("a.xml", b"<a/>", "application/xml"),
            ("a.csv", b"a,b", "text/csv"),
            (
                "a.txt",
                b"{\"looks\": \"json\"}",
                "text/plain; charset=utf-8",
            ),
            ("a.html", b"<p>", "text/html; charset=utf-8"),
            ("noext", b"[1, 2]", "application/json"),
            ("a.unknown", b"\xff\xfe", "application/octet-stream"),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(guess(Some(Path::new(name)), bytes), want, "{name}");
        }
    }

    #[test]
    fn bytes_alone() {
        assert_eq!(guess_bytes(b"  {\"a\": 1}\n"), "application/json");
        assert_eq!(
            guess_bytes(b"{\"a\": 1}\n\n{\"a\": 2}"),
            "application/x-ndjson"
        );
        assert_eq!(guess_bytes(b"{broken"), "text/plain; charset=utf-8");
        assert_eq!(guess_bytes(b"42"), "text/plain; charset=utf-8");
        assert_eq!(guess_bytes(b""), "text/plain; charset=utf-8");
        assert_eq!(guess_bytes(b"a\0b"), "application/octet-stream");
    }
}
