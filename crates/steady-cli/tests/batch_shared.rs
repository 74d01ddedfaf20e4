//! One batch shared by several workers through PostgreSQL (`--db postgres://`): the
//! work is split, a killed worker's items go to the others, and every item is recorded
//! exactly once. Each test starts its own PostgreSQL ([`support::postgres`]) and
//! counts, at the server, what each item was sent.

mod support;

use std::collections::HashMap;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steady_chaos::{Reply, ScriptServer};
use support::batch::{dir, per_id, spawn_batch, tagged_input};
use support::postgres::Postgres;
use support::{interrupt, steady, wait_until};

/// A server answering every item after `delay_ms`, so that workers overlap.
fn slow_server(delay_ms: u64) -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"v": 1}"#).delay(Duration::from_millis(delay_ms)))
        .start()
}

/// What most tests start from: a PostgreSQL with the database `name`, its URL, a
/// server answering every item after `delay_ms`, and an input of `n` items against it.
struct Shared {
    pg: Postgres,
    url: String,
    server: ScriptServer,
    file: std::path::PathBuf,
}

fn shared(name: &str, delay_ms: u64, n: usize) -> Option<Shared> {
    let pg = Postgres::start()?;
    let url = pg.database(name);
    let server = slow_server(delay_ms);
    let file = tagged_input(&dir(&format!("shared-{name}")), &server.url(""), n);
    Some(Shared {
        pg,
        url,
        server,
        file,
    })
}

