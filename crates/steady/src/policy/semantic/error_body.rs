//! Error-in-2xx detection: a `200` whose body says it failed.
//!
//! Many APIs answer `200 OK` and put the failure in the body: `{"error": "quota
//! exceeded"}`, `{"ok": false, "error": "invalid_auth"}` (Slack), `{"success": false}`,
//! or GraphQL's `{"errors": [...], "data": null}`. A client that checks only the status
//! acts on the error as if it were data. steady treats a 2xx JSON body whose top-level
//! object has a non-empty `error` or `errors` member, or `"ok": false` or
//! `"success": false`, as a semantic failure carrying the body's message. GraphQL
//! `errors` next to partial `data` is a failure too (the data is incomplete), reported
//! with both. On by default; `allow_error_body` turns it off for APIs whose `error`
//! member means something else.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{excerpt_value as excerpt, is_empty_value as is_empty};

/// Checks that `body` is JSON and, with `read_errors`, whether it reports an error,
/// without building it: the whole body is parsed (and so validated) once, but only the
/// top-level members the check reads are kept. Returns the whole body, parsed, when it
/// does report an error (the message quotes the rest of it), `None` when it does not:
/// the common case costs no tree of the body.
///
/// # Errors
/// The body is not JSON (or not UTF-8).
pub(crate) fn probe(body: &[u8], read_errors: bool) -> Result<Option<Value>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    // A byte-order mark some servers put first is not part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !read_errors {
        return serde_json::from_str::<IgnoredAny>(text)
            .map(|_| None)
            .map_err(|e| e.to_string());
    }
    let top: Top = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(members) = top.0 else {
        return Ok(None);
    };
    if error_in_body(&Value::Object(members)).is_none() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The top-level members that [`error_in_body`] reads (`data` only as null or not);
/// `None` for a body that is not an object.
struct Top(Option<Map<String, Value>>);

