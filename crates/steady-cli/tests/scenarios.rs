//! End to end: the `steady` binary against `steady chaos`, one fault kind at a time.
//! Each scenario asserts the exit code, what the chaos server saw and the message.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

mod support;

/// A `steady chaos` process on a free loopback port, killed on drop.
struct Chaos {
    child: Child,
    base: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Chaos {
    fn start(faults: &[&str]) -> Chaos {
        Self::start_seeded(faults, 1)
    }

    fn start_seeded(faults: &[&str], seed: u64) -> Chaos {
        let mut cmd = Command::cargo_bin("steady").unwrap();
        let seed = seed.to_string();
        cmd.args([
            "chaos",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            &seed,
            "--quiet",
        ]);
        for fault in faults {
            cmd.args(["--fault", fault]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("steady chaos listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Chaos {
            child,
            base,
            _stdout: stdout,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server received, from its stats endpoint. Evenly spaced retries get
    /// through a flapping server's up periods.
    fn stats(&self) -> serde_json::Value {
        let out = Command::cargo_bin("steady")
            .unwrap()
            .args(["get", &self.url("/__chaos/stats")])
            .args([
                "--retries",
                "10",
                "--backoff",
                "100ms",
                "--backoff-max",
                "200ms",
            ])
            .args(["--jitter", "none", "--no-guards"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stats: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    fn requests(&self) -> u64 {
        self.stats()["requests"].as_u64().unwrap()
    }
}

impl Drop for Chaos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use support::{steady, Run};

/// One scenario: faults, the call's extra flags, the exit code, the requests the server
/// saw, and a fragment of stderr.
fn scenario(faults: &[&str], flags: &[&str], code: i32, seen: Option<u64>, message: &str) -> Run {
    let chaos = Chaos::start(faults);
    let url = chaos.url("/items/7");
    let mut args = vec!["get", url.as_str(), "--backoff", "1ms"];
    args.extend_from_slice(flags);
    let run = steady(&args);
    assert_eq!(run.code, code, "{faults:?} {flags:?}\n{}", run.stderr);
    if let Some(seen) = seen {
        assert_eq!(
            chaos.requests(),
            seen,
            "{faults:?}: requests the server saw"
        );
    }
    assert!(
        run.stderr.contains(message),
        "{faults:?}: expected {message:?} in\n{}",
        run.stderr
    );
    run
}

#[test]
fn no_fault_is_a_plain_success() {
    let run = scenario(&[], &[], 0, Some(1), "");
    assert_eq!(
        run.stdout,
        r#"{"id":7,"in_stock":false,"name":"spring 7","price":26.9}"#
    );
}

#[test]
fn status_503_is_retried_then_exit_5() {
    scenario(
        &["status=503"],
        &["--retries", "2"],
        5,
        Some(3),
        "HTTP 503 Service Unavailable",
    );
}

#[test]
fn status_500_sometimes_is_ridden_out() {
    // A seed whose dice come up 500 and then 200: the chaos server draws one number
    // per fault and request.
    let seed = (0..1000u64)
        .find(|&s| {
            let mut rng = fastrand::Rng::with_seed(s);
            rng.f64() < 0.5 && rng.f64() >= 0.5
        })
        .unwrap();
    let chaos = Chaos::start_seeded(&["status=500,rate=0.5"], seed);
    let run = steady(&["get", &chaos.url("/items/7"), "--backoff", "1ms", "-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("-> 500 Internal Server Error (http)"),
        "{}",
        run.stderr
    );
    assert_eq!(chaos.requests(), 2);
}

#[test]
fn status_429_waits_for_retry_after() {
    let run = scenario(
        &["status=429,retry-after=1"],
        &["--retries", "1"],
        4,
        Some(2),
        "rate limit exceeded",
    );
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
}

#[test]
fn retry_after_longer_than_the_deadline_stops_at_once() {
    scenario(
        &["status=503,retry-after=100"],
        &["--timeout", "5s"],
        5,
        Some(1),
        "the server asked to wait 1m 40s (Retry-After)",
    );
    // The decision (stop at once, the wait past the deadline) is in the message; no
    // wall-clock bound, which a busy machine could break.
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have one-second precision: two seconds ahead is at least one.
    let run = scenario(
        &["status=503,retry-after-date=2"],
        &["--retries", "1", "-v"],
        5,
        Some(2),
        "(Retry-After)",
    );
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn latency_below_the_read_timeout_succeeds() {
    let run = scenario(&["latency=300ms"], &[], 0, Some(1), "");
    assert!(run.elapsed >= Duration::from_millis(300));
}

#[test]
fn latency_above_the_read_timeout_is_a_timeout() {
    scenario(
        &["latency=2s"],
        &["--read-timeout", "100ms", "--retries", "1"],
        2,
        Some(2),
        "read timeout",
    );
}

#[test]
fn hang_is_a_read_timeout_on_every_attempt() {
    scenario(
        &["hang"],
        &["--read-timeout", "150ms", "--retries", "2"],
        2,
        Some(3),
        "read timeout",
    );
}

#[test]
fn reset_before_the_response_is_retried_then_exit_1() {
    scenario(&["reset"], &[], 1, Some(4), "connection reset");
}

#[test]
fn reset_mid_body_is_retried_then_exit_1() {
    scenario(
        &["reset=mid"],
        &[],
        1,
        Some(4),
        "before a complete response",
    );
}

#[test]
fn truncated_body_is_never_a_success() {
    scenario(
        &["truncate"],
        &[],
        1,
        Some(4),
        "connection closed before a complete response",
    );
}

#[test]
fn drip_cannot_outlast_the_deadline() {
    // The 56-byte body alone would take 5.6s.
    scenario(
        &["drip=100ms"],
        &["--timeout", "400ms"],
        2,
        Some(1),
        "deadline exceeded",
    );
}

#[test]
fn invalid_json_in_a_200_is_a_semantic_failure() {
    scenario(&["bad-json"], &[], 7, Some(1), "semantic layer");
}

#[test]
fn a_huge_body_is_refused_past_max_body() {
    scenario(
        &["huge=4MiB"],
        &["--max-body", "1MiB"],
        1,
        Some(1),
        "larger than the maximum",
    );
}

#[test]
fn a_gzip_bomb_is_stopped_by_decoded_size() {
    scenario(
        &["gzip-bomb=64MiB"],
        &["--max-body", "1MiB"],
        1,
        Some(1),
        "larger than the maximum",
    );
}

#[test]
fn redirects_are_followed_same_and_cross_origin() {
    scenario(&["redirect=same"], &[], 0, Some(2), "");
    scenario(&["redirect=cross"], &[], 0, Some(2), "");
    scenario(
        &["redirect=same"],
        &["--no-follow"],
        3,
        Some(1),
        "redirect not followed",
    );
}

#[test]
fn rate_limit_beyond_the_limit_is_a_429() {
    let chaos = Chaos::start(&["rate-limit=1/m"]);
    assert_eq!(steady(&["get", &chaos.url("/items/1")]).code, 0);
    let run = steady(&["get", &chaos.url("/items/1"), "--retries", "0", "--status"]);
    assert_eq!((run.code, run.stdout.as_str()), (4, "429\n"));
    let run = steady(&["get", &chaos.url("/items/1"), "--timeout", "10s"]);
    assert_eq!(
        run.code, 4,
        "Retry-After of about a minute is past a 10s deadline"
    );
    assert!(run.stderr.contains("(Retry-After)"), "{}", run.stderr);
    assert_eq!(chaos.requests(), 3);
}

#[test]
fn an_outage_is_refused_connections() {
    let run = scenario(
        &["outage=1h"],
        &["--retries", "1"],
        1,
        None,
        "connection refused",
    );
    assert!(run.stderr.contains("2 attempts"), "{}", run.stderr);
}

#[test]
fn a_short_outage_is_ridden_out_by_backoff() {
    // Refusing for the first 2s (a loaded machine's slow start still meets it), then
    // up: a call trying every 100ms gets through once it ends.
    let chaos = Chaos::start(&["outage=2s"]);
    let run = steady(&[
        "get",
        &chaos.url("/items/7"),
        "--backoff",
        "100ms",
        "--backoff-max",
        "100ms",
        "--jitter",
        "none",
        "--retries",
        "40",
        "--no-retry-budget",
        "-v",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
    assert_eq!(
        chaos.requests(),
        1,
        "refused attempts never reach the server"
    );
}

#[test]
fn a_flapping_server_is_ridden_out_between_flaps() {
    // Up for 0.4s, then refusing for 2s, repeatedly. The call starts inside the first
    // refusing period (0.5s in: it lasts until 2.4s, so a loaded machine's slow start
    // still lands in it) and tries every 100ms, so the next up period (0.4s long) sees
    // an attempt unless the machine stalls for 0.4s between two. The flap itself runs
    // on the server's clock: the margins, not a threshold, keep this steady.
    let chaos = Chaos::start(&["flap=400ms/2s"]);
    std::thread::sleep(Duration::from_millis(500));
    let run = steady(&[
        "get",
        &chaos.url("/items/7"),
        "--backoff",
        "100ms",
        "--backoff-max",
        "100ms",
        "--jitter",
        "none",
        "--retries",
        "40",
        "--no-retry-budget",
        "-v",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
    let stats = chaos.stats();
    assert_eq!(
        stats["requests"], 1,
        "only the call that got through: {stats}"
    );
}

#[test]
fn chaos_rejects_a_bad_fault_spec() {
    let run = steady(&[
        "chaos",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "status=503,rate=7",
    ]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr.contains(
            "--fault: 'rate=7' in fault 'status=503,rate=7': rate is a probability from 0 to 1"
        ),
        "{}",
        run.stderr
    );
    let run = steady(&["chaos", "--listen", "nowhere"]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr.contains("--listen 'nowhere' is not an address"),
        "{}",
        run.stderr
    );
}

#[test]
fn chaos_reads_a_toml_config() {
    let path = std::env::temp_dir().join(format!("steady-chaos-{}.toml", std::process::id()));
    std::fs::write(&path, "seed = 5\nfaults = [\"status=418\"]\n").unwrap();
    let mut child = Command::cargo_bin("steady")
        .unwrap()
        .args([
            "chaos",
            "--listen",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..5 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let base = lines[0]
        .trim()
        .strip_prefix("steady chaos listening on ")
        .unwrap()
        .to_owned();
    assert!(
        lines.iter().any(|l| l.contains("fault: status=418")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("seed: 5")), "{lines:?}");
    let run = steady(&["get", &format!("{base}/items"), "--status"]);
    assert_eq!((run.code, run.stdout.as_str()), (4, "418\n"));
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn the_demo_shows_steady_beating_a_naive_client() {
    let run = steady(&["demo", "--requests", "60", "--concurrency", "8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = |label: &str| -> Vec<String> {
        let line = run
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{}", run.stdout));
        line[label.len() + 2..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let valid = row("answered with valid data");
    let naive: usize = valid[0].parse().unwrap();
    let steady: usize = valid[2].parse().unwrap();
    assert!(
        steady > naive,
        "steady {steady} vs naive {naive}\n{}",
        run.stdout
    );
    assert_eq!(
        row("bad 200 taken as data (a silent bug)")[1],
        "0",
        "{}",
        run.stdout
    );
}
