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

use serde_json::{Map, Value};

use super::{excerpt_value as excerpt, is_empty_value as is_empty};

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
    if map
        .get("error")
        .is_some_and(|e| !is_empty(e) && *e != Value::Bool(false))
    {
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
