//! The chaos server injects each fault as specified, deterministically with a seed.

use std::time::{Duration, Instant};

use steady_chaos::{ChaosConfig, ChaosServer, Reply, ScriptServer};

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn chaos(faults: &[&str]) -> ChaosServer {
    let mut config = ChaosConfig::new().seed(1);
    for f in faults {
        config = config.fault(f).unwrap();
    }
    ChaosServer::start(config).unwrap()
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    http().get(url).send().await.unwrap()
}

#[tokio::test]
async fn the_built_in_api_lists_and_paginates() {
    let server = chaos(&[]);
    let index: serde_json::Value = json(get(&server.url("/")).await).await;
    assert!(index["resources"]["/items"].is_string());
    let page = get(&server.url("/items?page=5&per_page=20")).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers().get("link").is_none(),
        "the last page has no next link"
    );
    let page: serde_json::Value = json(page).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert_eq!(page["items"][0]["id"], 81);
    assert_eq!(page["next"], serde_json::Value::Null);
    let first = get(&server.url("/items")).await;
    assert_eq!(
        first.headers()["link"],
        "</items?page=2&per_page=20>; rel=\"next\""
    );
    assert_eq!(get(&server.url("/items/101")).await.status(), 404);
    assert_eq!(get(&server.url("/users/3")).await.status(), 200);
    let created = http()
        .post(server.url("/orders"))
        .body(r#"{"item":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(server.stats().requests(), 6);
}

#[tokio::test]
async fn status_faults_carry_retry_after_in_both_forms() {
    let server = chaos(&["status=429,retry-after=2"]);
    let r = get(&server.url("/items")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(r.headers()["content-type"], "application/json");
    let server = chaos(&["status=503,retry-after-date=30"]);
    let r = get(&server.url("/items")).await;
    assert_eq!(r.status(), 503);
    let date = httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).unwrap();
    let ahead = date.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(
        ahead > Duration::from_secs(25) && ahead <= Duration::from_secs(31),
        "{ahead:?}"
    );
    assert_eq!(server.stats().injected_count("status-503"), 1);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let run = || async {
        let server = ChaosServer::start(
            ChaosConfig::new()
                .fault("status=503,rate=0.5")
                .unwrap()
                .seed(42),
        )
        .unwrap();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(get(&server.url("/health")).await.status().as_u16());
        }
        statuses
    };
    let first = run().await;
    assert_eq!(first, run().await);
    let failures = first.iter().filter(|s| **s == 503).count();
    assert!((8..=32).contains(&failures), "about half: {failures}");
}

#[tokio::test]
async fn path_and_schedule_limit_where_and_when_a_fault_fires() {
    let server = chaos(&["status=500,path=/items", "status=502,at=1h"]);
    assert_eq!(get(&server.url("/items/1")).await.status(), 500);
    assert_eq!(
        get(&server.url("/users/1")).await.status(),
        200,
        "not yet active, not the path"
    );
}

#[tokio::test]
async fn latency_delays_the_normal_answer() {
    let server = chaos(&["latency=150ms"]);
    let started = Instant::now();
    let r = get(&server.url("/health")).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn hang_reset_truncate_and_drip() {
    let server = chaos(&["hang"]);
    let err = http()
        .get(server.url("/health"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    let server = chaos(&["reset"]);
    assert!(http().get(server.url("/health")).send().await.is_err());

    for fault in ["reset=mid", "truncate"] {
        let server = chaos(&[fault]);
        let r = get(&server.url("/items")).await;
        assert_eq!(r.status(), 200, "{fault}: the head arrives");
        assert!(r.bytes().await.is_err(), "{fault}: the body does not");
    }

    let server = chaos(&["drip=5ms"]);
    let started = Instant::now();
    let body = get(&server.url("/health")).await.text().await.unwrap();
    assert_eq!(body, r#"{"status":"ok"}"#);
    assert!(started.elapsed() >= Duration::from_millis(5 * body.len() as u64));
}

#[tokio::test]
async fn bodies_that_lie() {
    let server = chaos(&["error-200"]);
    let r = get(&server.url("/items")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"quota exceeded","data":null}"#
    );

    let server = chaos(&["bad-json"]);
    let r = get(&server.url("/items")).await;
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).is_err());

    let server = chaos(&["huge=3MiB"]);
    assert_eq!(
        get(&server.url("/items"))
            .await
            .bytes()
            .await
            .unwrap()
            .len(),
        3 << 20
    );

    let server = chaos(&["gzip-bomb=8MiB"]);
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(server.url("/items"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["content-encoding"], "gzip");
    let compressed = raw.bytes().await.unwrap();
    assert!(compressed.len() < 64 * 1024, "{}", compressed.len());
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated.len(), 8 << 20);
}

#[tokio::test]
async fn redirects_to_the_same_or_another_origin_end_after_one_hop() {
    let server = chaos(&["redirect=same"]);
    let r = get(&server.url("/items?page=2")).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("{}?page=2&__chaos=redirected", server.url("/items"))
    );
    assert_eq!(
        get(&location).await.status(),
        200,
        "a redirected request is not redirected again"
    );

    let server = chaos(&["redirect=cross"]);
    let r = get(&server.url("/health")).await;
    let location = r.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("http://localhost:{}/health", server.addr().port())),
        "{location}"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers_beyond_the_limit() {
    let server = chaos(&["rate-limit=3/m"]);
    for remaining in ["2", "1", "0"] {
        let r = get(&server.url("/health")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-remaining"], remaining);
    }
    let r = get(&server.url("/health")).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(r.headers()["ratelimit-policy"], "\"default\";q=3;w=60");
    assert!(r.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"default\";r=0;t="));
    assert_eq!(server.stats().injected_count("rate-limit"), 1);
}

