//! What a new user and servers nobody on the team wrote (json-server, httpbin,
//! WireMock) found on first contact: bodies sent without their type, NDJSON refused,
//! credential headers printed, limits of 0 and folders that do not exist. Each test
//! asserts what the local server saw.

mod support;

use std::io::Write;
use std::process::Stdio;

use steady_chaos::{Reply, ScriptServer};
use support::fs::temp_dir;
use support::{command, steady};

fn server() -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(201, r#"{"id": 7}"#))
        .start()
}

#[test]
fn a_body_from_a_file_carries_the_type_its_name_or_its_bytes_say() {
    let dir = temp_dir("types");
    let cases: [(&str, &[u8], &str); 6] = [
        ("note.json", br#"{"title": "x"}"#, "application/json"),
        ("rows.csv", b"a,b\n1,2\n", "text/csv"),
        ("page.html", b"<p>hi</p>", "text/html; charset=utf-8"),
        ("doc.xml", b"<doc/>", "application/xml"),
        // No extension: the bytes decide.
        ("payload", br#"[{"id": 1}]"#, "application/json"),
        ("words", b"plain words", "text/plain; charset=utf-8"),
    ];
    let srv = server();
    for (name, bytes, want) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = steady(&[
            "post",
            &srv.url(&format!("/{name}")),
            &format!("@{}", path.display()),
        ]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let seen = srv.requests().pop().unwrap();
        assert_eq!(seen.header("content-type"), Some(want), "{name}");
        assert_eq!(&seen.body[..], bytes, "{name}: the body as it is");
    }
    // A Content-Type given is kept.
    let path = dir.join("note.json");
    let out = steady(&[
        "put",
        &srv.url("/doc/7"),
        &format!("@{}", path.display()),
        "Content-Type:application/merge-patch+json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = srv.requests().pop().unwrap();
    assert_eq!(
        seen.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>(),
        ["application/merge-patch+json"],
        "one Content-Type, the one given"
    );
}

#[test]
fn a_json_body_on_standard_input_is_sent_as_json() {
    let srv = server();
    let mut child = command()
        .args(["post", &srv.url("/notes"), "@-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"title": "from stdin"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = srv.requests().pop().unwrap();
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(&seen.body[..], br#"{"title": "from stdin"}"#);
}

#[test]
fn a_batch_line_body_of_json_text_is_sent_as_json() {
    let srv = server();
    let dir = temp_dir("batch-body");
    let input = dir.join("in.jsonl");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": "a", "method": "PUT", "url": srv.url("/a"), "body": "{\"n\": 1}"}),
            serde_json::json!({"id": "b", "method": "PUT", "url": srv.url("/b"), "body": "n=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        ),
    )
    .unwrap();
    let db = dir.join("r.db");
    let out = steady(&[
        "batch",
        input.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut seen = srv.requests();
    seen.sort_by(|a, b| a.target.cmp(&b.target));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(&seen[0].body[..], b"{\"n\": 1}");
    assert_eq!(
        seen[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

const NDJSON: &str = "{\"id\": 1, \"url\": \"/stream/3\"}\n{\"id\": 2, \"url\": \"/stream/3\"}\n{\"id\": 3, \"url\": \"/stream/3\"}\n";

#[test]
fn json_lines_labelled_application_json_are_printed_and_checked_per_line() {
    // httpbin's /stream/N: one JSON object per line, labelled application/json.
    let srv = ScriptServer::builder()
        .route("/stream/3", [Reply::json(200, NDJSON)])
        .route(
            "/export",
            [Reply::json(
                200,
                "{\"id\": 1}\n{\"error\": \"quota exceeded\"}\n",
            )],
        )
        .route("/broken", [Reply::json(200, "{\"id\": 1}\n{\"id\": ")])
        .start();
    let out = steady(&["get", &srv.url("/stream/3")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, NDJSON);
    // Expectations apply to each line.
    let out = steady(&["get", &srv.url("/stream/3"), "--expect", "$.id > 1"]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("line 1: "), "{}", out.stderr);
    // So does the error-in-200 check.
    let out = steady(&["get", &srv.url("/export")]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2: ") && out.stderr.contains("quota exceeded"),
        "{}",
        out.stderr
    );
    // Lines that do not parse are still invalid JSON...
    let out = steady(&["get", &srv.url("/broken")]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Content-Type says JSON but the body does not parse"),
        "{}",
        out.stderr
    );
    // ... unless the check is turned off.
    let out = steady(&["get", &srv.url("/broken"), "--no-json-check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"id\": 1}\n{\"id\": ");
    assert_eq!(srv.hits("/broken"), 2, "a semantic failure is not retried");
}

#[test]
fn ndjson_labelled_as_such_is_parsed_line_by_line() {
    let srv = ScriptServer::builder()
        .route(
            "/logs",
            [Reply::json(200, "{\"level\": \"info\"}\n")
                .header("Content-Type", "application/x-ndjson")],
        )
        .route(
            "/bad",
            [Reply::json(200, "{\"level\": \"info\"}\nnot json\n")
                .header("Content-Type", "application/x-ndjson")],
        )
        .start();
    let out = steady(&["get", &srv.url("/logs")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"level\": \"info\"}\n");
    let out = steady(&["get", &srv.url("/bad")]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Content-Type says JSON lines but line 2 does not parse"),
        "{}",
        out.stderr
    );
}

/// The values that must never appear in what steady prints.
const KEY: &str = "sk-live-8f2a61c0";
const TOKEN: &str = "tok-77a9e3b1";
const TENANT: &str = "tenant-secret-31";

fn credential_call(extra: &[&str], env: Option<(&str, &str)>) -> (support::Run, ScriptServer) {
    let srv = ScriptServer::builder()
        .fallback(
            Reply::json(200, r#"{"ok": true}"#)
                .header("X-Auth-Token", TOKEN)
                .header("X-Request-Id", "req-1"),
        )
        .start();
    let url = srv.url("/me");
    let mut args = vec![
        "post",
        url.as_str(),
        "name=ada",
        "X-Api-Key:sk-live-8f2a61c0",
        "X-Auth-Token:tok-77a9e3b1",
        "X-Tenant:tenant-secret-31",
        "--sensitive-header",
        "X-Tenant",
    ];
    args.extend_from_slice(extra);
    let mut cmd = command();
    cmd.args(&args);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    (support::run(&mut cmd), srv)
}

#[test]
fn credential_headers_are_hidden_at_every_verbosity_and_sent_as_given() {
    for (extra, env) in [
        (&["-v"][..], None),
        (&["-vv"][..], None),
        (&[][..], Some(("RUST_LOG", "trace"))),
    ] {
        let (out, srv) = credential_call(extra, env);
        assert_eq!(out.code, 0, "{extra:?} {env:?}: {}", out.stderr);
        for secret in [KEY, TOKEN, TENANT] {
            assert!(
                !out.stderr.contains(secret) && !out.stdout.contains(secret),
                "{extra:?} {env:?}: {secret} shown:\n{}",
                out.stderr
            );
        }
        let seen = &srv.requests()[0];
        assert_eq!(seen.header("x-api-key"), Some(KEY));
        assert_eq!(seen.header("x-auth-token"), Some(TOKEN));
        assert_eq!(seen.header("x-tenant"), Some(TENANT));
    }
    let (out, srv) = credential_call(&["-v"], None);
    let port = srv.addr().port();
    // -v shows every header sent, the ones reqwest and hyper add included.
    for line in [
        format!("> POST http://127.0.0.1:{port}/me"),
        "> x-api-key: ****".to_owned(),
        "> x-auth-token: ****".to_owned(),
        "> x-tenant: ****".to_owned(),
        "> content-type: application/json".to_owned(),
        "> accept: application/json, */*;q=0.5".to_owned(),
        format!("> user-agent: steady/{}", env!("CARGO_PKG_VERSION")),
        format!("> host: 127.0.0.1:{port}"),
        "> content-length: 14".to_owned(),
        "< x-auth-token: ****".to_owned(),
        "< x-request-id: req-1".to_owned(),
    ] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.trim_end().ends_with(line.as_str())),
            "missing {line:?} in:\n{}",
            out.stderr
        );
    }
    let seen = &srv.requests()[0];
    assert_eq!(
        seen.header("user-agent"),
        Some(format!("steady/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
}

#[test]
fn a_credential_header_is_not_sent_to_another_origin_on_a_redirect() {
    let other = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    let srv = ScriptServer::builder()
        .route("/go", [Reply::redirect(302, other.url("/landed"))])
        .start();
    let out = steady(&["get", &srv.url("/go"), "X-Api-Key:sk-live-8f2a61c0"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(srv.requests()[0].header("x-api-key"), Some(KEY));
    assert_eq!(other.requests()[0].header("x-api-key"), None);
}

#[test]
fn limits_of_zero_are_refused_before_anything_is_sent() {
    let srv = server();
    for flag in ["--timeout", "--connect-timeout", "--read-timeout"] {
        let out = steady(&["get", &srv.url("/x"), flag, "0"]);
        assert_eq!(out.code, 64, "{flag}: {}", out.stderr);
        assert!(
            out.stderr.contains(flag) && out.stderr.contains("no time at all"),
            "{flag}: {}",
            out.stderr
        );
    }
    assert_eq!(srv.total_hits(), 0);
}

#[test]
fn a_database_in_a_folder_that_does_not_exist_is_refused_as_output_is() {
    let srv = server();
    let dir = temp_dir("missing-folder");
    let input = dir.join("in.jsonl");
    std::fs::write(
        &input,
        format!("{}\n", serde_json::json!({"url": srv.url("/a")})),
    )
    .unwrap();
    let missing = dir.join("no/such/folder");
    let db = missing.join("r.db");
    let out = steady(&[
        "batch",
        input.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not exist") && out.stderr.contains("mkdir -p"),
        "{}",
        out.stderr
    );
    assert!(!dir.join("no").exists(), "no folder was created");
    assert_eq!(srv.total_hits(), 0);
    // -o says the same kind of thing.
    let out = steady(&[
        "get",
        &srv.url("/a"),
        "-o",
        missing.join("out.json").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 73, "{}", out.stderr);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert_eq!(srv.total_hits(), 0);
}

#[test]
fn a_streamed_body_has_no_size_limit_unless_one_is_given() {
    // 101 MiB: over the 100 MiB bound on a body held in memory.
    let size: u64 = 101 << 20;
    let srv = ScriptServer::builder()
        .route("/export.bin", [Reply::huge(size)])
        .start();
    let dir = temp_dir("streamed");
    let out_path = dir.join("piped.bin");
    let file = std::fs::File::create(&out_path).unwrap();
    let status = command()
        .args(["get", &srv.url("/export.bin")])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(std::fs::metadata(&out_path).unwrap().len(), size);
    // With --max-body, the stream stops at the limit and the call fails.
    let file = std::fs::File::create(&out_path).unwrap();
    let out = command()
        .args(["get", &srv.url("/export.bin"), "--max-body", "1MiB"])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
    assert!(std::fs::metadata(&out_path).unwrap().len() <= 1 << 20);
}

#[test]
fn head_prints_the_status_and_headers_of_any_answer() {
    let srv = ScriptServer::builder()
        .route("/gone", [Reply::json(404, "").header("X-Why", "deleted")])
        .start();
    let out = steady(&["head", &srv.url("/gone")]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("HTTP/1.1 404 Not Found\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("x-why: deleted\n"), "{}", out.stdout);
    assert_eq!(srv.requests()[0].method, "HEAD");
}

#[test]
fn a_scheme_typed_wrong_points_to_the_url_meant_and_sends_nothing() {
    let srv = server();
    let typed = srv.url("/x").replace("http://", "http//");
    let out = steady(&["get", &typed]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("did you mean {} ?", srv.url("/x"))),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("DNS"), "{}", out.stderr);
    assert_eq!(srv.total_hits(), 0);
}

#[test]
fn hints_name_the_flag_that_changes_the_outcome() {
    let srv = ScriptServer::builder()
        .route(
            "/quota",
            [Reply::json(200, r#"{"error": "quota exceeded"}"#)],
        )
        .route("/job", [Reply::json(200, r#"{"state": "running"}"#)])
        .route("/big", [Reply::huge(2 << 20)])
        .route("/html", [Reply::json(200, "<html>oops</html>")])
        .start();
    let cases: [(&[&str], i32, &[&str]); 4] = [
        (&["get", &srv.url("/quota")], 7, &["--allow-error-body"]),
        (
            &["get", &srv.url("/job"), "--expect", "$.state == \"done\""],
            7,
            &["--until EXPR"],
        ),
        (
            &["get", &srv.url("/big"), "--max-body", "1MiB", "--status"],
            1,
            &["the limit is 1.0 MiB", "--max-body SIZE"],
        ),
        (&["get", &srv.url("/html")], 7, &["--no-json-check"]),
    ];
    for (args, code, words) in cases {
        let out = steady(args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        for word in words {
            assert!(
                out.stderr.contains(word),
                "{args:?}: {word}:\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn a_429_still_refused_after_its_retries_exits_4_and_the_help_says_so_truly() {
    let help = steady(&["get", "--help"]);
    assert!(
        help.stdout.contains(
            "4   HTTP 4xx: the request is wrong, or 408/429: still turned away after every retry"
        ),
        "{}",
        help.stdout
    );
    let srv = ScriptServer::builder()
        .route("/x", [Reply::status(429)])
        .start();
    let out = steady(&["get", &srv.url("/x"), "--retries", "1", "--backoff", "1ms"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(srv.hits("/x"), 2);
}

#[test]
fn a_redis_that_cannot_be_reached_is_a_warning_in_steadys_voice() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let srv = server();
    let out = steady(&[
        "get",
        &srv.url("/x"),
        "--state",
        &format!("redis://:hunter2@127.0.0.1:{port}"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("steady: warning: guard state in Redis (redis://:****@127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"));
    assert_eq!(srv.total_hits(), 1, "the call went on with local guards");
}

/// A FIFO at `path`, and a thread that reads whatever is written to it until the
/// writer closes it.
fn fifo(path: &std::path::Path) -> std::thread::JoinHandle<Vec<u8>> {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
    let path = path.to_owned();
    std::thread::spawn(move || std::fs::read(path).unwrap())
}

#[test]
fn a_destination_that_is_not_a_file_is_written_never_replaced() {
    // `-o /dev/null` as root once renamed a regular file over the device: a FIFO stands
    // for it here.
    use std::os::unix::fs::FileTypeExt;
    let srv = ScriptServer::builder()
        .route("/export.csv", [Reply::text("a,b\n1,2\n")])
        .route(
            "/login",
            [Reply::json(200, "{}").header("Set-Cookie", "sid=abc; Path=/")],
        )
        .start();
    let dir = temp_dir("fifo");
    let out = dir.join("out.fifo");
    let reader = fifo(&out);
    let run = steady(&["get", &srv.url("/export.csv"), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Checked before the join: a FIFO replaced by a file would leave its reader waiting.
    assert!(
        std::fs::metadata(&out).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    assert_eq!(reader.join().unwrap(), b"a,b\n1,2\n");
    let jar = dir.join("jar.fifo");
    let reader = fifo(&jar);
    let run = steady(&["get", &srv.url("/login"), "-c", jar.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::metadata(&jar).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    assert!(String::from_utf8(reader.join().unwrap())
        .unwrap()
        .contains("\tsid\tabc"));
}
