//! The TLS flags end to end: `--cacert`, `--insecure` (a warning on every use, refused
//! with credentials) and `--insecure-with-credentials`, against a local TLS server
//! whose self-signed certificate the test made.

mod support;

use steady_chaos::{Cert, TlsServer};
use support::{command, run, steady};

fn ca_file(server: &TlsServer, name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("steady-tls-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, server.ca_pem()).unwrap();
    path
}

#[test]
fn an_unverified_certificate_exits_1_and_cacert_fixes_it() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let url = server.url("/x");
    let refused = steady(&["get", &url]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("TLS"), "{}", refused.stderr);
    assert!(server.heads().is_empty());

    let ca = ca_file(&server, "ok");
    let ok = steady(&["get", &url, "--cacert", ca.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("\"ok\": true"), "{}", ok.stdout);
    assert_eq!(server.heads().len(), 1);
}

#[test]
fn a_self_signed_ca_server_certificate_is_trusted_with_cacert_as_curl_does() {
    // What `openssl req -x509 -newkey ...` makes: a CA:TRUE certificate, used by the
    // server as its own.
    let server = TlsServer::with_cert(Cert::Ca, r#"{"ok": true}"#);
    let url = server.url("/x");
    let refused = steady(&["get", &url]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "TLS handshake failed: the server's certificate is self-signed (no CA this client trusts vouches for it)"
        ),
        "{}",
        refused.stderr
    );
    let ca = ca_file(&server, "self-signed-ca");
    let ok = steady(&["get", &url, "--cacert", ca.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(server.heads().len(), 1);
}

#[test]
fn a_pinned_certificate_for_127_0_0_1_does_not_serve_localhost() {
    let server = TlsServer::with_cert(Cert::CaForIp, "{}");
    let ca = ca_file(&server, "ca-for-ip");
    let out = steady(&["get", &server.url("/x"), "--cacert", ca.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("TLS handshake failed: the certificate is for 127.0.0.1, not localhost"),
        "{}",
        out.stderr
    );
    assert!(server.heads().is_empty(), "nothing was sent");
}

#[test]
fn an_expired_certificate_is_named_as_such() {
    let server = TlsServer::with_cert(Cert::Expired, "{}");
    let ca = ca_file(&server, "expired");
    let out = steady(&["get", &server.url("/x"), "--cacert", ca.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the server's certificate expired on Fri, 01 Jan 2021 00:00:00 GMT"),
        "{}",
        out.stderr
    );
    assert!(server.heads().is_empty());
}

#[test]
fn a_cacert_that_is_not_pem_is_a_usage_error_naming_the_flag() {
    let path = std::env::temp_dir().join(format!("steady-tls-{}-bad.pem", std::process::id()));
    std::fs::write(&path, "hello").unwrap();
    let run = steady(&[
        "get",
        "https://localhost:1/",
        "--cacert",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("--cacert"), "{}", run.stderr);
    let missing = steady(&[
        "get",
        "https://localhost:1/",
        "--cacert",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(missing.code, 64);
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);
}

#[test]
fn insecure_warns_on_every_use() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    for _ in 0..2 {
        let run = steady(&["get", &server.url("/x"), "--insecure"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("warning: --insecure: server certificates are NOT verified"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(server.heads().len(), 2);
}

#[test]
fn insecure_with_credentials_is_refused_unless_said_twice() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let url = server.url("/x");
    let refused = run(command()
        .args(["get", &url, "-k", "--bearer-env", "API_TOKEN"])
        .env("API_TOKEN", "sk-live-123"));
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--insecure-with-credentials"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("sk-live-123"));
    // A credential typed as a header item counts too.
    let item = steady(&["get", &url, "-k", "Authorization:Bearer sk-live-123"]);
    assert_eq!(item.code, 64, "{}", item.stderr);
    assert!(server.heads().is_empty(), "nothing was sent");

    let alone = steady(&["get", &url, "--insecure-with-credentials"]);
    assert_eq!(alone.code, 64, "it needs --insecure: {}", alone.stderr);

    let allowed = run(command()
        .args([
            "get",
            &url,
            "-k",
            "--insecure-with-credentials",
            "--bearer-env",
            "API_TOKEN",
        ])
        .env("API_TOKEN", "sk-live-123"));
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let heads = server.heads();
    assert_eq!(heads.len(), 1);
    assert!(heads[0]
        .to_ascii_lowercase()
        .contains("authorization: bearer sk-live-123"));
}
