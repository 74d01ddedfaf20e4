//! Fallbacks: only for outages, in order, and the cache's rules.

mod support;

use std::time::Duration;

use steady::clock::Clock;
use steady::fallback::{CachePolicy, Fallback, Source};
use steady::{Client, Layer, Retry, Secret};
use steady_chaos::{Reply, ScriptServer};
use support::fast;

fn cache_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("steady-cache-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("cache.db")
}

fn client_with_cache(path: &std::path::Path) -> (Client, std::sync::Arc<steady::clock::SkipClock>) {
    let (builder, clock) = fast();
    (
        builder
            .retry(Retry::none())
            .no_guards()
            .cache_file(path)
            .build()
            .unwrap(),
        clock,
    )
}

#[tokio::test]
async fn fresh_data_is_not_degraded() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let outcome = fast()
        .0
        .build()
        .unwrap()
        .get(server.url("/x"))
        .fallback(Fallback::json(serde_json::json!(1)))
        .send()
        .await
        .unwrap();
    assert!(outcome.is_fresh());
    assert_eq!(outcome.source(), &Source::Network);
    assert!(outcome.degraded_by().is_none());
}

#[tokio::test]
async fn a_4xx_or_a_semantic_failure_never_falls_back() {
    let server = ScriptServer::builder()
        .route("/missing", [Reply::status(404)])
        .route("/broken", [Reply::json(200, "{not json")])
        .start();
    let client = fast().0.build().unwrap();
    for (path, layer) in [("/missing", Layer::Http), ("/broken", Layer::Semantic)] {
        let err = client
            .get(server.url(path))
            .fallback(Fallback::json(serde_json::json!({"default": true})))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.layer(), layer, "{path}");
    }
}

#[tokio::test]
async fn every_kind_of_outage_falls_back() {
    let server = ScriptServer::builder()
        .route("/503", [Reply::status(503)])
        .route("/429", [Reply::status(429)])
        .route("/hang", [Reply::hang()])
        .start();
    let dead = format!(
        "http://127.0.0.1:{}/",
        ScriptServer::builder().start().addr().port()
    );
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::none())
        .read_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    for url in [
        server.url("/503"),
        server.url("/429"),
        server.url("/hang"),
        dead,
    ] {
        let outcome = client
            .get(&url)
            .fallback(Fallback::json(serde_json::json!({"d": 1})))
            .send()
            .await
            .unwrap();
        assert_eq!(outcome.source(), &Source::Default, "{url}");
        assert_eq!(outcome.response().text(), r#"{"d":1}"#);
        assert!(outcome.degraded_by().is_some());
    }
}

#[tokio::test]
async fn a_guard_refusal_falls_back() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(500)])
        .start();
    let (builder, _) = fast();
    let client = builder
        .retry(Retry::none())
        .breaker(
            steady::Breaker::new()
                .consecutive_failures(1)
                .streak_span(Duration::ZERO),
        )
        .fail_fast(true)
        .build()
        .unwrap();
    client.get(server.url("/x")).send().await.unwrap_err();
    let outcome = client
        .get(server.url("/x"))
        .fallback(Fallback::json(serde_json::json!(0)))
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.degraded_by().unwrap().layer(), Layer::Guard);
    assert_eq!(server.hits("/x"), 1);
}

