//! The semantic layer against a real server: error-in-2xx, expectations, expected
//! statuses and types, validators, polling.

mod support;

#[cfg(feature = "jsonpath")]
use std::time::Duration;

#[cfg(feature = "jsonpath")]
use steady::Retry;
use steady::{ErrorKind, Layer};
use steady_chaos::{Reply, ScriptServer};
use support::client;
#[cfg(feature = "jsonpath")]
use support::fast;

fn one(body: &str) -> ScriptServer {
    ScriptServer::builder()
        .route("/x", [Reply::json(200, body)])
        .start()
}

#[tokio::test]
async fn an_error_in_a_200_is_a_semantic_failure_with_the_message() {
    let server = one(r#"{"error": "quota exceeded", "data": null}"#);
    let err = client().get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Semantic, ErrorKind::ErrorInBody)
    );
    assert_eq!(err.server_message(), Some("quota exceeded"));
    assert_eq!(err.status().unwrap(), 200);
    assert_eq!(server.hits("/x"), 1, "not retried");
    let resp = client()
        .get(server.url("/x"))
        .allow_error_body()
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn ok_false_and_graphql_partial_data_are_failures() {
    let server = one(r#"{"ok": false, "error": "invalid_auth"}"#);
    let err = client().get(server.url("/x")).send().await.unwrap_err();
    assert!(err.what().contains("invalid_auth"), "{}", err.what());
    let server =
        one(r#"{"data": {"user": null}, "errors": [{"message": "forbidden", "path": ["user"]}]}"#);
    let err = client()
        .post(server.url("/x"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.what()
            .contains("GraphQL errors next to partial data: user: forbidden"),
        "{}",
        err.what()
    );
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn expectations_over_a_large_nested_body() {
    let items: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"id": i, "tags": ["a", "b"], "owner": {"name": format!("user{i}"), "active": i % 2 == 0}}))
        .collect();
    let body = serde_json::json!({"page": {"items": items, "total": 20_000}}).to_string();
    assert!(body.len() > 1_000_000);
    let server = one(&body);
    let ok = client()
        .get(server.url("/x"))
        .expect("$.page.total == 20000")
        .expect("$.page.items count == 20000")
        .expect("$.page.items[19999].owner.name == \"user19999\"")
        .expect("$.page.items[*].tags is array")
        .send()
        .await;
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.to_string()));
    let err = client()
        .get(server.url("/x"))
        .expect("$.page.items[*].owner.active == true")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpectationFailed);
    let what = err.what();
    assert!(
        what.contains(
            "found false at $['page']['items'][1]['owner']['active'] (20000 nodes selected)"
        ),
        "{what}"
    );
    assert_eq!(
        err.server_message(),
        None,
        "the message already shows what was found"
    );
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn a_malformed_expectation_is_a_usage_error_before_sending() {
    let server = one("{}");
    let err = client()
        .get(server.url("/x"))
        .expect("$.items cnt > 0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Usage);
    assert!(
        err.to_string()
            .contains("unknown predicate 'cnt' at character 9"),
        "{err}"
    );
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn expected_statuses_and_types() {
    let server = ScriptServer::builder()
        .route("/gone", [Reply::status(404)])
        .route("/created", [Reply::json(201, "{}")])
        .route(
            "/page",
            [Reply::text("<html></html>").header("Content-Type", "text/html")],
        )
        .start();
    let resp = client()
        .delete(server.url("/gone"))
        .expect_status(&[404, 410])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        404,
        "a listed 404 is a success, its error body included"
    );
    let err = client()
        .post(server.url("/created"))
        .expect_status(&[200])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedStatus);
    assert!(
        err.what()
            .contains("the status 201 is not one of the expected 200"),
        "{}",
        err.what()
    );
    let err = client()
        .get(server.url("/page"))
        .expect_type("json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedType);
    assert!(
        err.what()
            .contains("the content type is text/html, not json"),
        "{}",
        err.what()
    );
    client()
        .get(server.url("/page"))
        .expect_type("html")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_validator_marks_a_response_bad() {
    let server = one(r#"{"rows": 0}"#);
    let err = client()
        .get(server.url("/x"))
        .validate(|r| {
            let v: serde_json::Value =
                serde_json::from_slice(r.body().unwrap()).map_err(|e| e.to_string())?;
            if v["rows"] == 0 {
                Err("the export is empty".into())
            } else {
                Ok(())
            }
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.what().contains("the export is empty")),
        (ErrorKind::Validator, true)
    );
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn until_polls_with_the_backoff_until_the_job_is_done() {
    let server = ScriptServer::builder()
        .route(
            "/job",
            [
                Reply::json(200, r#"{"state": "queued"}"#),
                Reply::json(200, r#"{"state": "running"}"#),
                Reply::json(200, r#"{"state": "done", "result": 42}"#),
            ],
        )
        .start();
    let (builder, clock) = fast();
    let client = builder
        .retry(
            Retry::exponential()
                .max_retries(10)
                .jitter(steady::Jitter::None),
        )
        .build()
        .unwrap();
    let resp = client
        .get(server.url("/job"))
        .until("$.state == \"done\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<serde_json::Value>().unwrap()["result"], 42);
    assert_eq!(server.hits("/job"), 3);
    assert_eq!(clock.slept(), Duration::from_secs(3), "backoff 1s then 2s");
    assert!(resp.attempt_log()[0]
        .note()
        .unwrap()
        .starts_with("not yet: expected $.state == \"done\", found \"queued\""));
}

#[cfg(feature = "jsonpath")]
#[tokio::test]
async fn polling_that_never_succeeds_ends_with_the_deadline_as_a_semantic_failure() {
    let server = one(r#"{"state": "running"}"#);
    let (builder, _) = fast();
    let client = builder
        .deadline(Duration::from_secs(10))
        .retry(
            Retry::exponential()
                .max_retries(100)
                .jitter(steady::Jitter::None),
        )
        .no_retry_budget()
        .build()
        .unwrap();
    let err = client
        .get(server.url("/x"))
        .until("$.state == \"done\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.layer(), err.kind()),
        (Layer::Semantic, ErrorKind::Until)
    );
    assert!(matches!(
        err.stop_reason(),
        Some(steady::StopReason::BackoffPastDeadline { .. })
    ));
    assert_eq!(server.hits("/x"), 4);
}
