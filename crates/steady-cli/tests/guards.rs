//! Guards from the command line: state shared by processes, rate limits, hedging,
//! JSON guard logs, exit code 8 and bad guard flags.

use std::time::Duration;

use steady_chaos::{Reply, ScriptServer};

#[path = "../../steady/tests/support/redis.rs"]
#[allow(dead_code)]
mod redis;
mod support;

use support::steady;

fn state_file(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("steady-cli-guards-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.db").display().to_string()
}

#[test]
fn a_cron_job_with_state_stops_hammering_a_dead_api() {
    let replies = std::iter::repeat_n(Reply::status(503), 20).chain([Reply::json(200, "{}")]);
    let server = ScriptServer::builder().route("/sync", replies).start();
    let state = state_file("cron");
    let url = server.url("/sync");
    // Cron runs are a minute apart; here they are milliseconds apart, so the streak
    // needs no minimum span.
    let args = [
        "get",
        url.as_str(),
        "--state",
        state.as_str(),
        "--backoff",
        "1ms",
        "--breaker-span",
        "0s",
        "--breaker-open",
        "1s",
        "--no-retry-budget",
    ];
    // Runs 1 to 5: four attempts each, one failed call each; the fifth failed call in
    // a row opens the circuit.
    for run in 1..=5 {
        let out = steady(&args);
        assert_eq!(out.code, 5, "run {run}: {}", out.stderr);
        assert!(out.stderr.contains("4 attempts in "), "{}", out.stderr);
    }
    assert_eq!(server.hits("/sync"), 20, "a run's retries never tripped it");
    // Run 6, --fail-fast: nothing is sent; exit 8 says so, with since when, why and
    // the next probe.
    let sixth = steady(&[&args[..], &["--fail-fast"]].concat());
    assert_eq!(sixth.code, 8, "{}", sixth.stderr);
    for part in [
        "not sent: circuit open for http://127.0.0.1:",
        "because 5 calls in a row failed over ",
        "; next probe at ",
        "[guard: nothing was sent]",
    ] {
        assert!(sixth.stderr.contains(part), "{part}: {}", sixth.stderr);
    }
    let json = steady(&[&args[..], &["--fail-fast", "--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        (v["layer"].as_str(), v["error"]["kind"].as_str()),
        (Some("guard"), Some("circuit_open"))
    );
    assert_eq!(v["guard_log"][0]["guard"], "breaker");
    assert_eq!(v["attempts"], 0);
    // Run 7: the probe comes after its 100ms deadline, so it cannot wait for it.
    let seventh = steady(&[&args[..], &["--timeout", "100ms"]].concat());
    assert_eq!(seventh.code, 8, "{}", seventh.stderr);
    assert_eq!(
        server.hits("/sync"),
        20,
        "runs 6 and 7 did not touch the network"
    );
    // Run 8, the default: it waits for the probe (within its 60s deadline), which
    // finds the API back.
    let eighth = steady(&[&args[..], &["-v"]].concat());
    assert_eq!(eighth.code, 0, "{}", eighth.stderr);
    assert!(
        eighth.stderr.contains("; waiting for it ("),
        "{}",
        eighth.stderr
    );
    assert!(
        eighth.stderr.contains(" closed: the probe succeeded"),
        "{}",
        eighth.stderr
    );
    assert_eq!(server.hits("/sync"), 21);
}

#[test]
fn a_client_rate_shared_through_state_refuses_what_cannot_wait() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let state = state_file("rate");
    let url = server.url("/x");
    let args = [
        "get",
        url.as_str(),
        "--state",
        state.as_str(),
        "--rate",
        "1/m",
        "--timeout",
        "5s",
    ];
    assert_eq!(steady(&args).code, 0);
    let second = steady(&args);
    assert_eq!(second.code, 8, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("client rate limit 1/m: the next permit is in"),
        "{}",
        second.stderr
    );
    assert_eq!(server.hits("/x"), 1);
}

#[test]
fn verbose_and_json_explain_a_rate_limit_wait() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let state = state_file("wait");
    let url = server.url("/x");
    assert_eq!(
        steady(&["get", &url, "--state", &state, "--rate", "5/s"]).code,
        0
    );
    let run = steady(&[
        "get", &url, "--state", &state, "--rate", "5/s", "--format", "json", "-v",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let event = &v["guard_log"][0];
    assert_eq!(event["guard"], "rate_limit");
    assert!(event["wait_ms"].as_u64().unwrap() <= 200);
    assert!(
        event["message"].as_str().unwrap().starts_with("waited "),
        "{event}"
    );
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .ends_with("for a permit (client rate limit 5/s)"),
        "{event}"
    );
    assert!(
        run.stderr.contains("rate_limit http://127.0.0.1:"),
        "{}",
        run.stderr
    );
}

#[test]
fn hedging_takes_the_faster_answer() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [
                Reply::json(200, r#"{"leg":"slow"}"#).delay(Duration::from_secs(3)),
                Reply::json(200, r#"{"leg":"fast"}"#),
            ],
        )
        .start();
    let run = steady(&["get", &server.url("/x"), "--hedge-after", "50ms", "-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, r#"{"leg":"fast"}"#);
    assert!(
        run.stderr
            .contains("no answer after 50ms: sent a second request"),
        "{}",
        run.stderr
    );
    assert_eq!(server.hits("/x"), 2);
}

#[test]
fn no_guards_turns_them_off() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let state = state_file("off");
    let url = server.url("/x");
    for _ in 0..3 {
        let run = steady(&[
            "get",
            &url,
            "--state",
            &state,
            "--backoff",
            "1ms",
            "--no-guards",
        ]);
        assert_eq!(run.code, 5);
    }
    assert_eq!(server.hits("/x"), 12, "every run used all four attempts");
}

#[test]
fn bad_guard_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 5] = [
        (&["--rate", "ten"], "'ten' is not a rate"),
        (&["--rate", "5/fortnight"], "unknown period 'fortnight'"),
        (
            &["--breaker-ratio", "2"],
            "--breaker-ratio 2: expected a share from 0 to 1",
        ),
        (&["--hedge-after", "p200"], "'p200' is not a percentile"),
        (
            &["--state", "/nonexistent/dir/state.db"],
            "cannot create the state file /nonexistent/dir/state.db: the folder /nonexistent/dir does not exist",
        ),
    ];
    for (flags, message) in cases {
        let run = steady(&[&["get", "http://127.0.0.1:9/"][..], flags].concat());
        assert_eq!(run.code, 64, "{flags:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{flags:?}: {}", run.stderr);
    }
}

