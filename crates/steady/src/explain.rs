//! "What the server said": the message inside an error body.
//!
//! A `401` whose body says `{"error": "token expired"}` has told you exactly what to do;
//! a client that prints only "401 Unauthorized" has thrown that away. APIs spell their
//! errors in a handful of common shapes, recognised here in this order:
//!
//! - RFC 9457 problem details: `title` and `detail` (and `errors` / `invalid-params`);
//! - `message`;
//! - `error` as a string (with OAuth's `error_description`), an object
//!   (`error.message`, `error.detail`) or a list;
//! - `errors[]`: strings, or objects with `field` / `detail` / `message` (JSON:API,
//!   GraphQL with its `path`), or an object of field → messages (Rails);
//! - `detail`, `msg`, `error_message`, `description`, `reason`;
//!
//! and otherwise an HTML page's `<title>` or a short excerpt of the body.

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use serde_json::{Map, Value};

/// The longest message kept.
const MAX_MESSAGE: usize = 300;

/// The server's message in an error body, if it has one.
///
/// ```
/// use steady::explain::server_message;
/// let body = br#"{"errors":[{"field":"email","detail":"is invalid"},{"field":"age","detail":"must be positive"}]}"#;
/// assert_eq!(
///     server_message(body, Some("application/json")).as_deref(),
///     Some("email: is invalid; age: must be positive")
/// );
/// assert_eq!(server_message(b"<html><title>502 Bad Gateway</title>", Some("text/html")).as_deref(), Some("502 Bad Gateway"));
/// assert_eq!(
///     server_message(b"<html><body><h1>Internal error</h1><p>try later</p></body></html>", Some("text/html")).as_deref(),
///     Some("Internal error try later")
/// );
/// ```
pub fn server_message(body: &[u8], content_type: Option<&str>) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Some(truncate(&json_message(&value)));
    }
    let text = String::from_utf8_lossy(body);
    let is_html =
        content_type.is_some_and(|ct| ct.contains("html")) || text.trim_start().starts_with('<');
    if is_html {
        if let Some(title) = html_title(&text) {
            return Some(truncate(&title));
        }
        // No title: the page's words, not its markup (`<h1>Internal error</h1>`).
        let words = one_line(&strip_tags(&text));
        return (!words.is_empty()).then(|| truncate(&words));
    }
    Some(truncate(&one_line(&text)))
}

/// The text of HTML without its tags, scripts and styles (entities left as they are).
fn strip_tags(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if rest.starts_with("<script") || rest.starts_with("<style") {
            let close = if rest.starts_with("<script") {
                "</script>"
            } else {
                "</style>"
            };
            i = rest
                .find(close)
                .map_or(html.len(), |at| i + at + close.len());
            continue;
        }
        if rest.starts_with('<') {
            i = rest.find('>').map_or(html.len(), |at| i + at + 1);
            out.push(' ');
            continue;
        }
        let next = rest.find('<').map_or(html.len(), |at| i + at);
        out.push_str(&html[i..next]);
        i = next;
    }
    out
}

pub(crate) fn from_headers(body: &[u8], headers: &HeaderMap) -> Option<String> {
    server_message(
        body,
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
    )
}

fn json_message(value: &Value) -> String {
    match value {
        Value::Object(map) => object_message(map).unwrap_or_else(|| compact(value)),
        Value::String(s) => s.clone(),
        Value::Array(items) => list_message(items).unwrap_or_else(|| compact(value)),
        _ => compact(value),
    }
}

