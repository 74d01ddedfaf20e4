//! The batch's data-safety promises, each tried the way an operator would break it: a
//! second run on a live database, a full disk, a lock held too long, rounds that must
//! add up, a report read by another user or from read-only media, a file that is not
//! steady's or is corrupt, and a cache that cannot be written.

mod support;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use steady_chaos::{Reply, ScriptServer};
use support::batch::*;
use support::fs::{digest, privileged, Mount, NOBODY};
use support::{command, interrupt, run, steady, wait_until};

/// The stored outcome of every item, by id.
fn outcomes(db: &Path) -> HashMap<String, Value> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id, outcome FROM items").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .map(|(id, text)| (id, serde_json::from_str(&text).unwrap()))
        .collect();
    rows
}

/// Every item sent once, but those without a saved result before `saved` was read:
/// at most `twice` of them sent a second time.
fn assert_only_unsaved_sent_again(server: &ScriptServer, saved: &[String], n: usize, twice: usize) {
    let seen = per_id(server);
    for id in saved {
        assert_eq!(seen[id], 1, "{id} had a saved result and was sent again");
    }
    for i in 1..=n {
        let count = seen.get(&format!("id-{i}")).copied().unwrap_or(0);
        assert!((1..=2).contains(&count), "id-{i} sent {count} times");
    }
    let again = seen.values().filter(|c| **c == 2).count();
    assert!(again <= twice, "{again} items sent twice (at most {twice})");
}

