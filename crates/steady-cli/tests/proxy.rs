//! Proxies end to end: `--proxy`, the environment's variables, NO_PROXY (names, CIDR,
//! `*`) and `--no-proxy`, and proxy credentials that reach the proxy only: on the
//! request line of plain http, on the CONNECT of an https tunnel, never the origin.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use steady_chaos::{Reply, ScriptServer, TlsServer};
use support::{command, run};

/// `Basic base64("alice:s3cret")`.
const PROXY_AUTH: &str = "Basic YWxpY2U6czNjcmV0";

fn proxy_server() -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"via": "proxy"}"#))
        .start()
}

fn origin() -> ScriptServer {
    ScriptServer::builder()
        .fallback(Reply::json(200, r#"{"via": "origin"}"#))
        .start()
}

#[test]
fn proxy_flag_sends_absolute_form_with_credentials_to_the_proxy_only() {
    let (proxy, origin) = (proxy_server(), origin());
    let proxy_url = format!("http://alice:s3cret@{}", proxy.addr());
    let r = run(command().args(["get", &origin.url("/items/1"), "--proxy", &proxy_url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("proxy"), "{}", r.stdout);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, origin.url("/items/1"));
    assert_eq!(seen[0].header("proxy-authorization"), Some(PROXY_AUTH));
    assert_eq!(origin.total_hits(), 0);
    assert!(!r.stderr.contains("s3cret") && !r.stdout.contains("s3cret"));
}

#[test]
fn environment_proxies_are_used_and_no_proxy_bypasses_them() {
    let (proxy, origin) = (proxy_server(), origin());
    let proxy_url = format!("http://alice:s3cret@{}", proxy.addr());
    let url = origin.url("/x");
    let via = run(command().args(["get", &url]).env("http_proxy", &proxy_url));
    assert_eq!(via.code, 0, "{}", via.stderr);
    assert_eq!(proxy.total_hits(), 1);

    // A bypassed host is reached directly, and never sees the proxy's credentials.
    for no_proxy in [
        "127.0.0.1",
        "127.0.0.0/8",
        "*",
        "example.invalid, 127.0.0.1",
    ] {
        let direct = run(command()
            .args(["get", &url])
            .env("HTTP_PROXY", &proxy_url)
            .env("NO_PROXY", no_proxy));
        assert_eq!(direct.code, 0, "{no_proxy}: {}", direct.stderr);
    }
    let flag = run(command().args(["get", &url, "--proxy", &proxy_url, "--no-proxy", "*"]));
    assert_eq!(flag.code, 0, "{}", flag.stderr);
    assert_eq!(
        proxy.total_hits(),
        1,
        "only the first call went through the proxy"
    );
    assert_eq!(origin.total_hits(), 5);
    assert!(origin
        .requests()
        .iter()
        .all(|r| r.header("proxy-authorization").is_none()));

    // A NO_PROXY that names another host does not bypass.
    let other = run(command()
        .args(["get", &url])
        .env("http_proxy", &proxy_url)
        .env("no_proxy", "10.0.0.0/8,example.invalid"));
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert_eq!(proxy.total_hits(), 2);
}

#[test]
fn a_bad_proxy_url_is_a_usage_error_naming_its_source() {
    let r = run(command()
        .args(["get", "http://127.0.0.1:1/"])
        .env("https_proxy", "socks9://nowhere:1"));
    // https_proxy does not apply to http URLs, but a broken variable is still reported.
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert!(r.stderr.contains("https_proxy"), "{}", r.stderr);
    let r = run(command().args(["get", "http://127.0.0.1:1/", "--proxy", "ftp://p:1"]));
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert!(r.stderr.contains("--proxy"), "{}", r.stderr);
}

/// A CONNECT proxy: records each CONNECT head, then pipes bytes both ways.
fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(head);
                let target = target.replace("localhost", "127.0.0.1");
                let Ok(upstream) = TcpStream::connect(target) else {
                    return;
                };
                let mut client_w = client.try_clone().unwrap();
                client_w
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let mut up_r = upstream.try_clone().unwrap();
                let mut up_w = upstream;
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = up_r.read(&mut buf) {
                        if n == 0 || client_w.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 || up_w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (format!("http://alice:s3cret@{addr}"), heads)
}

#[test]
fn https_goes_through_a_connect_tunnel_and_the_origin_never_sees_proxy_credentials() {
    let origin = TlsServer::start(r#"{"via": "tunnel"}"#);
    let ca = std::env::temp_dir().join(format!("steady-proxy-{}.pem", std::process::id()));
    std::fs::write(&ca, origin.ca_pem()).unwrap();
    let (proxy_url, connects) = connect_proxy();
    let r = run(command()
        .args([
            "get",
            &origin.url("/secure"),
            "--cacert",
            ca.to_str().unwrap(),
        ])
        .env("https_proxy", &proxy_url));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("tunnel"), "{}", r.stdout);
    let connects = connects.lock().unwrap().clone();
    assert_eq!(connects.len(), 1);
    assert!(
        connects[0].starts_with("CONNECT localhost:"),
        "{}",
        connects[0]
    );
    assert!(
        connects[0].to_ascii_lowercase().contains(&format!(
            "proxy-authorization: {}",
            PROXY_AUTH.to_ascii_lowercase()
        )),
        "{}",
        connects[0]
    );
    let heads = origin.heads();
    assert_eq!(heads.len(), 1);
    assert!(
        !heads[0]
            .to_ascii_lowercase()
            .contains("proxy-authorization"),
        "{}",
        heads[0]
    );
}

#[test]
fn no_proxy_domains_match_their_subdomains() {
    // A bypassed host is dialled directly (and `.invalid` never resolves: exit 1); a
    // host that is not bypassed goes to the proxy, which answers.
    let proxy = proxy_server();
    let proxy_url = format!("http://{}", proxy.addr());
    let cases = [
        ("example.invalid", "http://example.invalid/x", 1, 0),
        ("example.invalid", "http://api.example.invalid/x", 1, 0),
        (".example.invalid", "http://api.example.invalid/x", 1, 0),
        ("other.invalid", "http://api.example.invalid/x", 0, 1),
        ("ample.invalid", "http://example.invalid/x", 0, 1),
    ];
    for (no_proxy, url, code, proxied) in cases {
        let before = proxy.total_hits();
        let r = run(command()
            .args(["get", url, "--retries", "0"])
            .env("http_proxy", &proxy_url)
            .env("no_proxy", no_proxy));
        assert_eq!(r.code, code, "{no_proxy} {url}: {}", r.stderr);
        assert_eq!(proxy.total_hits() - before, proxied, "{no_proxy} {url}");
    }
}