#[tokio::test]
async fn an_outage_refuses_connections_then_ends() {
    let server = chaos(&["outage=400ms,at=200ms"]);
    assert_eq!(get(&server.url("/health")).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = http().get(server.url("/health")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(get(&server.url("/health")).await.status(), 200);
}

#[tokio::test]
async fn the_stats_endpoint_counts_requests_faults_and_paths() {
    let server = chaos(&["status=500,path=/items"]);
    get(&server.url("/items")).await;
    get(&server.url("/items")).await;
    get(&server.url("/users")).await;
    let stats: serde_json::Value = json(get(&server.url("/__chaos/stats")).await).await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["injected"], 2);
    assert_eq!(stats["faults"]["status-500"], 2);
    assert_eq!(stats["paths"]["/items"], 2);
    assert_eq!(stats["statuses"]["200"], 1);
}

#[tokio::test]
async fn proxy_mode_forwards_and_injects() {
    let upstream = ScriptServer::builder()
        .route(
            "/v1/things",
            [Reply::json(200, r#"{"things":[1]}"#).header("X-Upstream", "yes")],
        )
        .start();
    let server = ChaosServer::start(
        ChaosConfig::new()
            .upstream(upstream.url(""))
            .fault("status=503,path=/v1/broken")
            .unwrap(),
    )
    .unwrap();
    let r = http()
        .get(server.url("/v1/things?x=1"))
        .header("X-Client", "c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-upstream"], "yes");
    assert_eq!(r.text().await.unwrap(), r#"{"things":[1]}"#);
    let seen = &upstream.requests()[0];
    assert_eq!(
        (seen.target.as_str(), seen.header("x-client")),
        ("/v1/things?x=1", Some("c"))
    );
    assert_eq!(get(&server.url("/v1/broken")).await.status(), 503);
    assert_eq!(
        upstream.total_hits(),
        1,
        "an injected fault does not reach the upstream"
    );
}

#[test]
fn toml_configuration() {
    let (config, listen) = ChaosConfig::from_toml(
        r#"
listen = "127.0.0.1:9999"
seed = 3
faults = ["status=503,rate=0.2", "latency=10ms..20ms"]
"#,
    )
    .unwrap();
    assert_eq!(listen.as_deref(), Some("127.0.0.1:9999"));
    assert_eq!((config.seed, config.faults.len()), (Some(3), 2));
    let err = ChaosConfig::from_toml("faults = [\"status=abc\"]").unwrap_err();
    assert!(err.contains("faults[0]") && err.contains("status"), "{err}");
    let err = ChaosConfig::from_toml("fautls = []").unwrap_err();
    assert!(err.contains("fautls"), "{err}");
}

/// `n` GETs of `path` at once; their statuses, sorted.
async fn at_once(server: &ChaosServer, path: &str, n: usize) -> Vec<u16> {
    let client = http();
    let calls = (0..n).map(|_| {
        let (client, url) = (client.clone(), server.url(path));
        tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
    });
    let mut statuses = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        statuses.push(call.await.unwrap());
    }
    statuses.sort_unstable();
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_sheds_what_does_not_fit_with_503_at_once() {
    let server = chaos(&["latency=300ms", "capacity=2"]);
    let started = Instant::now();
    let statuses = at_once(&server, "/items/1", 5).await;
    assert_eq!(statuses, [200, 200, 503, 503, 503]);
    assert_eq!(server.stats().injected_count("capacity"), 3);
    assert_eq!(server.stats().requests(), 5);
    let peak = server.stats().peak_in_flight();
    assert!((2..=5).contains(&peak), "{peak} in flight at once");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Room again once the two are answered.
    assert_eq!(get(&server.url("/items/1")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_with_queue_makes_the_excess_wait_for_room() {
    let server = chaos(&["latency=100ms", "capacity=2,queue"]);
    let started = Instant::now();
    let statuses = at_once(&server, "/items/1", 6).await;
    assert_eq!(statuses, [200; 6]);
    // Two at a time, 100 ms each: three rounds at the least.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.stats().injected_count("capacity-queue"), 4);
}

#[tokio::test]
async fn first_n_faults_only_the_first_requests_to_each_target() {
    let server = chaos(&["status=503,first=2"]);
    let mut statuses = Vec::new();
    for target in [
        "/items/1?n=1",
        "/items/1?n=1",
        "/items/1?n=1",
        "/items/1?n=2",
        "/items/1?n=1",
    ] {
        statuses.push(get(&server.url(target)).await.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 200, 503, 200]);
    assert_eq!(server.stats().injected_count("status-503"), 3);
    let err = ChaosConfig::new().fault("reset,first=0").unwrap_err();
    assert!(err.contains("first is a positive whole number"), "{err}");
}

#[test]
fn capacity_specs_are_checked() {
    for (spec, says) in [
        ("capacity=0", "'0' is not a positive whole number"),
        ("capacity", "needs a value (requests in flight, like 8)"),
        (
            "status=503,queue",
            "queue in fault 'status=503,queue' goes with capacity=N",
        ),
    ] {
        let err = ChaosConfig::new().fault(spec).unwrap_err();
        assert!(err.contains(says), "{spec}: {err}");
    }
    assert!(ChaosConfig::new()
        .fault("capacity=8,queue,path=/items")
        .is_ok());
}