#[test]
fn a_redis_state_that_is_down_warns_and_the_call_goes_on() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, "{}")])
        .start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = format!("redis://:s3cret@127.0.0.1:{port}/");
    let run = steady(&["get", &server.url("/x"), "--state", &state]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "guard state in Redis (redis://:****@127.0.0.1:{port}/) is unavailable"
        )) && run
            .stderr
            .contains("going on with this process's own guards"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"));
    assert_eq!(server.hits("/x"), 1);
}

#[test]
fn processes_share_a_circuit_through_rediss_with_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let Some((redis, ca)) = redis::Redis::start_tls(dir.path()) else {
        return;
    };
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca).unwrap();
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503)])
        .start();
    let url = server.url("/x");
    let state = redis.tls_url();
    let args = [
        "get",
        url.as_str(),
        "--state",
        state.as_str(),
        "--state-cacert",
        ca_file.to_str().unwrap(),
        "--retries",
        "0",
        "--breaker-span",
        "0s",
        "--fail-fast",
    ];
    // Five processes, one failed call each: the fifth in a row opens the shared circuit.
    for run in 1..=5 {
        let out = steady(&args);
        assert_eq!(out.code, 5, "run {run}: {}", out.stderr);
        assert!(
            !out.stderr.contains("guard state in Redis"),
            "{}",
            out.stderr
        );
    }
    let sixth = steady(&args);
    assert_eq!(sixth.code, 8, "{}", sixth.stderr);
    assert!(
        sixth.stderr.contains("not sent: circuit open"),
        "{}",
        sixth.stderr
    );
    assert_eq!(server.hits("/x"), 5);

    let alone = steady(&[
        "get",
        url.as_str(),
        "--state-cacert",
        ca_file.to_str().unwrap(),
    ]);
    assert_eq!(alone.code, 64, "{}", alone.stderr);
    assert!(
        alone
            .stderr
            .contains("--state-cacert is for --state rediss://"),
        "{}",
        alone.stderr
    );
    assert_eq!(server.hits("/x"), 5);
}
