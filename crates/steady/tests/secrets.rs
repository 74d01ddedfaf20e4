//! Credentials never show up in errors, explanations, reports or logs.

mod support;

use steady::{Layer, Secret};
use steady_chaos::{Reply, ScriptServer};
use support::client;

const TOKEN: &str = "tok_live_8c1f2e";

#[tokio::test]
async fn a_credential_with_a_line_break_is_refused_before_sending() {
    let server = ScriptServer::builder().start();
    for bad in ["abc\r\nX-Evil: 1", "abc\n", "a\0b"] {
        let err = client()
            .get(server.url("/x"))
            .bearer_auth(Secret::new(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.layer(), Layer::Usage);
        assert!(err.to_string().contains("CR, LF or NUL"), "{err}");
        assert!(
            !err.to_string().contains("abc"),
            "the value is never shown: {err}"
        );
        let err = client()
            .get(server.url("/x"))
            .secret_header("X-Api-Key", Secret::new(bad))
            .send()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("X-Api-Key"), "{err}");
    }
    assert_eq!(server.total_hits(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_server_echoing_the_token_has_it_scrubbed_everywhere() {
    let server = ScriptServer::builder()
        .route_fn("/me", |request| {
            let auth = request.header("authorization").unwrap_or("").to_owned();
            Reply::json(401, format!(r#"{{"message":"token expired: {auth}"}}"#))
        })
        .start();
    let err = client()
        .get(server.url("/me?api_key=k-998877&page=2"))
        .bearer_auth(Secret::new(TOKEN))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(err.server_message(), Some("token expired: Bearer ****"));
    let report = steady::report::outcome_json(Err(&err)).to_string();
    let texts = [err.to_string(), format!("{err:?}"), err.explain(), report];
    for text in &texts {
        assert!(!text.contains(TOKEN), "leaked in {text}");
        assert!(!text.contains("k-998877"), "query key leaked in {text}");
    }
    assert!(texts[0].contains("api_key=****&page=2"), "{}", texts[0]);
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_printed() {
    let server = ScriptServer::builder()
        .route_fn("/x", |r| {
            Reply::json(
                500,
                format!(
                    r#"{{"error":"saw {}"}}"#,
                    r.header("authorization").unwrap_or("")
                ),
            )
        })
        .start();
    let err = client()
        .get(server.url("/x"))
        .basic_auth("alice", Secret::new("hunter22"))
        .send()
        .await
        .unwrap_err();
    // base64("alice:hunter22")
    let encoded = "YWxpY2U6aHVudGVyMjI=";
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(&*format!("Basic {encoded}"))
    );
    let all = format!(
        "{} {err:?} {}",
        err.explain(),
        steady::report::outcome_json(Err(&err))
    );
    assert!(!all.contains(encoded) && !all.contains("hunter22"), "{all}");
}

#[test]
fn secrets_print_as_stars() {
    let secret = Secret::new(TOKEN);
    assert_eq!(format!("{secret} {secret:?}"), "**** ****");
}

#[tokio::test]
async fn a_key_in_the_query_echoed_in_the_body_is_scrubbed() {
    let server = ScriptServer::builder()
        .route_fn("/search", |request| {
            let query = request.query().unwrap_or("").to_owned();
            Reply::json(200, format!(r#"{{"you_asked": "{query}", "ok": true}}"#))
        })
        .route_fn("/fail", |request| {
            let query = request.query().unwrap_or("").to_owned();
            Reply::json(403, format!(r#"{{"message": "bad key in {query}"}}"#))
        })
        .start();
    let resp = client()
        .get(server.url("/search?api_key=k-445566&q=rust"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].query(),
        Some("api_key=k-445566&q=rust")
    );
    let report = steady::report::outcome_json(Ok(&resp)).to_string();
    assert!(!report.contains("k-445566"), "{report}");
    assert!(report.contains("api_key=****&q=rust"), "{report}");
    let err = client()
        .get(server.url("/fail?token=t-778899"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.server_message(), Some("bad key in token=****"));
    assert!(!err.explain().contains("t-778899"), "{}", err.explain());
}

#[tokio::test]
async fn credentials_in_the_url_go_as_basic_auth_and_never_in_the_url() {
    let server = steady_chaos::ScriptServer::builder()
        .route(
            "/me",
            [steady_chaos::Reply::json(
                401,
                r#"{"error": "user ann with p%ss is locked"}"#,
            )],
        )
        .start();
    let url = server.url("/me").replace("http://", "http://ann:p%25ss@");
    let err = support::client().get(&url).send().await.unwrap_err();
    let seen = &server.requests()[0];
    // "ann:p%ss", as curl and reqwest send it.
    assert_eq!(seen.header("authorization"), Some("Basic YW5uOnAlc3M="));
    assert!(!seen.header("host").unwrap().contains('@'));
    assert_eq!(seen.target, "/me");
    let shown = format!("{err} {err:?} {}", err.explain());
    assert!(
        !shown.contains("p%ss") && !shown.contains("p%25ss"),
        "{shown}"
    );
    assert_eq!(err.server_message(), Some("user ann with **** is locked"));
}

#[tokio::test]
async fn a_typed_value_marked_sensitive_is_a_credential_whatever_its_name() {
    use steady::header::{HeaderName, HeaderValue};
    let server = steady_chaos::ScriptServer::builder()
        .route(
            "/x",
            [steady_chaos::Reply::json(
                403,
                r#"{"error": "t0ken-xyz refused"}"#,
            )],
        )
        .start();
    let mut value = HeaderValue::from_static("t0ken-xyz");
    value.set_sensitive(true);
    let err = support::client()
        .get(server.url("/x"))
        .header(HeaderName::from_static("x-neutral"), value)
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.requests()[0].header("x-neutral"), Some("t0ken-xyz"));
    assert_eq!(err.server_message(), Some("**** refused"));

    // A bearer token echoed alone is scrubbed too.
    let server = steady_chaos::ScriptServer::builder()
        .route(
            "/y",
            [steady_chaos::Reply::json(
                401,
                r#"{"error": "token abc123def expired"}"#,
            )],
        )
        .start();
    let err = support::client()
        .get(server.url("/y"))
        .header("Authorization", "Bearer abc123def")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.server_message(), Some("token **** expired"));
}

#[tokio::test]
async fn a_cookie_value_or_a_token_after_any_scheme_is_scrubbed_when_echoed_alone() {
    let server = steady_chaos::ScriptServer::builder()
        .route(
            "/c",
            [steady_chaos::Reply::json(
                401,
                r#"{"error": "session s3ss10n gone"}"#,
            )],
        )
        .route(
            "/t",
            [steady_chaos::Reply::json(
                401,
                r#"{"error": "bad credentials: GHTOKEN777"}"#,
            )],
        )
        .route(
            "/b",
            [steady_chaos::Reply::json(
                401,
                r#"{"error": "wrong password hunter22"}"#,
            )],
        )
        .start();
    let err = support::client()
        .get(server.url("/c"))
        .header("Cookie", "theme=dark; sid=s3ss10n")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.server_message(), Some("session **** gone"));
    let err = support::client()
        .get(server.url("/t"))
        .header("Authorization", "token GHTOKEN777")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.server_message(), Some("bad credentials: ****"));
    // "Basic " + base64("ann:hunter22"), written by hand.
    let err = support::client()
        .get(server.url("/b"))
        .header("Authorization", "Basic YW5uOmh1bnRlcjIy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.server_message(), Some("wrong password ****"));
}