#[tokio::test]
async fn fallbacks_chain_in_order() {
    let down = ScriptServer::builder()
        .route("/x", [Reply::status(502)])
        .start();
    let also_down = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let up = ScriptServer::builder()
        .route("/x", [Reply::json(200, r#"{"from":"mirror"}"#)])
        .start();
    let (builder, _) = fast();
    let client = builder.retry(Retry::none()).build().unwrap();
    let outcome = client
        .get(down.url("/x"))
        .bearer_auth(Secret::new("token-abc"))
        .fallback(Fallback::url(&also_down.url("/x")))
        .fallback(Fallback::url(&up.url("/x")))
        .fallback(Fallback::json(serde_json::json!("never")))
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.source(), &Source::Alternative { url: up.url("/x") });
    assert_eq!(outcome.response().text(), r#"{"from":"mirror"}"#);
    assert_eq!(
        outcome.degraded_by().unwrap().status().unwrap(),
        502,
        "the primary's failure"
    );
    assert_eq!((also_down.hits("/x"), up.hits("/x")), (1, 1));
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer token-abc"),
        "the same request"
    );
}

#[tokio::test]
async fn the_cache_serves_the_last_good_answer_with_its_age() {
    let path = cache_file("basic");
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::json(200, r#"{"v":1}"#),
                Reply::json(200, r#"{"v":2}"#),
                Reply::status(503),
            ],
        )
        .start();
    let (client, clock) = client_with_cache(&path);
    for _ in 0..2 {
        client
            .get(server.url("/x"))
            .fallback(Fallback::cache())
            .send()
            .await
            .unwrap();
    }
    clock.sleep(Duration::from_secs(90)).await;
    let outcome = client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert_eq!(
        outcome.response().text(),
        r#"{"v":2}"#,
        "the latest good answer"
    );
    let Source::Cache { age } = outcome.source() else {
        panic!("{:?}", outcome.source())
    };
    assert!(
        *age >= Duration::from_secs(90) && *age < Duration::from_secs(91),
        "{age:?}"
    );
    assert_eq!(outcome.response().content_type(), Some("application/json"));
    let json = steady::report::fallback_outcome_json(&outcome);
    assert_eq!(
        (json["source"].as_str(), json["stale_age_s"].as_u64()),
        (Some("cache"), Some(90))
    );
    assert_eq!(json["degraded_by"]["status"], 503);
}

#[tokio::test]
async fn every_cache_control_case() {
    let path = cache_file("cache-control");
    let cases = [
        ("no-store", false, false),
        ("no-cache", false, true),
        ("must-revalidate", false, true),
        ("max-age=0, stale-if-error=60", true, true),
        ("max-age=60", true, true),
    ];
    for (directive, served, served_with_override) in cases {
        let server = ScriptServer::builder()
            .route(
                "/x",
                [
                    Reply::json(200, r#"{"v":1}"#).header("Cache-Control", directive),
                    Reply::status(500),
                ],
            )
            .start();
        let (client, clock) = client_with_cache(&path);
        client
            .get(server.url("/x"))
            .fallback(Fallback::cache())
            .send()
            .await
            .unwrap();
        clock.sleep(Duration::from_secs(30)).await;
        for (policy, want) in [
            (CachePolicy::default(), served),
            (
                CachePolicy {
                    ignore_revalidate: true,
                    ..CachePolicy::default()
                },
                served_with_override,
            ),
        ] {
            let result = client
                .get(server.url("/x"))
                .fallback(Fallback::Cache(policy))
                .send()
                .await;
            assert_eq!(result.is_ok(), want, "{directive} with {policy:?}");
        }
    }
}

#[tokio::test]
async fn stale_if_error_and_max_stale_bound_the_age() {
    let path = cache_file("age");
    let server = ScriptServer::builder()
        .route(
            "/sie",
            [
                Reply::json(200, "{}").header("Cache-Control", "max-age=10, stale-if-error=50"),
                Reply::status(503),
            ],
        )
        .route("/plain", [Reply::json(200, "{}"), Reply::status(503)])
        .start();
    let (client, clock) = client_with_cache(&path);
    for p in ["/sie", "/plain"] {
        client
            .get(server.url(p))
            .fallback(Fallback::cache())
            .send()
            .await
            .unwrap();
    }
    clock.sleep(Duration::from_secs(61)).await;
    assert!(
        client
            .get(server.url("/sie"))
            .fallback(Fallback::cache())
            .send()
            .await
            .is_err(),
        "61s > 10s + 50s"
    );
    let bounded = Fallback::Cache(CachePolicy {
        max_stale: Some(Duration::from_secs(60)),
        ..CachePolicy::default()
    });
    assert!(client
        .get(server.url("/plain"))
        .fallback(bounded)
        .send()
        .await
        .is_err());
    assert!(client
        .get(server.url("/plain"))
        .fallback(Fallback::cache())
        .send()
        .await
        .is_ok());
}

#[tokio::test]
async fn two_credentials_never_share_a_cache_entry() {
    let path = cache_file("identity");
    let server = ScriptServer::builder()
        .route_fn("/me", |r| {
            if r.header("x-fail").is_some() {
                Reply::status(503)
            } else {
                Reply::json(
                    200,
                    format!(r#"{{"me":"{}"}}"#, r.header("authorization").unwrap_or("")),
                )
            }
        })
        .start();
    let (client, _) = client_with_cache(&path);
    client
        .get(server.url("/me"))
        .bearer_auth(Secret::new("alice-token"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    let as_bob = client
        .get(server.url("/me"))
        .bearer_auth(Secret::new("bob-token"))
        .header("X-Fail", "1")
        .fallback(Fallback::cache())
        .send()
        .await;
    assert!(as_bob.is_err(), "bob never sees alice's cached answer");
    let as_alice = client
        .get(server.url("/me"))
        .bearer_auth(Secret::new("alice-token"))
        .header("X-Fail", "1")
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_alice.response().text(),
        r#"{"me":"Bearer ****"}"#,
        "the echoed secret was scrubbed before storing"
    );
    let on_disk = std::fs::read(&path).unwrap();
    for secret in ["alice-token", "bob-token"] {
        assert!(
            !on_disk
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{secret} written to disk"
        );
    }
}

#[tokio::test]
async fn a_corrupt_cache_file_is_bypassed_not_a_crash() {
    let path = cache_file("corrupt");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}"), Reply::status(503)])
        .start();
    let (client, _) = client_with_cache(&path);
    let fresh = client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert!(
        fresh.is_fresh(),
        "the live answer is served even though it could not be stored"
    );
    let err = client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.status().unwrap(),
        503,
        "the original failure, not a cache error"
    );
}

#[tokio::test]
async fn a_locked_cache_is_bypassed_after_a_short_wait() {
    let path = cache_file("locked");
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::json(200, r#"{"v":1}"#),
                Reply::json(200, r#"{"v":2}"#),
                Reply::status(503),
            ],
        )
        .start();
    let (client, _) = client_with_cache(&path);
    client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    // Another process holds the write lock: storing the next answer waits a second,
    // gives up with a warning, and the live answer is still served.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let fresh = client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.response().text(), r#"{"v":2}"#);
    drop(other);
    // Readers are never blocked (WAL): the older answer is still there to serve.
    let stale = client
        .get(server.url("/x"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.response().text(), r#"{"v":1}"#);
}

#[tokio::test]
async fn a_computed_fallback_answers_from_the_outage_or_passes_to_the_next() {
    let server = ScriptServer::builder()
        .route("/items", [Reply::status(503)])
        .route("/gone", [Reply::status(404)])
        .start();
    let client = fast().0.retry(Retry::none()).build().unwrap();
    let outcome = client
        .get(server.url("/items"))
        .fallback(Fallback::json_with(|outage| {
            Some(serde_json::json!({"items": [], "status": outage.status().map(|s| s.as_u16())}))
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.source(), &Source::Default);
    assert_eq!(outcome.degraded_by().unwrap().layer(), Layer::Http);
    assert_eq!(outcome.response().status(), 200);
    let body: serde_json::Value = outcome.response().json().unwrap();
    assert_eq!(body, serde_json::json!({"items": [], "status": 503}));

    // None passes to the next fallback.
    let outcome = client
        .get(server.url("/items"))
        .fallback(Fallback::json_with(|_| None))
        .fallback(Fallback::json(serde_json::json!({"next": true})))
        .send()
        .await
        .unwrap();
    assert_eq!(
        outcome.response().json::<serde_json::Value>().unwrap(),
        serde_json::json!({"next": true})
    );

    // A 4xx is the caller's bug: never a fallback.
    let err = client
        .get(server.url("/gone"))
        .fallback(Fallback::json_with(|_| Some(serde_json::json!({}))))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn default_credentials_keep_identities_apart_in_the_cache() {
    let path = cache_file("default-identity");
    let server = ScriptServer::builder()
        .route_fn("/me", |r| {
            if r.header("x-fail").is_some() {
                Reply::status(503)
            } else {
                Reply::json(
                    200,
                    format!(r#"{{"key":"{}"}}"#, r.header("x-api-key").unwrap_or("")),
                )
            }
        })
        .start();
    let with_key = |key: &'static str| {
        let mut defaults = steady::header::HeaderMap::new();
        defaults.insert("x-api-key", key.parse().unwrap());
        fast()
            .0
            .retry(Retry::none())
            .no_guards()
            .cache_file(&path)
            .default_headers(defaults)
            .build()
            .unwrap()
    };
    let alice = with_key("alice-key-1");
    alice
        .get(server.url("/me"))
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    let bob = with_key("bob-key-22");
    let as_bob = bob
        .get(server.url("/me"))
        .header("X-Fail", "1")
        .fallback(Fallback::cache())
        .send()
        .await;
    assert!(as_bob.is_err(), "bob never sees alice's cached answer");
    let as_alice = alice
        .get(server.url("/me"))
        .header("X-Fail", "1")
        .fallback(Fallback::cache())
        .send()
        .await
        .unwrap();
    assert_eq!(as_alice.response().text(), r#"{"key":"****"}"#);
    let on_disk = std::fs::read(&path).unwrap();
    assert!(!on_disk.windows(11).any(|w| w == b"alice-key-1"));
}
