//! `steady sync` against a local paginated API whose data and faults the test
//! changes between runs: the nightly job, an outage mid-run, an error in a 200, a
//! pagination loop, kill -9, --restart, --since. The server counts each page it served;
//! the tests read the table back.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use steady_chaos::{Reply, ScriptServer};
use support::{command, steady, wait_until};

/// The API's state: its users, the page that fails and how, pages served.
#[derive(Default)]
struct Api {
    users: Vec<Value>,
    fail: Option<(u64, &'static str)>,
    served: HashMap<u64, u32>,
    delay: Duration,
}

fn start(api: Arc<Mutex<Api>>) -> ScriptServer {
    ScriptServer::builder()
        .route_fn("/users", move |req| {
            let page: u64 = req
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("page=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let mut api = api.lock().unwrap();
            *api.served.entry(page).or_default() += 1;
            if let Some((at, how)) = api.fail {
                if at == page {
                    return match how {
                        "503" => Reply::status(503),
                        "error" => Reply::json(200, r#"{"error": "quota exceeded"}"#),
                        _ => Reply::json(200, r#"{"items": []}"#),
                    };
                }
            }
            let from = ((page - 1) * 10) as usize;
            let data: Vec<Value> = api.users.iter().skip(from).take(10).cloned().collect();
            Reply::json(200, json!({"data": data}).to_string()).delay(api.delay)
        })
        .start()
}

fn users(n: u64) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"id": i, "email": format!("u{i}@example.org"), "age": 20 + i, "active": i % 2 == 0, "updated_at": format!("2026-12-{:02}", i % 28 + 1)}))
        .collect()
}

fn db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("steady-sync-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("app.db")
}

fn sync_args<'a>(url: &'a str, db: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sync",
        url,
        "--into",
        db.to_str().unwrap(),
        "--table",
        "users",
        "--records",
        "$.data",
        "--key",
        "$.id",
        "--next",
        "page=page",
        "--column",
        "email=$.email",
        "--column",
        "age:integer=$.age",
        "--backoff",
        "1ms",
        "--retries",
        "1",
    ];
    args.extend_from_slice(extra);
    args
}

