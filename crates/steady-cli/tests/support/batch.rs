//! Helpers of the batch tests: inputs, what the server saw per item, what the
//! database holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use steady_chaos::ScriptServer;

use super::command;

pub fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("steady-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An input of `n` items `id-1`... against `base` + `/items/N`.
pub fn input(dir: &Path, base: &str, n: usize) -> PathBuf {
    let path = dir.join("in.jsonl");
    let lines: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                r#"{{"id": "id-{i}", "url": "{base}/items/{}"}}"#,
                (i - 1) % 100 + 1
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Requests the server saw, per item id (from the `X-Item` header set per line).
pub fn per_id(server: &ScriptServer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in server.requests() {
        *counts
            .entry(r.header("x-item").unwrap_or("").to_owned())
            .or_default() += 1;
    }
    counts
}

pub fn tagged_input(dir: &Path, base: &str, n: usize) -> PathBuf {
    let path = dir.join("in.jsonl");
    let lines: Vec<String> = (1..=n)
        .map(|i| {
            format!(r#"{{"id": "id-{i}", "url": "{base}/x", "headers": {{"X-Item": "id-{i}"}}}}"#)
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

pub fn db_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM items").unwrap();
    let ids = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids
}

pub fn spawn_batch(args: &[&str]) -> Child {
    command()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn wait_for_rows(db: &Path, at_least: usize) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if db.exists() && std::panic::catch_unwind(|| db_ids(db).len()).unwrap_or(0) >= at_least {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("fewer than {at_least} results in time");
}
