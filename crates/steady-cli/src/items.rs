//! Request items after the URL, in the syntax of HTTPie and xh.
//!
//! Hand-written: the grammar is five separators and a backslash escape, and no crate
//! parses HTTPie's items on their own.
//!
//! | item | meaning |
//! |---|---|
//! | `Name:Value` | header (`Name:` removes one steady would send; `Name;` sends it empty) |
//! | `name==value` | query parameter |
//! | `name=value` | JSON string field |
//! | `name:=json` | raw JSON field |
//! | `name@path` | file field (a multipart upload) |
//! | `@path`, `@-`, `-` | body from a file or standard input |
//!
//! The separator is the earliest one in the item (the longest at that position), so
//! `q==a:b` is a query parameter and `X-Url:http://x` a header. `\` escapes the next
//! character.

use std::path::PathBuf;

use serde_json::Value;

/// One parsed request item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `Name:Value`; `Name:` (nothing after) removes the header.
    Header(String, String),
    /// `Name;`: the header, sent empty.
    EmptyHeader(String),
    Query(String, String),
    Field(String, Value),
    FileField(String, PathBuf),
    BodyFile(PathBuf),
    BodyStdin,
}

/// Parses one item; the error names the item and what is wrong with it.
pub fn parse(item: &str) -> Result<Item, String> {
    if item == "-" || item == "@-" {
        return Ok(Item::BodyStdin);
    }
    if let Some(path) = item.strip_prefix('@') {
        if path.is_empty() {
            return Err("request item '@' needs a file path (or @- for standard input)".into());
        }
        return Ok(Item::BodyFile(PathBuf::from(path)));
    }
    if let Some(name) = item.strip_suffix(';') {
        if !name.is_empty() && !name.contains([':', '=', '@']) && reqwest_header_name_ok(name) {
            return Ok(Item::EmptyHeader(name.to_owned()));
        }
    }
    let chars: Vec<char> = item.chars().collect();
    let mut name = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            name.push(chars[i + 1]);
            i += 2;
            continue;
        }
        let rest: String = chars[i..].iter().collect();
        let (sep, len) = if rest.starts_with("==") {
            ("==", 2)
        } else if rest.starts_with(":=") {
            (":=", 2)
        } else if c == '=' {
            ("=", 1)
        } else if c == ':' {
            (":", 1)
        } else if c == '@' {
            ("@", 1)
        } else {
            name.push(c);
            i += 1;
            continue;
        };
        let value = unescape(&chars[i + len..]);
        if name.is_empty() {
            return Err(format!(
                "request item '{item}' has nothing before '{sep}' (at character {}): expected Name:Value, name==value, name=value or name:=json",
                i + 1
            ));
        }
        return match sep {
            "==" => Ok(Item::Query(name, value)),
            "=" => Ok(Item::Field(name, Value::String(value))),
            "@" if value.is_empty() => Err(format!(
                "request item '{item}': a file field needs a path after '@' (name@path)"
            )),
            "@" => Ok(Item::FileField(name, PathBuf::from(value))),
            ":=" => serde_json::from_str(&value)
                .map(|v| Item::Field(name.clone(), v))
                .map_err(|e| {
                    format!("request item '{item}': the value after ':=' is not valid JSON ({e})")
                }),
            _ => {
                if reqwest_header_name_ok(&name) {
                    Ok(Item::Header(name, value.trim().to_owned()))
                } else {
                    Err(format!(
                        "request item '{item}': '{name}' is not a valid header name"
                    ))
                }
            }
        };
    }
    Err(format!(
        "request item '{item}' has no separator: expected Name:Value (header), name==value (query), name=value (JSON string), name:=json (raw JSON), name@file (file field) or @file (body)"
    ))
}

fn unescape(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() && matches!(chars[i + 1], ':' | '=' | '@' | '\\')
        {
            out.push(chars[i + 1]);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn reqwest_header_name_ok(name: &str) -> bool {
    steady::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_of_item() {
        let cases = [
            (
                "Accept:application/json",
                Item::Header("Accept".into(), "application/json".into()),
            ),
            (
                "X-Url:http://a:1/b",
                Item::Header("X-Url".into(), "http://a:1/b".into()),
            ),
            ("q==rust lang", Item::Query("q".into(), "rust lang".into())),
            ("q==a:b=c", Item::Query("q".into(), "a:b=c".into())),
            ("name=Ada", Item::Field("name".into(), json!("Ada"))),
            ("age:=36", Item::Field("age".into(), json!(36))),
            (
                "tags:=[\"a\",1]",
                Item::Field("tags".into(), json!(["a", 1])),
            ),
            ("empty=", Item::Field("empty".into(), json!(""))),
            ("a\\:b=c", Item::Field("a:b".into(), json!("c"))),
            ("k=v\\=w", Item::Field("k".into(), json!("v=w"))),
            ("@body.json", Item::BodyFile("body.json".into())),
            ("@-", Item::BodyStdin),
            (
                "photo@beach.jpg",
                Item::FileField("photo".into(), "beach.jpg".into()),
            ),
            (
                "email=ada@example.org",
                Item::Field("email".into(), json!("ada@example.org")),
            ),
            ("a\\@b=c", Item::Field("a@b".into(), json!("c"))),
            ("-", Item::BodyStdin),
            ("X-Empty;", Item::EmptyHeader("X-Empty".into())),
            (
                "User-Agent:",
                Item::Header("User-Agent".into(), String::new()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_items_say_what_is_wrong() {
        assert!(parse("novalue").unwrap_err().contains("no separator"));
        assert!(parse("=x").unwrap_err().contains("nothing before '='"));
        assert!(parse("n:={bad").unwrap_err().contains("not valid JSON"));
        assert!(parse("Bad Header:x")
            .unwrap_err()
            .contains("not a valid header name"));
        assert!(parse("@").unwrap_err().contains("needs a file path"));
        assert!(parse("photo@")
            .unwrap_err()
            .contains("needs a path after '@'"));
    }
}