/// The table: key -> email.
fn table(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT key, email FROM users ORDER BY CAST(key AS INTEGER)")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The last page the run in progress committed, once the database has one.
fn committed_page(db: &Path) -> Option<u64> {
    rusqlite::Connection::open(db)
        .and_then(|c| {
            c.query_row("SELECT page FROM steady_sync_state", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .ok()
        .map(|p| p as u64)
}

fn served(api: &Arc<Mutex<Api>>, page: u64) -> u32 {
    api.lock().unwrap().served.get(&page).copied().unwrap_or(0)
}

#[test]
fn the_nightly_job_inserts_updates_and_deletes_in_one_transaction() {
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("nightly");
    let first = steady(&sync_args(&url, &db, &["--delete-missing"]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("users in ")
            && first.stderr.contains(": 25 records in 4 pages (a page with no records): 25 inserted, 0 updated, 0 deleted, 0 unchanged"),
        "{}",
        first.stderr
    );
    assert_eq!(table(&db).len(), 25);
    assert_eq!(table(&db)[2], ("3".into(), "u3@example.org".into()));
    let (age, kind): (i64, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT age, typeof(age) FROM users WHERE key = '3'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((age, kind.as_str()), (23, "integer"), "a typed column");
    // The next night: user 3 changed address, user 25 left, user 26 joined.
    {
        let mut api = api.lock().unwrap();
        api.users[2]["email"] = json!("new3@example.org");
        api.users.pop();
        api.users
            .push(json!({"id": 26, "email": "u26@example.org"}));
    }
    let second = steady(&sync_args(&url, &db, &["--delete-missing"]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("1 inserted, 1 updated, 1 deleted, 23 unchanged"),
        "{}",
        second.stderr
    );
    let rows = table(&db);
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[2].1, "new3@example.org");
    assert!(!rows.iter().any(|(k, _)| k == "25") && rows.iter().any(|(k, _)| k == "26"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let runs: Vec<(i64, i64, i64, i64)> = conn
        .prepare("SELECT inserted, updated, deleted, unchanged FROM steady_sync_runs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs, [(25, 0, 0, 0), (1, 1, 1, 23)]);
}

#[test]
fn an_outage_mid_run_leaves_the_table_unchanged_and_the_next_run_continues() {
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("outage");
    assert_eq!(steady(&sync_args(&url, &db, &[])).code, 0);
    let before = table(&db);
    // Tonight: everyone changed, and page 2 is down.
    {
        let mut api = api.lock().unwrap();
        for u in &mut api.users {
            u["email"] = json!(format!("x{}@example.org", u["id"]));
        }
        api.fail = Some((2, "503"));
        api.served.clear();
    }
    let failed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(failed.code, 5, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("stopped at page 2: HTTP 503")
            && failed.stderr.contains("the table users in ")
            && failed.stderr.contains("is unchanged")
            && failed
                .stderr
                .contains("run the same command again to continue from there"),
        "{}",
        failed.stderr
    );
    assert_eq!(table(&db), before, "not one row of page 1 applied");
    assert_eq!(
        (served(&api, 1), served(&api, 2)),
        (1, 2),
        "page 2 and its retry"
    );
    // The API is back: the same command continues from page 2.
    api.lock().unwrap().fail = None;
    let resumed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("continued after page 1 of an earlier run; no page was fetched twice"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("0 inserted, 25 updated"),
        "{}",
        resumed.stderr
    );
    assert_eq!(served(&api, 1), 1, "page 1 was not fetched again");
    assert!(table(&db)
        .iter()
        .all(|(k, e)| e == &format!("x{k}@example.org")));
}

#[test]
fn an_error_in_a_200_stops_the_run_the_same_way_and_restart_starts_over() {
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        fail: Some((3, "error")),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("error-200");
    let failed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(failed.code, 7, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("stopped at page 3"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("quota exceeded"),
        "{}",
        failed.stderr
    );
    assert!(table(&db).is_empty(), "nothing applied");
    // Other arguments with a run in progress: refused, with what to do.
    let other = steady(&sync_args(&url, &db, &["--delete-missing"]));
    assert_eq!(other.code, 64, "{}", other.stderr);
    assert!(
        other.stderr.contains("--restart to discard it"),
        "{}",
        other.stderr
    );
    // --restart fetches from page 1 again.
    api.lock().unwrap().fail = None;
    let restarted = steady(&sync_args(&url, &db, &["--restart"]));
    assert_eq!(restarted.code, 0, "{}", restarted.stderr);
    assert_eq!(served(&api, 1), 2);
    assert_eq!(table(&db).len(), 25);
}

#[test]
fn a_page_without_records_and_a_pagination_loop_stop_with_the_table_untouched() {
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        fail: Some((2, "no-records")),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("shape");
    let out = steady(&sync_args(&url, &db, &[]));
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the records path $.data matches nothing"),
        "{}",
        out.stderr
    );
    assert!(table(&db).is_empty());
    // A next link that points back: a loop, not a silent end.
    let looping = ScriptServer::builder()
        .route(
            "/a",
            [Reply::json(200, r#"{"data": [{"id": 1}], "next": "/b"}"#)],
        )
        .route(
            "/b",
            [Reply::json(200, r#"{"data": [{"id": 2}], "next": "/a"}"#)],
        )
        .start();
    let db2 = db.with_file_name("loop.db");
    let url = looping.url("/a");
    let mut args = sync_args(&url, &db2, &[]);
    let next = args.iter().position(|a| *a == "page=page").unwrap();
    args[next] = "$.next";
    let out = steady(&args);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr.contains("pagination loop: page 2"),
        "{}",
        out.stderr
    );
    assert!(table(&db2).is_empty());
}

#[test]
fn kill_9_mid_run_loses_nothing_and_fetches_no_committed_page_twice() {
    let api = Arc::new(Mutex::new(Api {
        users: users(60),
        delay: Duration::from_millis(150),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("kill");
    let mut child = command()
        .args(sync_args(&url, &db, &["-q"]))
        .spawn()
        .unwrap();
    // Wait until page 2 is committed, then kill without warning.
    wait_until(|| committed_page(&db).is_some_and(|p| p >= 2));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        table(&db).is_empty(),
        "nothing applied before the last page"
    );
    let committed = committed_page(&db).unwrap();
    let resumed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(table(&db).len(), 60);
    for page in 1..=committed {
        assert_eq!(
            served(&api, page),
            1,
            "page {page} was committed: not fetched again"
        );
    }
    assert!(
        served(&api, committed + 1) <= 2,
        "only the page in flight twice"
    );
}

#[test]
fn since_stores_the_cursor_and_sends_it_next_time() {
    let api = Arc::new(Mutex::new(Api {
        users: users(12),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("since");
    let extra = ["--since", "$.updated_at", "--since-param", "updated_since"];
    let first = steady(&sync_args(&url, &db, &extra));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("next run: updated_since=2026-12-13"),
        "{}",
        first.stderr
    );
    steady(&sync_args(&url, &db, &extra));
    let last_first_page = server
        .requests()
        .into_iter()
        .filter(|r| r.query().is_some_and(|q| q.contains("updated_since")))
        .count();
    assert!(
        last_first_page >= 1,
        "the second run asked for what changed since"
    );
    let with_delete = steady(&sync_args(
        &url,
        &db,
        &[
            "--since",
            "$.updated_at",
            "--since-param",
            "u",
            "--delete-missing",
        ],
    ));
    assert_eq!(with_delete.code, 64, "{}", with_delete.stderr);
}

// ---------------------------------------------------------------------------------
// PostgreSQL: the same guarantees in a real server the test starts.

#[test]
fn postgres_the_nightly_job_and_an_outage_leave_the_table_whole() {
    let Some(pg) = support::postgres::Postgres::start() else {
        return;
    };
    let into = pg.database("app");
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = vec![
            "sync",
            &url,
            "--into",
            &into,
            "--table",
            "users",
            "--records",
            "$.data",
            "--key",
            "$.id",
            "--next",
            "page=page",
            "--column",
            "email=$.email",
            "--backoff",
            "1ms",
            "--retries",
            "1",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |a: Vec<String>| steady(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let first = run(args(&["--delete-missing"]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("users in postgres://postgres@127.0.0.1:"),
        "{}",
        first.stderr
    );
    assert_eq!(pg.query("app", "SELECT count(*) FROM users").trim(), "25");
    assert_eq!(
        pg.query(
            "app",
            "SELECT email, record->>'email' FROM users WHERE key = '3'"
        )
        .trim(),
        "u3@example.org|u3@example.org"
    );
    // Tonight: user 3 changed, user 25 left, and page 2 is down.
    {
        let mut api = api.lock().unwrap();
        api.users[2]["email"] = json!("new3@example.org");
        api.users.pop();
        api.fail = Some((2, "503"));
        api.served.clear();
    }
    let before = pg.query("app", "SELECT key, email FROM users ORDER BY key");
    let failed = run(args(&["--delete-missing"]));
    assert_eq!(failed.code, 5, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("stopped at page 2"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        pg.query("app", "SELECT key, email FROM users ORDER BY key"),
        before,
        "unchanged"
    );
    api.lock().unwrap().fail = None;
    let resumed = run(args(&["--delete-missing"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("0 inserted, 1 updated, 1 deleted, 23 unchanged"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("continued after page 1"),
        "{}",
        resumed.stderr
    );
    assert_eq!(served(&api, 1), 1, "page 1 not fetched twice");
    assert_eq!(pg.query("app", "SELECT count(*) FROM users").trim(), "24");
    assert_eq!(
        pg.query(
            "app",
            "SELECT inserted, updated, deleted, unchanged FROM steady_sync_runs ORDER BY id"
        )
        .trim(),
        "25|0|0|0\n0|1|1|23"
    );
}

#[test]
fn postgres_that_cannot_be_reached_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let into = format!("postgres://app:s3cret@127.0.0.1:{port}/app");
    let out = steady(&[
        "sync",
        "http://127.0.0.1:9/users",
        "--into",
        &into,
        "--table",
        "users",
        "--records",
        "$.data",
        "--key",
        "$.id",
        "--next",
        "link",
    ]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot connect to postgres://app:****@127.0.0.1:{port}/app: connection refused"
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cret"));
}

#[test]
fn ctrl_c_stops_between_pages_and_the_same_command_continues() {
    let api = Arc::new(Mutex::new(Api {
        users: users(60),
        delay: Duration::from_millis(100),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("ctrl-c");
    let child = command()
        .args(sync_args(&url, &db, &[]))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(|| committed_page(&db).is_some_and(|p| p >= 2));
    support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted after") && stderr.contains("is unchanged"),
        "{stderr}"
    );
    assert!(table(&db).is_empty());
    let resumed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("continued after page"),
        "{}",
        resumed.stderr
    );
    assert_eq!(table(&db).len(), 60);
    assert_eq!(served(&api, 1), 1);
}

#[test]
fn a_second_sync_of_the_same_table_is_refused_while_one_runs() {
    let api = Arc::new(Mutex::new(Api {
        users: users(40),
        delay: Duration::from_millis(150),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("overlap");
    let mut first = command()
        .args(sync_args(&url, &db, &["-q"]))
        .spawn()
        .unwrap();
    wait_until(|| served(&api, 1) >= 1);
    let second = steady(&sync_args(&url, &db, &[]));
    assert_eq!(second.code, 64, "{}", second.stderr);
    assert!(
        second.stderr.contains("a sync of users into ") && second.stderr.contains("is running"),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(table(&db).len(), 40);
    assert_eq!(served(&api, 1), 1, "the second run fetched nothing");
}

#[test]
fn postgres_a_second_sync_of_the_same_table_is_refused_while_one_runs() {
    let Some(pg) = support::postgres::Postgres::start() else {
        return;
    };
    let into = pg.database("overlap");
    let api = Arc::new(Mutex::new(Api {
        users: users(40),
        delay: Duration::from_millis(150),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let args = [
        "sync",
        &url,
        "--into",
        &into,
        "--table",
        "users",
        "--records",
        "$.data",
        "--key",
        "$.id",
        "--next",
        "page=page",
        "-q",
    ];
    let mut first = command().args(args).spawn().unwrap();
    wait_until(|| served(&api, 1) >= 1);
    let second = steady(&args);
    assert_eq!(second.code, 64, "{}", second.stderr);
    assert!(second.stderr.contains("is running"), "{}", second.stderr);
    assert!(first.wait().unwrap().success());
    assert_eq!(
        pg.query("overlap", "SELECT count(*) FROM users").trim(),
        "40"
    );
}

#[test]
fn a_first_page_that_does_not_match_leaves_the_database_as_it_was() {
    let api = Arc::new(Mutex::new(Api {
        users: users(5),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("first-page");
    // A wrong records path: nothing is created, not even the file.
    let mut wrong = sync_args(&url, &db, &[]);
    let records = wrong.iter().position(|a| *a == "$.data").unwrap();
    wrong[records] = "$.items";
    let out = steady(&wrong);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr.contains("stopped at page 1") && out.stderr.contains("nothing was written to"),
        "{}",
        out.stderr
    );
    assert!(!db.exists(), "no database file was created");
    // The corrected command runs at once, without --restart.
    let fixed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(table(&db).len(), 5);
    assert!(
        fixed
            .stderr
            .contains(": 5 records in 2 pages (a page with no records)"),
        "{}",
        fixed.stderr
    );
    // In a database that exists, a failed first run of another table adds no table.
    let tables = |db: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = tables(&db);
    let mut other = wrong.clone();
    let t = other.iter().position(|a| *a == "users").unwrap();
    other[t] = "accounts";
    let out = steady(&other);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(tables(&db), before);
}

#[test]
fn runs_are_stored_in_rfc3339_and_quiet_prints_nothing_on_success() {
    let api = Arc::new(Mutex::new(Api {
        users: users(25),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("quiet");
    let out = steady(&sync_args(&url, &db, &["-q"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "-q: the exit code tells");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (started, finished): (String, String) = conn
        .query_row(
            "SELECT started_at, finished_at FROM steady_sync_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    for at in [&started, &finished] {
        // 2026-12-05T16:35:55Z or with a fraction of a second.
        let b = at.as_bytes();
        assert!(
            at.len() >= 20
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b'T'
                && b[13] == b':'
                && at.ends_with('Z'),
            "{at}"
        );
    }
}

#[test]
fn a_continued_run_numbers_its_pages_after_the_committed_ones() {
    let api = Arc::new(Mutex::new(Api {
        users: users(35),
        fail: Some((3, "503")),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("numbers");
    let failed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(failed.code, 5, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("users: page 2 in, 20 records so far"),
        "{}",
        failed.stderr
    );
    api.lock().unwrap().fail = None;
    let resumed = steady(&sync_args(&url, &db, &[]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("continuing users after page 2 (20 records staged)"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed
            .stderr
            .contains("users: page 3 in, 30 records so far")
            && resumed
                .stderr
                .contains("users: page 4 in, 35 records so far")
            && resumed.stderr.contains(": 35 records in 5 pages"),
        "{}",
        resumed.stderr
    );
}

#[test]
fn a_failed_first_page_leaves_a_database_of_someone_elses_byte_for_byte() {
    let api = Arc::new(Mutex::new(Api {
        users: users(5),
        fail: Some((1, "503")),
        ..Api::default()
    }));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("foreign");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('theirs');")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let out = steady(&sync_args(&url, &db, &[]));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was written to"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte changed");
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!Path::new(&wal).exists(), "not switched to WAL");
}

#[test]
fn the_summary_says_one_page_in_the_singular() {
    let api = Arc::new(Mutex::new(Api::default()));
    let server = start(Arc::clone(&api));
    let url = server.url("/users");
    let db = db("one-page");
    let out = steady(&sync_args(&url, &db, &[]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(": 0 records in 1 page (a page with no records): 0 inserted"),
        "{}",
        out.stderr
    );
    assert_eq!(served(&api, 1), 1);
    assert_eq!(served(&api, 2), 0);
}