#[test]
fn a_second_run_on_a_live_database_is_refused_and_a_killed_one_resumes_at_once() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, "{}").delay(Duration::from_millis(40))],
        )
        .start();
    let d = dir("live");
    let file = tagged_input(&d, &server.url(""), 150);
    let db = d.join("r.db");
    let (f, b) = (file.to_str().unwrap(), db.to_str().unwrap());
    let mut first = spawn_batch(&["batch", f, "--db", b, "--concurrency", "4", "--quiet"]);
    wait_for_rows(&db, 5);
    let hits = server.total_hits();
    for args in [
        vec!["batch", f, "--db", b, "--resume"],
        vec!["batch", f, "--db", b],
    ] {
        let second = steady(&args);
        assert_eq!(second.code, 64, "{}", second.stderr);
        assert!(
            second
                .stderr
                .contains(&format!("a run on {b} is live: process {} on ", first.id())),
            "{}",
            second.stderr
        );
    }
    // The first run went on alone: the refused ones sent nothing of their own.
    assert!(server.total_hits() <= hits + 4 * 10);
    first.kill().unwrap(); // SIGKILL: the lock goes with the process.
    first.wait().unwrap();
    let saved = db_ids(&db);
    assert!(saved.len() < 150, "{} results before the kill", saved.len());
    let resumed = steady(&["batch", f, "--db", b, "--resume", "--quiet"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(db_ids(&db).len(), 150);
    assert_only_unsaved_sent_again(&server, &saved, 150, 4);
}

#[test]
fn a_full_disk_stops_the_run_and_resume_sends_only_the_unsaved_items() {
    if !privileged("a_full_disk_stops_the_run") {
        return;
    }
    let body = format!(r#"{{"data": "{}"}}"#, "x".repeat(1500));
    let server = ScriptServer::builder()
        .route("/x", [Reply::json(200, body)])
        .start();
    let d = dir("full");
    let file = tagged_input(&d, &server.url(""), 3000);
    let disk = Mount::tmpfs(&d.join("disk"), "1536k");
    let db = disk.path.join("r.db");
    let (f, b) = (file.to_str().unwrap(), db.to_str().unwrap());
    let full = steady(&[
        "batch",
        f,
        "--db",
        b,
        "--concurrency",
        "8",
        "--store-body",
        "--quiet",
    ]);
    assert_eq!(full.code, 74, "{}", full.stderr);
    assert!(
        full.stderr.contains(&format!(
            "stopped: results could not be saved to {b}: the disk holding {b} is full"
        )),
        "{}",
        full.stderr
    );
    assert!(
        full.stderr
            .contains(&format!("resume: steady batch {f} --db {b} --resume")),
        "{}",
        full.stderr
    );
    let saved = db_ids(&db);
    assert!(
        !saved.is_empty() && saved.len() < 3000,
        "{} saved",
        saved.len()
    );
    // Stopped at once: beyond the saved results, at most the items in flight.
    assert!(
        server.total_hits() <= saved.len() + 8,
        "{} sent, {} saved",
        server.total_hits(),
        saved.len()
    );
    disk.resize("64m");
    let resumed = steady(&["batch", f, "--db", b, "--resume", "--quiet", "--store-body"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(db_ids(&db).len(), 3000);
    assert_only_unsaved_sent_again(&server, &saved, 3000, 8);
}

#[test]
fn a_lock_held_past_the_bound_stops_the_run_resumable() {
    let d = dir("held");
    let db = d.join("r.db");
    let held: Arc<Mutex<Option<rusqlite::Connection>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let server = {
        let (db, held, count) = (db.clone(), Arc::clone(&held), Arc::clone(&count));
        ScriptServer::builder()
            .route_fn("/x", move |_| {
                // The 30th request: another process takes the write lock and keeps it.
                if count.fetch_add(1, Ordering::SeqCst) == 29 {
                    let conn = rusqlite::Connection::open(&db).unwrap();
                    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                    *held.lock().unwrap() = Some(conn);
                }
                Reply::json(200, "{}").delay(Duration::from_millis(5))
            })
            .start()
    };
    let file = tagged_input(&d, &server.url(""), 200);
    let (f, b) = (file.to_str().unwrap(), db.to_str().unwrap());
    let stopped = steady(&[
        "batch",
        f,
        "--db",
        b,
        "--concurrency",
        "4",
        "--db-lock-timeout",
        "100ms",
        "--quiet",
    ]);
    assert_eq!(stopped.code, 74, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains(&format!("the database {b} is locked by another process")),
        "{}",
        stopped.stderr
    );
    let saved = db_ids(&db);
    assert!(server.total_hits() <= saved.len() + 4);
    held.lock().unwrap().take();
    let resumed = steady(&["batch", f, "--db", b, "--resume", "--quiet"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(db_ids(&db).len(), 200);
    assert_only_unsaved_sent_again(&server, &saved, 200, 4);
}

/// Each item's row against what the server received for it: attempts, attempt log
/// and rounds.
fn assert_rows_match_the_server(db: &Path, server: &ScriptServer, min_rounds: u64) {
    let seen = per_id(server);
    let rows = outcomes(db);
    assert!(!rows.is_empty());
    for (id, outcome) in &rows {
        let attempts = outcome["attempts"].as_u64().unwrap();
        assert_eq!(attempts as usize, seen[id], "{id}: {outcome}");
        let log = outcome["attempt_log"].as_array().unwrap();
        assert_eq!(log.len() as u64, attempts, "{id}: {outcome}");
        let numbers: Vec<u64> = log.iter().map(|a| a["attempt"].as_u64().unwrap()).collect();
        assert_eq!(numbers, (1..=attempts).collect::<Vec<_>>(), "{id}");
        assert!(
            outcome["rounds"].as_u64().unwrap() >= min_rounds,
            "{id}: {outcome}"
        );
        assert!(log.iter().all(|a| a["round"].as_u64().is_some()), "{id}");
    }
}

#[test]
fn attempts_add_up_over_every_round_and_every_resume() {
    // Down (429) until `up`; then every answer is good.
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
    let d = dir("rounds");
    let file = tagged_input(&d, &server.url(""), 6);
    let db = d.join("r.db");
    let (f, b) = (file.to_str().unwrap(), db.to_str().unwrap());
    let flags = ["--retries", "1", "--backoff", "5ms", "--quiet"];
    // Round 1 fails, the item waits, round 2 fails past --max-wait: resumable rows.
    let gave_up = steady(&[&["batch", f, "--db", b, "--max-wait", "300ms"], &flags[..]].concat());
    assert_eq!(gave_up.code, 9, "{}", gave_up.stderr);
    assert_rows_match_the_server(&db, &server, 2);

    // A resume that is interrupted while its items wait: their rounds are kept.
    let mut child = command()
        .args([&["batch", f, "--db", b, "--resume"], &flags[..]].concat())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let before = server.total_hits();
    wait_until(|| server.total_hits() >= before + 6);
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));

    up.store(true, Ordering::SeqCst);
    let finished = steady(&[&["batch", f, "--db", b, "--resume"], &flags[..]].concat());
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert_rows_match_the_server(&db, &server, 4);
    let carried: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM carried", [], |r| r.get(0))
        .unwrap();
    assert_eq!(carried, 0, "a final row replaces the carried rounds");
}

/// A finished run's database, for the readers.
fn finished_db(name: &str, n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"v": 1}"#))
        .start();
    let d = tempfile::Builder::new()
        .prefix(&format!("steady-batch-{name}"))
        .tempdir()
        .unwrap();
    let file = tagged_input(d.path(), &server.url(""), n);
    let db = d.path().join("r.db");
    let run = steady(&[
        "batch",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--store-body",
        "--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (d, db)
}

#[test]
fn results_read_as_another_user_and_from_read_only_media_write_nothing() {
    if !privileged("results_read_as_another_user") {
        return;
    }
    let (dir, db) = finished_db("readers", 40);
    let before = digest(&db);
    std::fs::remove_file(steady_batch::store::RunLock::path_for(&db)).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let files = listing();
    // Another user, who cannot write the folder or the file.
    let mut cmd = command();
    cmd.args(["results", db.to_str().unwrap(), "--format", "csv"])
        .uid(NOBODY)
        .gid(NOBODY);
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 41, "a header and 40 rows");
    // Read-only media.
    let media = Mount::read_only(dir.path(), &dir.path().with_extension("ro"));
    let out = steady(&["results", media.path.join("r.db").to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 40);
    drop(media);
    assert_eq!(digest(&db), before, "nothing was written to the database");
    assert_eq!(listing(), files, "no -wal, -shm or other file was created");
}

#[test]
fn a_file_that_is_not_a_steady_database_is_refused_and_left_as_it_was() {
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    let d = dir("foreign");
    let file = input(&d, &server.url(""), 3);
    let other = d.join("app.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');")
        .unwrap();
    let text = d.join("notes.txt");
    std::fs::write(
        &text,
        "not a database at all, just some notes\n".repeat(200),
    )
    .unwrap();
    for (path, says) in [
        (&other, "is a SQLite database but not steady's batch results (its tables: users); nothing was written to it"),
        (&text, "is not a SQLite database (nor a steady batch database); nothing was written to it"),
    ] {
        let p = path.to_str().unwrap();
        let before = digest(path);
        let out = steady(&["results", p]);
        assert_eq!(out.code, 64, "{}", out.stderr);
        assert!(out.stderr.contains(&format!("{p} {says}")), "{}", out.stderr);
        let out = steady(&["batch", file.to_str().unwrap(), "--db", p, "--resume"]);
        assert_eq!(out.code, 64, "{}", out.stderr);
        assert!(out.stderr.contains(&format!("{p} {says}")), "{}", out.stderr);
        assert_eq!(digest(path), before, "{p} was written to");
    }
    let missing = d.join("missing.db");
    let out = steady(&["results", missing.to_str().unwrap()]);
    assert_eq!(out.code, 64);
    assert!(
        out.stderr.contains("missing.db does not exist"),
        "{}",
        out.stderr
    );
    assert!(!missing.exists(), "reading does not create the file");
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn a_corrupt_database_is_refused_before_anything_is_written_or_sent() {
    let (dir, db) = finished_db("corrupt", 200);
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    let file = tagged_input(dir.path(), &server.url(""), 200);
    // Garbage over the pages in the middle of the file.
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 5 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[2 * 4096..4 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let before = digest(&db);
    let b = db.to_str().unwrap();
    let out = steady(&["results", b]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("the database {b} is corrupt")),
        "{}",
        out.stderr
    );
    let out = steady(&["batch", file.to_str().unwrap(), "--db", b, "--resume"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("the database {b} is corrupt"))
            && out.stderr.contains("nothing was written to it"),
        "{}",
        out.stderr
    );
    assert_eq!(digest(&db), before);
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn a_cache_that_cannot_be_used_is_bypassed_with_a_warning_and_a_read_only_one_still_serves() {
    let server = ScriptServer::builder()
        .route(
            "/x",
            [Reply::json(200, r#"{"v": "cached"}"#), Reply::status(503)],
        )
        .fallback(Reply::json(200, r#"{"v": "live"}"#))
        .start();
    let d = dir("cache");
    // A file that is not a cache: the call goes on, and says so without -v.
    let garbage = d.join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let g = garbage.to_str().unwrap();
    let out = steady(&[
        "get",
        &server.url("/y"),
        "--fallback",
        "cache",
        "--cache",
        g,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("live"), "{}", out.stdout);
    assert!(
        out.stderr.starts_with(&format!(
            "steady: warning: the cache {g} is not a SQLite database; bypassed"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&garbage).unwrap(), vec![0x42u8; 8192]);

    if !privileged("a_read_only_cache_still_serves") {
        return;
    }
    let cache = d.join("rw").join("cache.db");
    let c = cache.to_str().unwrap();
    let first = steady(&[
        "get",
        &server.url("/x"),
        "--fallback",
        "cache",
        "--cache",
        c,
    ]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.is_empty(), "{}", first.stderr);
    let media = Mount::read_only(&d.join("rw"), &d.join("ro"));
    let ro = media.path.join("cache.db");
    let r = ro.to_str().unwrap();
    let args = ["--fallback", "cache", "--cache", r, "--retries", "0"];
    // The live call fails: the read-only cache still answers.
    let served = steady(&[&["get", &server.url("/x")][..], &args[..]].concat());
    assert_eq!(served.code, 0, "{}", served.stderr);
    assert!(served.stdout.contains("cached"), "{}", served.stdout);
    // A good answer cannot be stored: said once, on stderr, without -v.
    let live = steady(&[&["get", &server.url("/z")][..], &args[..]].concat());
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(
        live.stderr.contains(&format!(
            "warning: the cache {r} is read-only: new answers are not stored (it is still read for fallbacks); bypassed"
        )),
        "{}",
        live.stderr
    );
    assert_eq!(live.stderr.matches("warning").count(), 1, "{}", live.stderr);
    // As another user, who cannot write the folder: the same.
    let mut cmd = command();
    cmd.args(
        [
            &["get", &server.url("/x")][..],
            &["--fallback", "cache", "--cache", c, "--retries", "0"][..],
        ]
        .concat(),
    )
    .uid(NOBODY)
    .gid(NOBODY);
    let other = run(&mut cmd);
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(other.stdout.contains("cached"), "{}", other.stdout);
}