/// A worker's exit code and what it printed on stderr; a worker still running after a
/// minute fails the test.
fn finish(mut child: Child) -> (i32, String) {
    let until = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!("a worker did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `state|count` of the batch's items.
fn states(pg: &Postgres, db: &str) -> String {
    pg.query(
        db,
        "SELECT state || '|' || count(*) FROM steady_batch_items GROUP BY state ORDER BY state",
    )
    .trim()
    .to_owned()
}

/// Results written per run, `run_id -> rows`.
fn rows_per_run(pg: &Postgres, db: &str) -> HashMap<i64, usize> {
    pg.query(
        db,
        "SELECT run_id, count(*) FROM steady_batch_items WHERE state <> 'pending' GROUP BY run_id",
    )
    .lines()
    .map(|l| {
        let (run, n) = l.split_once('|').unwrap();
        (run.parse().unwrap(), n.parse().unwrap())
    })
    .collect()
}

#[test]
fn workers_share_a_batch_and_each_item_is_sent_once() {
    let Some(Shared {
        pg,
        url,
        server,
        file,
    }) = shared("share", 20, 300)
    else {
        return;
    };
    let with_password = url.replace("postgres@", "postgres:hunter2@");
    let f = file.to_str().unwrap();
    let args = [
        "batch",
        f,
        "--db",
        &with_password,
        "--concurrency",
        "4",
        "--fixed-concurrency",
    ];
    let workers: Vec<Child> = (0..3).map(|_| spawn_batch(&args)).collect();
    let mut summaries = Vec::new();
    for worker in workers {
        let (code, stderr) = finish(worker);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        summaries.push(stderr);
    }
    let seen = per_id(&server);
    assert_eq!(seen.len(), 300, "every item was sent");
    assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
    assert_eq!(states(&pg, "share"), "final|300");
    let runs = rows_per_run(&pg, "share");
    assert_eq!(runs.len(), 3, "each worker took a share: {runs:?}");
    assert_eq!(runs.values().sum::<usize>(), 300);
    let claims = pg.query(
        "share",
        "SELECT max(claims) || '|' || min(claims) FROM steady_batch_items",
    );
    assert_eq!(claims.trim(), "1|1");
    let stored = pg.query(
        "share",
        "SELECT string_agg(flags, ' ') FROM steady_batch_runs",
    );
    assert!(!stored.contains("hunter2"), "{stored}");
    assert!(stored.contains("postgres:****@"), "{stored}");
    for summary in &summaries {
        assert!(
            summary.contains("steady batch finished: batch in.jsonl-")
                && summary.contains(": 300 items: 300 ok, 0 failed, 0 without a result"),
            "{summary}"
        );
    }

    // The results, from any machine.
    let results = steady(&["results", &url]);
    assert_eq!(results.code, 0, "{}", results.stderr);
    assert_eq!(results.stdout.lines().count(), 300);
    let first: serde_json::Value =
        serde_json::from_str(results.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["id"].as_str(), first["line"].as_u64()),
        (Some("id-1"), Some(1))
    );
    assert_eq!(first["status"], 200);
    let failed = steady(&["results", &url, "--only", "failed", "--format", "csv"]);
    assert_eq!(failed.stdout.lines().count(), 1, "the header only");

    // The same input again: the batch is done, nothing is sent.
    let again = steady(&[&args[..], &["--quiet"]].concat());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(server.total_hits(), 300);
}

#[test]
fn a_killed_workers_items_go_to_the_others_and_each_is_recorded_once() {
    let Some(Shared {
        pg,
        url,
        server,
        file,
    }) = shared("kill", 25, 400)
    else {
        return;
    };
    let f = file.to_str().unwrap();
    let args = [
        "batch",
        f,
        "--db",
        &url,
        "--concurrency",
        "4",
        "--fixed-concurrency",
        "--lease",
        "500ms",
        "--quiet",
    ];
    let mut doomed = spawn_batch(&args);
    let pid = doomed.id();
    // The doomed worker has written some results and holds items in flight.
    wait_until(|| {
        pg.query(
            "kill",
            "SELECT to_regclass('steady_batch_items') IS NOT NULL",
        )
        .trim()
            == "t"
    });
    wait_until(|| {
        pg.query(
            "kill",
            &format!(
                "SELECT count(*) FROM steady_batch_items i JOIN steady_batch_runs r ON r.id = i.run_id WHERE r.pid = {pid}"
            ),
        )
        .trim()
        .parse::<u32>()
        .unwrap_or(0)
            >= 20
    });
    let others: Vec<Child> = (0..2).map(|_| spawn_batch(&args)).collect();
    wait_until(|| server.total_hits() >= 60);
    doomed.kill().unwrap(); // SIGKILL
    doomed.wait().unwrap();
    for worker in others {
        let (code, stderr) = finish(worker);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(states(&pg, "kill"), "final|400");
    let seen = per_id(&server);
    assert_eq!(seen.len(), 400, "every item was sent");
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        twice.len() <= 4,
        "at most the killed worker's --concurrency sent twice: {twice:?}"
    );
    assert!(seen.values().all(|&n| n <= 2), "{seen:?}");
    // Those sent twice are exactly the items taken twice: the killed worker's.
    let reclaimed = pg.query(
        "kill",
        "SELECT id FROM steady_batch_items WHERE claims > 1 ORDER BY id",
    );
    let reclaimed: Vec<&str> = reclaimed.lines().collect();
    for id in &twice {
        assert!(
            reclaimed.contains(&id.as_str()),
            "{id} was sent twice but claimed once"
        );
    }
    let killed_run = pg.query(
        "kill",
        &format!("SELECT status FROM steady_batch_runs WHERE pid = {pid}"),
    );
    assert_eq!(killed_run.trim(), "running", "it never got to say it ended");
    assert_eq!(
        rows_per_run(&pg, "kill").len(),
        3,
        "the killed worker's results stay"
    );
}

#[test]
fn ctrl_c_gives_a_workers_items_back_at_once() {
    let Some(Shared {
        pg,
        url,
        server,
        file,
    }) = shared("ctrlc", 30, 200)
    else {
        return;
    };
    let f = file.to_str().unwrap();
    // A long lease: only giving the items back lets the next worker take them at once.
    let args = [
        "batch",
        f,
        "--db",
        &url,
        "--concurrency",
        "4",
        "--lease",
        "1h",
        "--quiet",
    ];
    let child = spawn_batch(&args);
    wait_until(|| server.total_hits() >= 20);
    interrupt(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("resume: steady batch"), "{stderr}");
    let held = pg.query(
        "ctrlc",
        "SELECT count(*) FROM steady_batch_items WHERE worker IS NOT NULL",
    );
    assert_eq!(held.trim(), "0", "nothing left held by the stopped worker");
    let status = pg.query("ctrlc", "SELECT status FROM steady_batch_runs");
    assert_eq!(status.trim(), "interrupted");
    let next = steady(&args);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(states(&pg, "ctrlc"), "final|200");
    assert!(per_id(&server).values().all(|&n| n == 1));
}

#[test]
fn a_finished_batchs_resumable_items_are_sent_again_with_resume() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("resume");
    let up = Arc::new(AtomicBool::new(false));
    let server = {
        let up = Arc::clone(&up);
        ScriptServer::builder()
            .route_fn("/x", move |_| {
                if up.load(Ordering::SeqCst) {
                    Reply::json(200, "{}")
                } else {
                    Reply::json(429, r#"{"error": "slow down"}"#)
                }
            })
            .start()
    };
    let d = dir("shared-resume");
    let file = tagged_input(&d, &server.url(""), 6);
    let f = file.to_str().unwrap();
    let base = [
        "batch",
        f,
        "--db",
        &url,
        "--retries",
        "1",
        "--backoff",
        "5ms",
        "--quiet",
    ];
    let gave_up = steady(&[&base[..], &["--max-wait", "300ms"]].concat());
    assert_eq!(gave_up.code, 9, "{}", gave_up.stderr);
    assert_eq!(states(&pg, "resume"), "resumable|6");
    let sent = server.total_hits();

    // Without --resume a finished batch sends nothing.
    up.store(true, Ordering::SeqCst);
    let idle = steady(&base);
    assert_eq!(idle.code, 9, "{}", idle.stderr);
    assert_eq!(server.total_hits(), sent);

    let resumed = steady(&[&base[..], &["--resume"]].concat());
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(states(&pg, "resume"), "final|6");
    assert_eq!(server.total_hits(), sent + 6);
    // Each row adds up its rounds: the first run's attempts and the resume's.
    let attempts = pg.query(
        "resume",
        "SELECT min(attempts) || '|' || max((outcome::jsonb ->> 'rounds')::int) FROM steady_batch_items",
    );
    let (min_attempts, rounds) = attempts.trim().split_once('|').unwrap();
    assert!(min_attempts.parse::<u32>().unwrap() >= 3, "{attempts}");
    assert!(rounds.parse::<u32>().unwrap() >= 2, "{attempts}");
}

#[test]
fn on_failure_stop_stops_every_worker_and_resume_goes_on() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("stop");
    let server = ScriptServer::builder()
        .route(
            "/x/bad",
            [Reply::json(404, r#"{"error": "no such thing"}"#)],
        )
        .fallback(Reply::json(200, "{}"))
        .start();
    let d = dir("shared-stop");
    let file = d.join("in.jsonl");
    let lines: Vec<String> = (1..=50)
        .map(|i| {
            let path = if i == 3 { "x/bad" } else { "x/ok" };
            format!(
                r#"{{"id": "id-{i}", "url": "{}", "headers": {{"X-Item": "id-{i}"}}}}"#,
                server.url(&format!("/{path}"))
            )
        })
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let f = file.to_str().unwrap();
    let args = [
        "batch",
        f,
        "--db",
        &url,
        "--concurrency",
        "1",
        "--on-failure",
        "stop",
    ];
    let first = steady(&args);
    assert_eq!(first.code, 9, "{}", first.stderr);
    assert!(
        first.stderr.contains("stopped at the first failure"),
        "{}",
        first.stderr
    );
    let sent = server.total_hits();
    assert!(sent < 50, "{sent}");

    // Another worker sees the batch stopped and sends nothing.
    let second = steady(&args);
    assert_eq!(second.code, 9, "{}", second.stderr);
    assert!(
        second.stderr.contains("stopped at the first failure"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains(" --resume"), "{}", second.stderr);
    assert_eq!(server.total_hits(), sent);

    // --resume clears the stop; the failed item keeps its result.
    let resumed = steady(&["batch", f, "--db", &url, "--resume", "--quiet"]);
    assert_eq!(resumed.code, 9, "{}", resumed.stderr);
    assert_eq!(states(&pg, "stop"), "final|50");
    assert_eq!(server.total_hits(), 50, "each item once");
}

#[test]
fn bad_uses_are_refused_before_anything_is_sent() {
    let Some(Shared {
        pg,
        url,
        server,
        file,
    }) = shared("refuse", 0, 5)
    else {
        return;
    };
    let f = file.to_str().unwrap();
    let first = steady(&["batch", f, "--db", &url, "--batch", "nightly", "--quiet"]);
    assert_eq!(first.code, 0, "{}", first.stderr);

    // Another input under the same name.
    let other = file.with_file_name("other.jsonl");
    std::fs::write(&other, format!("{{\"url\": \"{}\"}}\n", server.url("/y"))).unwrap();
    let o = other.to_str().unwrap();
    let refused = steady(&["batch", o, "--db", &url, "--batch", "nightly"]);
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the batch 'nightly' in postgres://postgres@127.0.0.1:")
            && refused.stderr.contains("holds another input"),
        "{}",
        refused.stderr
    );
    let nothing = steady(&["batch", o, "--db", &url, "--batch", "other", "--resume"]);
    assert_eq!(nothing.code, 64, "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("holds no batch 'other'"),
        "{}",
        nothing.stderr
    );
    let sqlite = steady(&["batch", f, "--batch", "nightly"]);
    assert_eq!(sqlite.code, 64, "{}", sqlite.stderr);
    assert!(sqlite
        .stderr
        .contains("--batch is for a batch shared through PostgreSQL"));
    let lease = steady(&["batch", f, "--db", &url, "--lease", "10ms"]);
    assert_eq!(lease.code, 64, "{}", lease.stderr);
    assert_eq!(server.total_hits(), 5, "only the first run sent anything");

    let unknown = steady(&["results", &url, "--batch", "nope"]);
    assert_eq!(unknown.code, 64, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("holds no batch 'nope'; the newest: nightly"),
        "{}",
        unknown.stderr
    );
    let empty = steady(&["results", &pg.database("empty")]);
    assert_eq!(empty.code, 64, "{}", empty.stderr);
    assert!(
        empty.stderr.contains("holds no steady batch"),
        "{}",
        empty.stderr
    );

    // A database that is not there: the password is not shown.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("postgres://postgres:hunter2@127.0.0.1:{port}/x");
    let down = steady(&["batch", f, "--db", &gone]);
    assert_eq!(down.code, 64, "{}", down.stderr);
    assert!(
        down.stderr
            .contains("cannot connect to postgres://postgres:****@127.0.0.1:"),
        "{}",
        down.stderr
    );
    assert!(
        down.stderr
            .contains("connection refused: nothing listens at that host and port"),
        "{}",
        down.stderr
    );
    assert!(!down.stderr.contains("hunter2"));
}

#[test]
fn the_password_comes_from_pgpassword_and_is_never_shown() {
    let Some(pg) = Postgres::start_with_password("s3cret-pw") else {
        return;
    };
    let url = pg.database("pw");
    let server = slow_server(0);
    let d = dir("shared-pw");
    let file = tagged_input(&d, &server.url(""), 5);
    let f = file.to_str().unwrap();
    let args = ["batch", f, "--db", &url, "--quiet"];
    let without = support::run(support::command().args(args).env_remove("PGPASSWORD"));
    assert_eq!(without.code, 64, "{}", without.stderr);
    assert!(
        without
            .stderr
            .contains("cannot connect to postgres://postgres@127.0.0.1:"),
        "{}",
        without.stderr
    );
    let wrong = support::run(support::command().args(args).env("PGPASSWORD", "nope"));
    assert_eq!(wrong.code, 64, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("password authentication failed"),
        "{}",
        wrong.stderr
    );
    assert_eq!(server.total_hits(), 0);
    let with = support::run(support::command().args(args).env("PGPASSWORD", "s3cret-pw"));
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert_eq!(server.total_hits(), 5);
    let results = support::run(
        support::command()
            .args(["results", &url])
            .env("PGPASSWORD", "s3cret-pw"),
    );
    assert_eq!(results.stdout.lines().count(), 5, "{}", results.stderr);
    let stored = pg.query("pw", "SELECT string_agg(flags, ' ') FROM steady_batch_runs");
    for text in [
        &without.stderr,
        &wrong.stderr,
        &with.stderr,
        &results.stdout,
        &stored,
    ] {
        assert!(!text.contains("s3cret-pw"), "{text}");
    }
}
