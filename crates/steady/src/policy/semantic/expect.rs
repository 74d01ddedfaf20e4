//! Expectations on a JSON body: a JSONPath (RFC 9535) and a predicate.
//!
//! Grammar (`PATH PREDICATE`, whitespace between tokens):
//!
//! ```text
//! expectation := jsonpath predicate
//! predicate   := "exists" | "not-empty"
//!              | ("==" | "!=" | "<" | "<=" | ">" | ">=") json-literal
//!              | "matches" regex
//!              | "is" ("string" | "number" | "boolean" | "array" | "object" | "null")
//!              | "count" ("==" | "!=" | "<" | "<=" | ">" | ">=") integer
//! ```
//!
//! The path selects nodes. Every selected node must satisfy the predicate and at least
//! one node must be selected (except for `count`, which counts them: the nodes the path
//! selects, or the elements when it selects a single array). `< <= > >=` compare
//! numbers. The path is parsed by `serde_json_path`; the split between path and
//! predicate is the first place where both parse.

use std::fmt;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::{excerpt_value as shown, is_empty_value as is_empty};

/// A parsed expectation. See the [module docs](self) for the grammar.
///
/// ```
/// use steady::semantic::Expectation;
/// let e: Expectation = "$.items count > 0".parse().unwrap();
/// assert!(e.check(&serde_json::json!({"items": [1, 2]})).is_ok());
/// let why = e.check(&serde_json::json!({"items": []})).unwrap_err();
/// assert_eq!(why, "expected $.items count > 0, found 0 (at $['items'])");
/// ```
#[derive(Debug, Clone)]
pub struct Expectation {
    text: String,
    path: JsonPath,
    path_text: String,
    predicate: Predicate,
}