fn object_message(map: &Map<String, Value>) -> Option<String> {
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    // RFC 9457 problem details.
    if let Some(title) =
        text("title").filter(|_| map.contains_key("type") || text("detail").is_some())
    {
        let mut out = match text("detail") {
            // "Out of credit." + "Your balance is 30" reads as two sentences, not ".:".
            Some(detail) if detail != title && title.ends_with(['.', '!', '?']) => {
                format!("{title} {detail}")
            }
            Some(detail) if detail != title => format!("{title}: {detail}"),
            _ => title.to_owned(),
        };
        if let Some(list) = map
            .get("errors")
            .or_else(|| map.get("invalid-params"))
            .and_then(errors_message)
        {
            out = format!("{out} ({list})");
        }
        return Some(out);
    }
    if let Some(message) = text("message") {
        // `errors` beside the message, or Google's `details` (with `fieldViolations`).
        let list = map
            .get("errors")
            .or_else(|| map.get("details"))
            .and_then(errors_message);
        return Some(match list {
            Some(list) => format!("{message} ({list})"),
            None => message.to_owned(),
        });
    }
    if let Some(error) = map.get("error") {
        match error {
            Value::String(code) if !code.is_empty() => {
                return Some(match text("error_description") {
                    Some(description) => format!("{code}: {description}"),
                    None => code.clone(),
                });
            }
            Value::Object(inner) => {
                if let Some(found) = object_message(inner) {
                    return Some(found);
                }
            }
            Value::Array(items) => {
                if let Some(found) = list_message(items) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    if let Some(found) = map.get("errors").and_then(errors_message) {
        return Some(found);
    }
    // FastAPI / pydantic: `detail` is a list of `{loc, msg}`.
    if let Some(found) = map
        .get("detail")
        .and_then(Value::as_array)
        .and_then(|l| list_message(l))
    {
        return Some(found);
    }
    [
        "detail",
        "msg",
        "error_message",
        "description",
        "reason",
        "title",
    ]
    .into_iter()
    .find_map(|key| text(key).map(str::to_owned))
}

/// `errors` as a list or as an object of field → messages.
fn errors_message(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => list_message(items),
        Value::Object(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(field, messages)| match messages {
                    Value::Array(list) => format!(
                        "{field}: {}",
                        list.iter().map(scalar).collect::<Vec<_>>().join(", ")
                    ),
                    other => format!("{field}: {}", scalar(other)),
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn list_message(items: &[Value]) -> Option<String> {
    let parts: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(map) => item_message(map),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One entry of an error list: `field: detail`, GraphQL's `message (at path)`, a bare
/// `field` + `code` (GitHub), an RFC 9457 `pointer`, or Google's `fieldViolations`.
fn item_message(map: &Map<String, Value>) -> Option<String> {
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(violations) = map
        .get("fieldViolations")
        .or_else(|| map.get("field_violations"))
        .and_then(Value::as_array)
    {
        return list_message(violations);
    }
    let detail = text("detail")
        .or_else(|| text("message"))
        .or_else(|| text("reason"))
        .or_else(|| text("title"))
        .or_else(|| text("msg"))
        .or_else(|| text("description"))
        .or_else(|| text("code"))?;
    let field = text("field")
        .or_else(|| text("name"))
        .or_else(|| text("param"))
        .or_else(|| text("pointer"))
        .or_else(|| {
            map.get("source")
                .and_then(|s| s.get("pointer"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
        .or_else(|| {
            map.get("path")
                .and_then(Value::as_array)
                .map(|p| p.iter().map(scalar).collect::<Vec<_>>().join("."))
        })
        .or_else(|| {
            map.get("loc")
                .and_then(Value::as_array)
                .map(|p| p.iter().map(scalar).collect::<Vec<_>>().join("."))
        });
    Some(match field {
        Some(field) if !field.is_empty() => format!("{field}: {detail}"),
        _ => detail.to_owned(),
    })
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

fn compact(value: &Value) -> String {
    value.to_string()
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower[start..].find('>')? + start + 1;
    let close = lower[open_end..].find("</title")? + open_end;
    let title = one_line(&text[open_end..close]);
    (!title.is_empty()).then_some(title)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_MESSAGE {
        return clean;
    }
    let mut out: String = clean.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> Option<String> {
        server_message(body.as_bytes(), Some("application/json"))
    }

    #[test]
    fn common_json_error_shapes() {
        let cases = [
            (r#"{"message":"token expired"}"#, "token expired"),
            (r#"{"error":"token expired"}"#, "token expired"),
            (
                r#"{"error":{"code":401,"message":"token expired"}}"#,
                "token expired",
            ),
            (
                r#"{"error":"invalid_grant","error_description":"code expired"}"#,
                "invalid_grant: code expired",
            ),
            (
                r#"{"type":"about:blank","title":"Out of credit","detail":"Your balance is 30"}"#,
                "Out of credit: Your balance is 30",
            ),
            (
                r#"{"errors":[{"message":"Cannot query field","path":["user","nme"]}],"data":null}"#,
                "user.nme: Cannot query field",
            ),
            (
                r#"{"errors":{"email":["is invalid","is taken"]}}"#,
                "email: is invalid, is taken",
            ),
            (r#"{"detail":"Not found."}"#, "Not found."),
            (
                r#"{"detail":[{"loc":["body","age"],"msg":"field required"}]}"#,
                "body.age: field required",
            ),
            (
                r#"{"message":"Validation Failed","errors":[{"field":"name","message":"missing"}]}"#,
                "Validation Failed (name: missing)",
            ),
            (
                r#"{"errors":[{"source":{"pointer":"/data/name"},"detail":"blank"}]}"#,
                "/data/name: blank",
            ),
            (r#"{"status":"down"}"#, r#"{"status":"down"}"#),
            (
                r#"{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field"},{"field":"labels","code":"invalid"}]}"#,
                "Validation Failed (title: missing_field; labels: invalid)",
            ),
            (
                r#"{"error":{"code":400,"message":"Invalid argument","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"name","description":"must not be empty"},{"field":"age","description":"must be positive"}]}]}}"#,
                "Invalid argument (name: must not be empty; age: must be positive)",
            ),
            (
                r##"{"type":"https://example.net/validation-error","title":"Your request is not valid.","errors":[{"detail":"must be a positive integer","pointer":"#/age"},{"detail":"must be 'green', 'red' or 'blue'","pointer":"#/profile/color"}]}"##,
                "Your request is not valid. (#/age: must be a positive integer; #/profile/color: must be 'green', 'red' or 'blue')",
            ),
            (
                r#"{"title":"Bad Request","type":"about:blank","invalid-params":[{"name":"age","reason":"must be a positive integer"}]}"#,
                "Bad Request (age: must be a positive integer)",
            ),
            (
                r#"{"type":"about:blank","title":"Out of credit.","detail":"Your balance is 30."}"#,
                "Out of credit. Your balance is 30.",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(msg(body).as_deref(), Some(want), "{body}");
        }
    }

    #[test]
    fn text_bodies_become_a_short_single_line() {
        assert_eq!(server_message(b"", None), None);
        assert_eq!(
            server_message(b"upstream\n  timed out\r\n", Some("text/plain")).as_deref(),
            Some("upstream timed out")
        );
        let long = "x".repeat(1000);
        let got = server_message(long.as_bytes(), None).unwrap();
        assert_eq!(got.chars().count(), MAX_MESSAGE + 1);
    }
}
