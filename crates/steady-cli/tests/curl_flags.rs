//! The flags a curl user types without thinking, each with curl's meaning, asserted on
//! what the local server received; and curl's other flags answered with steady's
//! equivalent instead of a parse error.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use steady_chaos::{Reply, ScriptServer};
use support::fs::temp_dir;
use support::{command, steady};

fn echo() -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"ok": true}"#))
        .start()
}

#[test]
fn header_sets_removes_and_empties_headers() {
    let srv = echo();
    let out = steady(&[
        "get",
        &srv.url("/x"),
        "-H",
        "Accept: text/csv",
        "--header",
        "X-Trace: abc",
        "-H",
        "User-Agent:",
        "-H",
        "X-Empty;",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[0];
    assert_eq!(seen.header("accept"), Some("text/csv"));
    assert_eq!(seen.header("x-trace"), Some("abc"));
    assert_eq!(seen.header("user-agent"), None, "removed");
    assert_eq!(seen.header("x-empty"), Some(""));
    let bad = steady(&["get", &srv.url("/x"), "-H", "no colon here"]);
    assert_eq!(bad.code, 64, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("expected 'Name: value'"),
        "{}",
        bad.stderr
    );
    assert_eq!(srv.total_hits(), 1);
}

#[test]
fn data_sends_a_body_as_curl_does() {
    let srv = echo();
    let dir = temp_dir("data");
    let file = dir.join("form.txt");
    std::fs::write(&file, "a=1\r\n&b=2\n").unwrap();
    let at_file = format!("@{}", file.display());
    let cases: [(&[&str], &[u8], &str); 5] = [
        (
            &["-d", "a=1", "-d", "b=2"],
            b"a=1&b=2",
            "application/x-www-form-urlencoded",
        ),
        (&["-d", r#"{"a": 1}"#], br#"{"a": 1}"#, "application/json"),
        (
            &["-d", &at_file],
            b"a=1&b=2",
            "application/x-www-form-urlencoded",
        ),
        (
            &["--data-binary", &at_file],
            b"a=1\r\n&b=2\n",
            "application/x-www-form-urlencoded",
        ),
        (
            &["--data-raw", "@not-a-file"],
            b"@not-a-file",
            "application/x-www-form-urlencoded",
        ),
    ];
    for (flags, body, content_type) in cases {
        let url = srv.url("/d");
        let mut args = vec!["post", url.as_str()];
        args.extend_from_slice(flags);
        let out = steady(&args);
        assert_eq!(out.code, 0, "{flags:?}: {}", out.stderr);
        let seen = srv.requests().pop().unwrap();
        assert_eq!(seen.method, "POST");
        assert_eq!(&seen.body[..], body, "{flags:?}");
        assert_eq!(seen.header("content-type"), Some(content_type), "{flags:?}");
    }
    // A type given with -H wins.
    let out = steady(&[
        "put",
        &srv.url("/d"),
        "-d",
        "x",
        "-H",
        "Content-Type: text/plain",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        srv.requests().pop().unwrap().header("content-type"),
        Some("text/plain")
    );
}

#[test]
fn data_from_standard_input() {
    let srv = echo();
    let mut child = command()
        .args(["post", &srv.url("/in"), "-d", "@-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"k=v\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(&srv.requests()[0].body[..], b"k=v");
}

#[test]
fn data_on_get_is_refused_with_the_command_meant() {
    let srv = echo();
    let out = steady(&["get", &srv.url("/x"), "-d", "a=1"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("use steady post URL -d"),
        "{}",
        out.stderr
    );
    assert_eq!(srv.total_hits(), 0);
}

#[test]
fn json_sets_the_body_content_type_and_accept() {
    let srv = echo();
    let out = steady(&["post", &srv.url("/j"), "--json", r#"{"name": "ada"}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[0];
    assert_eq!(&seen.body[..], br#"{"name": "ada"}"#);
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("accept"), Some("application/json"));
}

#[test]
fn max_time_is_the_deadline() {
    let srv = ScriptServer::builder()
        .route(
            "/slow",
            [Reply::json(200, "{}").delay(Duration::from_secs(30))],
        )
        .start();
    for flag in ["-m", "--max-time"] {
        let out = steady(&["get", &srv.url("/slow"), flag, "0.2", "--retries", "0"]);
        assert_eq!(out.code, 2, "{flag}: {}", out.stderr);
        assert!(out.stderr.contains("deadline"), "{flag}: {}", out.stderr);
    }
}

#[test]
fn head_flag_sends_a_head_and_prints_the_head() {
    let srv = ScriptServer::builder()
        .fallback(Reply::json(200, "{}").header("X-Version", "7"))
        .start();
    let out = steady(&["get", &srv.url("/h"), "-I"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(srv.requests()[0].method, "HEAD");
    assert!(
        out.stdout.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("x-version: 7"), "{}", out.stdout);
    let refused = steady(&["post", &srv.url("/h"), "-I"]);
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    assert_eq!(srv.total_hits(), 1);
}

#[test]
fn head_flag_prints_the_head_of_an_error_as_steady_head_does() {
    let srv = ScriptServer::builder()
        .fallback(Reply::json(404, r#"{"message": "no such thing"}"#).header("X-Version", "7"))
        .start();
    let via_flag = steady(&["get", &srv.url("/gone"), "-I"]);
    let via_head = steady(&["head", &srv.url("/gone")]);
    assert_eq!(via_flag.code, 4, "{}", via_flag.stderr);
    assert_eq!(via_head.code, 4, "{}", via_head.stderr);
    assert!(
        via_flag.stdout.starts_with("HTTP/1.1 404 Not Found\n"),
        "{}",
        via_flag.stdout
    );
    assert!(
        via_flag.stdout.contains("x-version: 7"),
        "{}",
        via_flag.stdout
    );
    assert_eq!(
        via_flag.stdout.lines().next(),
        via_head.stdout.lines().next(),
        "the same head as steady head"
    );
    let seen: Vec<String> = srv.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(seen, ["HEAD", "HEAD"]);
}

#[test]
fn silent_prints_nothing_and_show_error_brings_the_error_back() {
    let srv = ScriptServer::builder()
        .route(
            "/gone",
            [Reply::json(404, r#"{"message": "no such thing"}"#)],
        )
        .start();
    let out = steady(&["get", &srv.url("/gone"), "-s"]);
    assert_eq!(out.code, 4);
    assert_eq!(out.stderr, "", "the exit code tells");
    let out = steady(&["get", &srv.url("/gone"), "-sS"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("no such thing"), "{}", out.stderr);
}

#[test]
fn location_and_compressed_are_accepted_as_steady_does_both() {
    let srv = ScriptServer::builder()
        .route("/old", [Reply::redirect(302, "/new")])
        .route("/new", [Reply::json(200, r#"{"here": true}"#)])
        .start();
    let out = steady(&["get", &srv.url("/old"), "-L", "--compressed"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("here"));
    assert!(srv.requests()[1]
        .header("accept-encoding")
        .is_some_and(|v| v.contains("gzip")));
}

#[test]
fn cookies_from_a_string_and_a_jar_curl_can_read() {
    let srv = ScriptServer::builder()
        .route(
            "/login",
            [Reply::json(200, "{}").header("Set-Cookie", "sid=s3ss10n; Path=/")],
        )
        .fallback(Reply::json(200, "{}"))
        .start();
    let out = steady(&["get", &srv.url("/a"), "-b", "theme=dark; lang=en"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        srv.requests()[0].header("cookie"),
        Some("theme=dark; lang=en")
    );
    let dir = temp_dir("jar");
    let jar = dir.join("cookies.txt");
    let jar_s = jar.to_str().unwrap();
    let out = steady(&["post", &srv.url("/login"), "-c", jar_s]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&jar).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("127.0.0.1\tFALSE\t/\tFALSE\t") && l.ends_with("\tsid\ts3ss10n")),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&jar).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Read back with -b FILE, as curl would.
    let out = steady(&["get", &srv.url("/me"), "-b", jar_s]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        srv.requests().pop().unwrap().header("cookie"),
        Some("sid=s3ss10n")
    );
    // -v shows the cookie as ****.
    let out = steady(&["get", &srv.url("/me"), "-b", jar_s, "-v"]);
    assert!(out.stderr.contains("> cookie: ****"), "{}", out.stderr);
    assert!(!out.stderr.contains("s3ss10n"), "{}", out.stderr);
}

#[test]
fn remote_name_saves_to_the_file_the_url_names() {
    let srv = ScriptServer::builder()
        .route("/files/report.csv", [Reply::text("a,b\n1,2\n")])
        .start();
    let dir = temp_dir("remote-name");
    let out = support::run(command().current_dir(&dir).args([
        "get",
        &srv.url("/files/report.csv"),
        "-O",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("report.csv")).unwrap(),
        "a,b\n1,2\n"
    );
    let out = steady(&["get", &srv.url("/"), "-O"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("give one with -o FILE"),
        "{}",
        out.stderr
    );
}

#[test]
fn write_out_prints_curls_variables_after_the_body() {
    let srv = ScriptServer::builder()
        .route(
            "/flaky",
            [Reply::status(503), Reply::json(200, r#"{"n": 1}"#)],
        )
        .route("/gone", [Reply::json(404, r#"{"message": "no"}"#)])
        .start();
    let out = steady(&[
        "get",
        &srv.url("/flaky"),
        "--backoff",
        "1ms",
        "-w",
        "\\n%{http_code} %{num_retries} %{size_download} %{content_type} %{url_effective} %{method} %{exitcode}\\n",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "{{\"n\": 1}}\n200 1 8 application/json {} GET 0\n",
            srv.url("/flaky")
        )
    );
    let out = steady(&["get", &srv.url("/gone"), "-s", "-w", "%{json}"]);
    assert_eq!(out.code, 4);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["http_code"], 404);
    assert_eq!(json["exitcode"], 4);
    assert_eq!(json["num_retries"], 0);
    assert!(json["time_total"].as_f64().is_some());
    // An unknown variable is refused before anything is sent.
    let out = steady(&["get", &srv.url("/flaky"), "-w", "%{speed_upload}"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown variable %{speed_upload}"),
        "{}",
        out.stderr
    );
    assert_eq!(srv.hits("/flaky"), 2);
}

#[test]
fn request_takes_the_method_with_x() {
    let srv = echo();
    let out = steady(&["request", "-X", "PURGE", &srv.url("/cache/7")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = steady(&["request", &srv.url("/cache/8"), "-XPATCH", "-d", "a=1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = srv.requests();
    assert_eq!(seen[0].method, "PURGE");
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(&seen[1].body[..], b"a=1");
}

#[test]
fn user_agent_and_referer() {
    let srv = echo();
    let out = steady(&[
        "get",
        &srv.url("/x"),
        "-A",
        "nightly-job/2",
        "-e",
        "https://example.org/",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[0];
    assert_eq!(seen.header("user-agent"), Some("nightly-job/2"));
    assert_eq!(seen.header("referer"), Some("https://example.org/"));
}

#[test]
fn other_curl_flags_name_steadys_equivalent_and_send_nothing() {
    let srv = echo();
    let url = srv.url("/x");
    // (what is typed, the flag the message names, what it says to do instead)
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--retry", "2"], "--retry", "--retries N"),
        (
            &["--retry-max-time", "30"],
            "--retry-max-time",
            "--timeout DURATION",
        ),
        (
            &["--retry-delay", "2"],
            "--retry-delay",
            "--backoff DURATION",
        ),
        (
            &["--retry-connrefused"],
            "--retry-connrefused",
            "by default",
        ),
        (&["--retry-all-errors"], "--retry-all-errors", "by default"),
        (&["--fail"], "--fail", "exit code"),
        (&["--fail-with-body"], "--fail-with-body", "exit code"),
        (&["-G"], "-G", "name==value"),
        (&["-XPOST"], "-X", "steady post URL"),
        (&["--max-redirs", "3"], "--max-redirs", "--max-redirects N"),
        (&["-F", "a=1"], "-F", "-f/--form"),
        (&["-j"], "-j", "session cookies"),
        (&["-sj"], "-j", "session cookies"),
        (
            &["--junk-session-cookies"],
            "--junk-session-cookies",
            "session cookies",
        ),
        (
            &["--ssl-reqd"],
            "--ssl-reqd",
            "https:// URL always uses TLS",
        ),
        (&["--ciphers", "ECDHE"], "--ciphers", "rustls"),
        (&["--crlf"], "--crlf", "--data-binary @FILE"),
        (&["--unix-socket", "/run/x.sock"], "--unix-socket", "socat"),
        (&["--tlsv1.2"], "--tlsv1.2", "TLS 1.2 and 1.3"),
        (&["--tlsv1.3"], "--tlsv1.3", "TLS 1.2 and 1.3"),
        (&["--tls-max", "1.2"], "--tls-max", "TLS 1.2 and 1.3"),
        (
            &["--pinnedpubkey", "sha256//x"],
            "--pinnedpubkey",
            "--cacert FILE",
        ),
        (&["-0"], "-0", "HTTP/1.1"),
        (&["--http1.0"], "--http1.0", "HTTP/1.1"),
        (&["--http1.1"], "--http1.1", "HTTP/1.1"),
        (&["--http2"], "--http2", "HTTP/2"),
        (&["-z", "yesterday"], "-z", "If-Modified-Since:"),
        (
            &["--time-cond", "yesterday"],
            "--time-cond",
            "If-Modified-Since:",
        ),
        (&["-R"], "-R", "Last-Modified"),
        (&["--remote-time"], "--remote-time", "Last-Modified"),
        (&["-l"], "-l", "HTTP and HTTPS only"),
        (&["--list-only"], "--list-only", "HTTP and HTTPS only"),
        (&["-t", "TTYPE=vt100"], "-t", "HTTP and HTTPS only"),
        (
            &["--telnet-option", "TTYPE=vt100"],
            "--telnet-option",
            "HTTP and HTTPS only",
        ),
        (&["--socks5", "h:1080"], "--socks5", "-x http://HOST:PORT"),
        (
            &["--socks5-hostname", "h:1080"],
            "--socks5-hostname",
            "SOCKS",
        ),
        (&["--aws-sigv4", "aws:amz"], "--aws-sigv4", "--header-env"),
        (
            &["--doh-url", "https://d/q"],
            "--doh-url",
            "system's resolver",
        ),
        (&["--path-as-is"], "--path-as-is", "../"),
        (&["--proto", "=https"], "--proto", "http and https only"),
        (&["--ipv4"], "--ipv4", "IP address"),
        (&["-4"], "-4", "IP address"),
        (&["--ipv6"], "--ipv6", "IP address"),
        (&["-6"], "-6", "IP address"),
        (&["--resolve", "h:80:127.0.0.1"], "--resolve", "Host:NAME"),
        (&["--interface", "eth0"], "--interface", "the system picks"),
        (&["--limit-rate", "1M"], "--limit-rate", "--rate 10/s"),
        (
            &["--max-filesize", "1M"],
            "--max-filesize",
            "--max-body SIZE",
        ),
        (&["-g"], "-g", "no URL globbing"),
        (&["--globoff"], "--globoff", "no URL globbing"),
        (&["--url", "http://h/"], "--url", "steady get URL"),
        (
            &["--oauth2-bearer", "t"],
            "--oauth2-bearer",
            "--bearer-env VAR",
        ),
        (&["--digest"], "--digest", "Basic (-a)"),
        (&["--negotiate"], "--negotiate", "Basic (-a)"),
        (&["--ntlm"], "--ntlm", "Basic (-a)"),
        (&["--cert", "c.pem"], "--cert", "client certificates"),
        (&["-E", "c.pem"], "-E", "client certificates"),
        (&["--key", "k.pem"], "--key", "client certificates"),
        (&["--capath", "/etc/ssl"], "--capath", "--cacert FILE"),
        (&["--tcp-nodelay"], "--tcp-nodelay", "TCP_NODELAY on"),
        (
            &["--keepalive-time", "60"],
            "--keepalive-time",
            "kept alive",
        ),
        (&["--no-buffer"], "--no-buffer", "as it arrives"),
        (&["-N"], "-N", "as it arrives"),
        (&["--progress-bar"], "--progress-bar", "no progress bar"),
        (&["-#"], "-#", "no progress bar"),
        (&["--trace", "t.txt"], "--trace", "-v or -vv"),
        (&["--trace-ascii", "t.txt"], "--trace-ascii", "-v or -vv"),
        (&["--stderr", "e.txt"], "--stderr", "2> FILE"),
        (&["--raw"], "--raw", "Accept-Encoding:"),
        (
            &["--tr-encoding"],
            "--tr-encoding",
            "decodes the body itself",
        ),
        (&["--netrc"], "--netrc", "--basic-env VAR"),
    ];
    for (flags, flag, instead) in cases {
        let mut args = vec!["get", url.as_str()];
        args.extend_from_slice(flags);
        let out = steady(&args);
        assert_eq!(out.code, 64, "{flags:?}: {}", out.stderr);
        let said = out.stderr.trim_end();
        assert!(
            said.starts_with(&format!("steady: curl's {flag} is not a steady flag")),
            "{flags:?}: {said}"
        );
        assert!(said.contains(instead), "{flags:?}: {said}");
        assert!(!said.contains("use '--"), "{flags:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{flags:?}: {said}");
    }
    let proto = steady(&["get", &url, "--proto", "=https"]);
    assert!(!proto.stderr.contains("--proxy"), "{}", proto.stderr);
    assert_eq!(srv.total_hits(), 0);
}

#[test]
fn short_help_fits_a_screen_and_the_manual_has_every_subcommand() {
    for sub in ["get", "post", "request"] {
        let short = steady(&[sub, "-h"]);
        assert_eq!(short.code, 0);
        let lines = short.stdout.lines().count();
        assert!(
            lines <= 55,
            "steady {sub} -h is {lines} lines:\n{}",
            short.stdout
        );
        for flag in [
            "-H, --header",
            "-d, --data",
            "-o, --output",
            "--retries",
            "-m, --timeout",
        ] {
            assert!(short.stdout.contains(flag), "{sub} -h lacks {flag}");
        }
        assert!(
            !short.stdout.contains("--breaker-ratio"),
            "{sub}: a guard flag in -h"
        );
        let long = steady(&[sub, "--help"]);
        assert!(
            long.stdout.contains("--breaker-ratio"),
            "{sub} --help has every flag"
        );
        assert!(
            long.stdout.contains("Exit codes:\n"),
            "{sub} --help has the table"
        );
        assert!(
            long.stdout
                .contains("-f is HTTPie's --form, not curl's --fail"),
            "{sub} --help says what -f is"
        );
    }
    let man = steady(&["man"]);
    assert_eq!(man.code, 0);
    for section in [
        ".SH \"STEADY GET\"",
        ".SH \"STEADY BATCH\"",
        ".SH \"STEADY SYNC\"",
        ".SH \"STEADY CHAOS\"",
        ".SH \"STEADY RESULTS\"",
    ] {
        assert!(man.stdout.contains(section), "the manual lacks {section}");
    }
    for flag in [
        "write\\-out",
        "breaker\\-ratio",
        "skip\\-invalid",
        "delete\\-missing",
    ] {
        assert!(man.stdout.contains(flag), "the manual lacks --{flag}");
    }
    assert!(
        !man.stdout.contains("steady\\-get(1)"),
        "no page nothing installs"
    );
    assert!(
        man.stdout
            .contains("\\-f is HTTPie\\*(Aqs \\-\\-form, not curl\\*(Aqs \\-\\-fail"),
        "the manual says what -f is"
    );
    // Every option has its description, those hidden from -h too.
    let lines: Vec<&str> = man.stdout.lines().collect();
    let described = |text: &str| !text.is_empty() && !text.starts_with('.');
    let mut options = 0;
    for at in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == ".TP")
        .map(|(i, _)| i)
    {
        let (Some(name), Some(text)) = (lines.get(at + 1), lines.get(at + 2)) else {
            continue;
        };
        options += 1;
        assert!(described(text), "the manual has no text for {name}");
    }
    assert!(options > 100, "{options} options in the manual");
    for flag in [
        "backoff",
        "cacert",
        "retries",
        "breaker\\-failures",
        "breaker\\-span",
        "breaker\\-window",
        "breaker\\-min\\-calls",
        "breaker\\-open\\-max",
        "breaker\\-probes",
        "breaker\\-quorum",
        "multipart",
        "fail\\-fast",
    ] {
        let item = format!("\\fB\\-\\-{flag}\\fR");
        let at = lines
            .iter()
            .position(|l| l.contains(&item) && !l.starts_with("\\fBsteady"))
            .filter(|at| *at > 0 && lines[at - 1] == ".TP")
            .unwrap_or_else(|| panic!("the manual lacks --{flag}"));
        assert!(
            described(lines[at + 1]),
            "the manual has no text for --{flag}"
        );
    }
}

#[test]
fn a_cookie_jar_not_there_yet_is_created_as_curl_does() {
    let srv = ScriptServer::builder()
        .route(
            "/login",
            [Reply::json(200, "{}").header("Set-Cookie", "sid=abc; Path=/")],
        )
        .fallback(Reply::json(200, "{}"))
        .start();
    let dir = temp_dir("new-jar");
    let jar = dir.join("jar.txt");
    let jar_s = jar.to_str().unwrap();
    let out = steady(&["get", &srv.url("/login"), "-b", jar_s, "-c", jar_s]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::read_to_string(&jar)
        .unwrap()
        .contains("\tsid\tabc"));
    let out = steady(&["get", &srv.url("/me"), "-b", jar_s, "-b", "theme=dark"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cookie = srv
        .requests()
        .pop()
        .unwrap()
        .header("cookie")
        .unwrap()
        .to_owned();
    assert!(cookie.contains("theme=dark"), "{cookie}");
}

#[test]
fn curls_fssl_habit_sends_no_form_and_items_remove_headers_as_httpie_does() {
    let srv = echo();
    let out = steady(&["get", &srv.url("/x"), "-fsSL", "User-Agent:", "X-Empty;"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = &srv.requests()[0];
    assert_eq!(
        seen.header("content-type"),
        None,
        "-f without fields sends no form"
    );
    assert!(seen.body.is_empty());
    assert_eq!(seen.header("user-agent"), None);
    assert_eq!(seen.header("x-empty"), Some(""));
    // -f beside -d: the body is -d's.
    let out = steady(&["post", &srv.url("/x"), "-f", "-d", r#"{"a": 1}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        srv.requests().pop().unwrap().header("content-type"),
        Some("application/json")
    );
    // --json beside an Accept item: one Accept, the one given.
    let out = steady(&["post", &srv.url("/x"), "--json", "{}", "Accept:text/csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = srv.requests().pop().unwrap();
    let accepts: Vec<&str> = seen
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(accepts, ["text/csv"]);
}

#[test]
fn a_url_or_a_capital_method_where_the_subcommand_goes_gets_the_command_meant() {
    let srv = echo();
    let out = steady(&[&srv.url("/x")]);
    assert_eq!(out.code, 64);
    assert!(
        out.stderr
            .contains(&format!("steady get {}", srv.url("/x"))),
        "{}",
        out.stderr
    );
    let out = steady(&["GET", &srv.url("/x")]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.contains("steady get URL"), "{}", out.stderr);
    // A flag given twice: the last one counts, as curl.
    let out = steady(&["get", &srv.url("/x"), "--timeout", "5", "-m", "3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(srv.total_hits(), 1);
}

#[test]
fn insecure_refuses_credentials_only_over_https() {
    let srv = echo();
    let out = steady(&["get", &srv.url("/x"), "-k", "-u", "ada:pw", "-s"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "-s silences the warnings too");
    assert!(srv.requests()[0].header("authorization").is_some());
}