/// A top-level member's name, as far as the check cares.
enum Key {
    Read(&'static str),
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "error" => Key::Read("error"),
                    "errors" => Key::Read("errors"),
                    "ok" => Key::Read("ok"),
                    "success" => Key::Read("success"),
                    "data" => Key::Data,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(Name)
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Top, D::Error> {
        struct Body;
        impl<'de> Visitor<'de> for Body {
            type Value = Top;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
                let mut kept = Map::new();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Read(name) => {
                            kept.insert(name.to_owned(), map.next_value::<Value>()?);
                        }
                        Key::Data => {
                            let data = map.next_value::<Option<IgnoredAny>>()?;
                            let data = if data.is_some() {
                                Value::Bool(true)
                            } else {
                                Value::Null
                            };
                            kept.insert("data".to_owned(), data);
                        }
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Top(Some(kept)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Top(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Top, E> {
                Ok(Top(None))
            }
            fn visit_unit<E>(self) -> Result<Top, E> {
                Ok(Top(None))
            }
        }
        d.deserialize_any(Body)
    }
}

/// Why a 2xx JSON body reads as a failure, if it does.
pub(crate) fn error_in_body(body: &Value) -> Option<String> {
    let Value::Object(map) = body else {
        return None;
    };
    let message =
        || crate::explain::server_message(body.to_string().as_bytes(), Some("application/json"));
    if let Some(errors) = map.get("errors").filter(|e| !is_empty(e)) {
        if let Some(data) = map.get("data").filter(|d| !d.is_null()) {
            return Some(format!(
                "the body carries GraphQL errors next to partial data: {}; partial data: {}",
                crate::explain::server_message(
                    serde_json::json!({ "errors": errors })
                        .to_string()
                        .as_bytes(),
                    Some("application/json")
                )
                .unwrap_or_default(),
                excerpt(data)
            ));
        }
        return Some(format!(
            "the body reports errors: {}",
            message().unwrap_or_default()
        ));
    }
    if map.get("error").is_some_and(|e| !says_no_error(e)) {
        return Some(format!(
            "the body reports an error: {}",
            message().unwrap_or_default()
        ));
    }
    for flag in ["ok", "success"] {
        if map.get(flag) == Some(&Value::Bool(false)) {
            let detail = detail(map).unwrap_or_else(|| excerpt(body));
            return Some(format!("the body says \"{flag}\": false: {detail}"));
        }
    }
    None
}

/// An `error` member that says there is none: empty, `false`, `0`, or a word for
/// nothing (`"none"`, `"ok"`, `"0"`), as APIs that always carry the member write it.
fn says_no_error(e: &Value) -> bool {
    match e {
        Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "none" | "ok" | "0" | "false" | "null" | "no" | "success"
        ),
        other => is_empty(other),
    }
}

fn detail(map: &Map<String, Value>) -> Option<String> {
    let copy: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| *k != "ok" && *k != "success")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if copy.is_empty() {
        return None;
    }
    crate::explain::server_message(
        Value::Object(copy).to_string().as_bytes(),
        Some("application/json"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_probe_agrees_with_a_full_parse_and_builds_only_error_bodies() {
        for body in [
            r#"{"id": 1, "name": "anvil", "tags": ["a", {"error": "nested, not top-level"}]}"#,
            r#"{"error": "quota exceeded", "code": 429}"#,
            r#"{"ok": false, "error": "invalid_auth"}"#,
            r#"{"success": false, "detail": {"why": "no"}}"#,
            r#"{"errors": [{"message": "boom"}], "data": {"user": null}}"#,
            r#"{"errors": [], "data": null}"#,
            r#"{"error": false, "ok": true}"#,
            r#"{"error": 0, "data": [1, 2]}"#,
            r#"{"status": "ok", "error": "none"}"#,
            r#"{"error": "", "items": []}"#,
            r#"[{"error": "in an array"}]"#,
            r#""a string""#,
            "42",
            "null",
        ] {
            let full: Value = serde_json::from_str(body).unwrap();
            let expected = error_in_body(&full).map(|_| full.clone());
            assert_eq!(probe(body.as_bytes(), true).unwrap(), expected, "{body}");
            assert_eq!(probe(body.as_bytes(), false).unwrap(), None, "{body}");
        }
    }

    #[test]
    fn an_error_member_that_says_none_is_no_error_and_a_bom_is_not_json() {
        for body in [
            json!({"error": 0, "data": [1, 2]}),
            json!({"status": "ok", "error": "none"}),
            json!({"error": "", "items": []}),
            json!({"error": "OK"}),
            json!({"error": null}),
        ] {
            assert_eq!(error_in_body(&body), None, "{body}");
        }
        assert!(error_in_body(&json!({"error": 1})).is_some());
        assert!(error_in_body(&json!({"error": "none left in stock"})).is_some());
        assert_eq!(probe("\u{feff}{\"id\": 1}".as_bytes(), true), Ok(None));
    }

    #[test]
    fn the_probe_rejects_what_a_full_parse_rejects() {
        for body in [
            &b"{\"a\": 1,}"[..],
            b"{\"a\": 1} trailing",
            b"{\"skipped\": \"\xff\"}",
            b"{\"a\": [1, 2}",
            b"",
        ] {
            assert!(serde_json::from_slice::<Value>(body).is_err());
            assert!(probe(body, true).is_err(), "{body:?}");
            assert!(probe(body, false).is_err(), "{body:?}");
        }
    }

    #[test]
    fn error_shapes_in_a_200() {
        let cases = [
            (
                json!({"error": "quota exceeded"}),
                "the body reports an error: quota exceeded",
            ),
            (
                json!({"error": {"message": "bad key"}}),
                "the body reports an error: bad key",
            ),
            (
                json!({"errors": [{"message": "not found"}]}),
                "the body reports errors: not found",
            ),
            (
                json!({"ok": false, "error": "invalid_auth"}),
                "the body reports an error: invalid_auth",
            ),
            (
                json!({"success": false, "message": "try later"}),
                "the body says \"success\": false: try later",
            ),
            (
                json!({"ok": false}),
                "the body says \"ok\": false: {\"ok\":false}",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(error_in_body(&body).as_deref(), Some(want), "{body}");
        }
    }

    #[test]
    fn graphql_partial_data_is_a_failure_with_both() {
        let body = json!({"data": {"user": {"name": "Ada", "email": null}}, "errors": [{"message": "email hidden", "path": ["user", "email"]}]});
        let got = error_in_body(&body).unwrap();
        assert!(got.contains("user.email: email hidden"), "{got}");
        assert!(
            got.contains(r#"partial data: {"user":{"email":null,"name":"Ada"}}"#),
            "{got}"
        );
    }

    #[test]
    fn ordinary_bodies_pass() {
        for body in [
            json!({"error": null, "items": []}),
            json!({"errors": []}),
            json!({"error": ""}),
            json!({"error": false}),
            json!({"ok": true}),
            json!([{"error": "inside an array is data"}]),
            json!({"items": [{"error": "nested is data"}]}),
        ] {
            assert_eq!(error_in_body(&body), None, "{body}");
        }
    }
}