#[derive(Debug, Clone)]
enum Predicate {
    Exists,
    NotEmpty,
    Compare(Op, Value),
    Matches(Regex),
    Is(Kind),
    Count(Op, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Number,
    Boolean,
    Array,
    Object,
    Null,
}

impl std::str::FromStr for Expectation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Expectation::parse(text)
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Expectation {
    /// Parses `PATH PREDICATE`.
    ///
    /// # Errors
    /// A message that points at the offending character, e.g.
    /// `"$.items cnt > 0": unknown predicate at character 9 ('cnt')`.
    pub fn parse(text: &str) -> Result<Expectation, String> {
        let trimmed = text.trim();
        if !trimmed.starts_with('$') {
            return Err(format!(
                "'{trimmed}': an expectation starts with a JSONPath ($...) at character 1, e.g. '$.status == \"ok\"'"
            ));
        }
        // Candidate split points: every whitespace run, left to right.
        let mut last_path_error = None;
        let mut last_predicate_error = None;
        for (i, c) in trimmed.char_indices() {
            if !c.is_whitespace() || trimmed[..i].ends_with(char::is_whitespace) {
                continue;
            }
            let (path_text, rest) = trimmed.split_at(i);
            let rest = rest.trim_start();
            match JsonPath::parse(path_text) {
                Err(e) => last_path_error = Some((path_text.len(), e.to_string())),
                Ok(path) => match parse_predicate(rest, trimmed.len() - rest.len()) {
                    Ok(predicate) => {
                        return Ok(Expectation {
                            text: trimmed.to_owned(),
                            path,
                            path_text: path_text.to_owned(),
                            predicate,
                        })
                    }
                    Err(e) => last_predicate_error = Some(e),
                },
            }
        }
        if let Some(e) = last_predicate_error {
            return Err(format!("'{trimmed}': {e}"));
        }
        if let Err(e) = JsonPath::parse(trimmed) {
            let _ = last_path_error;
            return Err(format!("'{trimmed}': the JSONPath does not parse: {e}"));
        }
        Err(format!(
            "'{trimmed}': a predicate is missing at character {}: add exists, not-empty, == VALUE, matches REGEX, is TYPE or count > N",
            trimmed.chars().count() + 1
        ))
    }

    /// The text it was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks `body`; `Err` says what was expected, what was found and where.
    ///
    /// # Errors
    /// The failure message.
    pub fn check(&self, body: &Value) -> Result<(), String> {
        let located = self.path.query_located(body);
        let nodes: Vec<(String, &Value)> = located
            .iter()
            .map(|n| (n.location().to_string(), n.node()))
            .collect();
        let fail = |found: String| Err(format!("expected {}, {found}", self.text));
        if let Predicate::Count(op, n) = self.predicate {
            let (count, at) = match nodes.as_slice() {
                [(at, Value::Array(items))] => (items.len() as u64, format!(" (at {at})")),
                _ => (nodes.len() as u64, String::new()),
            };
            return if op.holds(count, n) {
                Ok(())
            } else {
                fail(format!("found {count}{at}"))
            };
        }
        if nodes.is_empty() {
            return fail(format!("but {} selects nothing", self.path_text));
        }
        for (at, node) in &nodes {
            let ok = match &self.predicate {
                Predicate::Exists => true,
                Predicate::NotEmpty => !is_empty(node),
                Predicate::Compare(op, expected) => match op {
                    Op::Eq => *node == expected,
                    Op::Ne => *node != expected,
                    _ => match (node.as_f64(), expected.as_f64()) {
                        (Some(a), Some(b)) => op.holds(a, b),
                        _ => return fail(format!("found {} (not a number) at {at}", shown(node))),
                    },
                },
                Predicate::Matches(re) => match node.as_str() {
                    Some(s) => re.is_match(s),
                    None => return fail(format!("found {} (not a string) at {at}", shown(node))),
                },
                Predicate::Is(kind) => kind.of(node),
                Predicate::Count(..) => unreachable!("handled above"),
            };
            if !ok {
                let extra = if nodes.len() > 1 {
                    format!(" ({} nodes selected)", nodes.len())
                } else {
                    String::new()
                };
                return fail(format!("found {} at {at}{extra}", shown(node)));
            }
        }
        Ok(())
    }
}

impl Op {
    fn parse(token: &str) -> Option<Op> {
        Some(match token {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }

    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

impl Kind {
    fn of(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Kind::String, Value::String(_))
                | (Kind::Number, Value::Number(_))
                | (Kind::Boolean, Value::Bool(_))
                | (Kind::Array, Value::Array(_))
                | (Kind::Object, Value::Object(_))
                | (Kind::Null, Value::Null)
        )
    }
}

/// Parses the predicate `text`, which starts at character `offset` of the whole
/// expectation (for error positions).
fn parse_predicate(text: &str, offset: usize) -> Result<Predicate, String> {
    let at = offset + 1;
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (text, ""),
    };
    let no_more = |p: Predicate| {
        if rest.is_empty() {
            Ok(p)
        } else {
            Err(format!(
                "unexpected '{rest}' after '{word}' at character {}",
                at + word.len() + 1
            ))
        }
    };
    if let Some(op) = Op::parse(word) {
        if rest.is_empty() {
            return Err(format!("'{word}' at character {at} needs a JSON value after it, e.g. {word} \"ok\" or {word} 3"));
        }
        let value: Value = serde_json::from_str(rest).map_err(|e| {
            format!(
                "'{rest}' at character {} is not a JSON value ({e}); strings need double quotes",
                at + word.len() + 1
            )
        })?;
        if !matches!(op, Op::Eq | Op::Ne) && !value.is_number() {
            return Err(format!(
                "'{word}' compares numbers; '{rest}' at character {} is not one",
                at + word.len() + 1
            ));
        }
        return Ok(Predicate::Compare(op, value));
    }
    match word {
        "exists" => no_more(Predicate::Exists),
        "not-empty" => no_more(Predicate::NotEmpty),
        "matches" => {
            if rest.is_empty() {
                return Err(format!("'matches' at character {at} needs a regular expression"));
            }
            let pattern = rest.trim_matches('/');
            Regex::new(pattern)
                .map(Predicate::Matches)
                .map_err(|e| format!("the regular expression at character {} does not compile: {e}", at + 8))
        }
        "is" => {
            let kind = match rest {
                "string" => Kind::String,
                "number" => Kind::Number,
                "boolean" | "bool" => Kind::Boolean,
                "array" => Kind::Array,
                "object" => Kind::Object,
                "null" => Kind::Null,
                other => {
                    return Err(format!(
                        "unknown type '{other}' at character {}: use string, number, boolean, array, object or null",
                        at + 3
                    ))
                }
            };
            Ok(Predicate::Is(kind))
        }
        "count" => {
            let (op, n) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let op = Op::parse(op).ok_or_else(|| {
                format!("'count' at character {at} needs an operator (== != < <= > >=) and a number, e.g. count > 0")
            })?;
            let n: u64 = n.trim().parse().map_err(|_| {
                format!("'{}' after 'count' is not a whole number (at character {})", n.trim(), at + 6)
            })?;
            Ok(Predicate::Count(op, n))
        }
        "" => Err(format!("a predicate is missing at character {at}")),
        other => Err(format!(
            "unknown predicate '{other}' at character {at}: use exists, not-empty, == != < <= > >= VALUE, matches REGEX, is TYPE or count OP N"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(expr: &str, body: Value) -> Result<(), String> {
        Expectation::parse(expr).unwrap().check(&body)
    }

    #[test]
    fn every_predicate() {
        let body = json!({
            "status": "ok", "count": 3, "items": [{"id": 1, "price": 9.5}, {"id": 2, "price": 12}],
            "name": "", "next": null, "tags": ["a"], "meta": {}
        });
        for ok in [
            "$.status exists",
            "$.status == \"ok\"",
            "$.count != 4",
            "$.count >= 3",
            "$.items[*].price > 9",
            "$.items[0].price < 10",
            "$.status matches ^o.$",
            "$.status is string",
            "$.next is null",
            "$.items is array",
            "$.items count == 2",
            "$.items[*] count >= 2",
            "$.tags not-empty",
            "$.missing count == 0",
            "$.items[?@.price > 10].id == 2",
        ] {
            assert_eq!(check(ok, body.clone()), Ok(()), "{ok}");
        }
        for (bad, message) in [
            (
                "$.status == \"fine\"",
                "expected $.status == \"fine\", found \"ok\" at $['status']",
            ),
            (
                "$.missing exists",
                "expected $.missing exists, but $.missing selects nothing",
            ),
            ("$.name not-empty", "found \"\" at $['name']"),
            ("$.meta not-empty", "found {} at $['meta']"),
            (
                "$.items[*].price < 10",
                "found 12 at $['items'][1]['price'] (2 nodes selected)",
            ),
            ("$.status > 1", "found \"ok\" (not a number) at $['status']"),
            ("$.count matches \\d", "found 3 (not a string)"),
            ("$.items count > 5", "found 2 (at $['items'])"),
            ("$.count is string", "found 3 at $['count']"),
        ] {
            let err = check(bad, body.clone()).unwrap_err();
            assert!(err.contains(message), "{bad}: {err}");
        }
    }

    #[test]
    fn large_values_are_cut_short_in_messages() {
        let long = "x".repeat(1000);
        let err = check("$.a == 1", json!({"a": long})).unwrap_err();
        assert!(err.len() < 250, "{err}");
        assert!(err.contains('…'));
    }

    #[test]
    fn malformed_expectations_point_at_the_problem() {
        for (expr, message) in [
            (
                "items count > 0",
                "starts with a JSONPath ($...) at character 1",
            ),
            ("$.items cnt > 0", "unknown predicate 'cnt' at character 9"),
            ("$.items", "a predicate is missing at character 8"),
            ("$.status == ok", "'ok' at character 13 is not a JSON value"),
            ("$.n > \"x\"", "'>' compares numbers"),
            (
                "$.n count > many",
                "'many' after 'count' is not a whole number",
            ),
            ("$.n is text", "unknown type 'text' at character 8"),
            ("$.s matches (", "does not compile"),
            ("$.items[ exists", "the JSONPath does not parse"),
        ] {
            let err = Expectation::parse(expr).unwrap_err();
            assert!(err.contains(message), "{expr}: {err}");
        }
    }
}
