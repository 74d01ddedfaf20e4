//! Certificate checks against a local TLS server with a self-signed certificate made
//! by the test: refused by default, trusted through its CA, accepted with the
//! explicit danger setting, which then refuses credentials unless told otherwise.

mod support;

use steady::classify::Fault;
use steady::{Layer, Secret};
use steady_chaos::{Cert, TlsServer};
use support::fast;

#[tokio::test]
async fn an_unknown_certificate_is_a_tls_failure_and_not_retried() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let err = fast()
        .0
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(err.fault(), Some(Fault::Tls), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert!(server.heads().is_empty(), "nothing was sent");
    assert_eq!(
        err.what(),
        "TLS handshake failed: the server's certificate is self-signed (no CA this client trusts vouches for it)"
    );
    assert!(err.hint().contains("--cacert FILE"), "{}", err.hint());
}

#[tokio::test]
async fn a_pinned_ca_certificate_must_name_the_host_called() {
    // Self-signed CA:TRUE for 127.0.0.1, called as localhost: curl refuses, so does steady.
    let server = TlsServer::with_cert(Cert::CaForIp, "{}");
    let err = refused_with_its_cert(&server).await;
    assert_eq!(err.fault(), Some(Fault::Tls), "{err:?}");
    assert_eq!(
        err.what(),
        "TLS handshake failed: the certificate is for 127.0.0.1, not localhost"
    );
    assert!(server.heads().is_empty(), "nothing was sent");
    // Called by the name it has, the same pinned certificate serves.
    let ip_url = server.url("/x").replace("localhost", "127.0.0.1");
    let resp = fast()
        .0
        .root_certificates_pem(server.ca_pem(), true)
        .build()
        .unwrap()
        .get(&ip_url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.heads().len(), 1);
}

#[tokio::test]
async fn a_pinned_ca_certificate_that_expired_is_refused() {
    let server = TlsServer::with_cert(Cert::CaExpired, "{}");
    let err = refused_with_its_cert(&server).await;
    assert_eq!(
        err.what(),
        "TLS handshake failed: the server's certificate expired on Fri, 01 Jan 2021 00:00:00 GMT"
    );
    assert!(server.heads().is_empty());
}

/// The error of a call to `server`, trusting exactly its own certificate.
async fn refused_with_its_cert(server: &TlsServer) -> steady::Error {
    fast()
        .0
        .root_certificates_pem(server.ca_pem(), true)
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_expired_certificate_says_when_it_expired() {
    let server = TlsServer::with_cert(Cert::Expired, "{}");
    let err = refused_with_its_cert(&server).await;
    assert_eq!(err.fault(), Some(Fault::Tls));
    assert_eq!(
        err.what(),
        "TLS handshake failed: the server's certificate expired on Fri, 01 Jan 2021 00:00:00 GMT"
    );
    assert!(err.hint().contains("renewed"), "{}", err.hint());
    assert!(server.heads().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_name_names_both() {
    let server = TlsServer::with_cert(Cert::OtherName, "{}");
    let err = refused_with_its_cert(&server).await;
    assert_eq!(
        err.what(),
        "TLS handshake failed: the certificate is for other.example, not localhost"
    );
    assert!(server.heads().is_empty());
}

#[tokio::test]
async fn a_self_signed_ca_certificate_is_trusted_when_it_is_exactly_the_one_given() {
    let server = TlsServer::with_cert(Cert::Ca, r#"{"ok": true}"#);
    // Given exactly (curl --cacert accepts it; webpki alone refuses a CA as a server's
    // own certificate).
    let client = fast()
        .0
        .root_certificates_pem(server.ca_pem(), true)
        .build()
        .unwrap();
    let resp = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.heads().len(), 1);
    // Another CA certificate given instead: refused, and nothing is sent.
    let other = TlsServer::with_cert(Cert::Ca, "{}");
    let err = fast()
        .0
        .root_certificates_pem(other.ca_pem(), true)
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Tls), "{err:?}");
    assert_eq!(server.heads().len(), 1);
    // Not given at all: refused, and the message says what the server did and how to
    // trust it.
    let err = fast()
        .0
        .build()
        .unwrap()
        .get(server.url("/x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.what(),
        "TLS handshake failed: the server's certificate is self-signed (no CA this client trusts vouches for it)"
    );
    assert!(
        err.hint()
            .contains("trust exactly its certificate with --cacert"),
        "{}",
        err.hint()
    );
}

#[tokio::test]
async fn a_private_ca_is_trusted_when_given() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let client = fast()
        .0
        .root_certificates_pem(server.ca_pem(), true)
        .build()
        .unwrap();
    let resp = client.get(server.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.heads().len(), 1);
    assert_eq!(server.failed_handshakes(), 0);
}

#[tokio::test]
async fn a_pem_without_certificates_fails_the_build() {
    let err = fast()
        .0
        .root_certificates_pem("not a certificate", true)
        .build()
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Usage);
    assert!(
        err.what().contains("no certificate found"),
        "{}",
        err.what()
    );
}

#[tokio::test]
async fn accepting_invalid_certificates_works_but_refuses_credentials() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let insecure = fast().0.danger_accept_invalid_certs(true).build().unwrap();
    let resp = insecure.get(server.url("/open")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let err = insecure
        .get(server.url("/secret"))
        .bearer_auth(Secret::new("sk-live-123"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Usage);
    assert!(
        err.what().contains("--insecure-with-credentials"),
        "{}",
        err.what()
    );
    let heads = server.heads();
    assert_eq!(heads.len(), 1, "the refused request was never sent");
    assert!(heads[0].starts_with("GET /open "));

    let allowed = fast()
        .0
        .danger_accept_invalid_certs(true)
        .danger_insecure_with_credentials(true)
        .build()
        .unwrap();
    allowed
        .get(server.url("/secret"))
        .bearer_auth(Secret::new("sk-live-123"))
        .send()
        .await
        .unwrap();
    let heads = server.heads();
    assert_eq!(heads.len(), 2);
    assert!(heads[1]
        .to_ascii_lowercase()
        .contains("authorization: bearer sk-live-123"));
}

#[tokio::test]
async fn the_danger_setting_belongs_to_one_client() {
    let server = TlsServer::start(r#"{"ok": true}"#);
    let _insecure = fast().0.danger_accept_invalid_certs(true).build().unwrap();
    let strict = fast().0.build().unwrap();
    let err = strict.get(server.url("/x")).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::Tls));
}

#[tokio::test]
async fn https_speaks_http2_when_the_server_offers_it() {
    let server = TlsServer::h2(r#"{"ok": true}"#);
    let client = fast()
        .0
        .root_certificates_pem(server.ca_pem(), true)
        .build()
        .unwrap();
    for _ in 0..2 {
        let resp = client.get(server.url("/x")).send().await.unwrap();
        assert_eq!(resp.version(), steady::Version::HTTP_2);
        assert_eq!(resp.text(), r#"{"ok": true}"#);
    }
    assert_eq!(server.heads(), ["HTTP/2.0 GET /x", "HTTP/2.0 GET /x"]);
}

/// The application's own reqwest client, trusting the test server's certificate, with
/// `identity` when given.
fn own_client(
    server: &TlsServer,
    identity: Option<&steady_chaos::ClientIdentity>,
) -> steady::Client {
    let mut http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none());
    if let Some(identity) = identity {
        let pem = format!("{}{}", identity.cert_pem, identity.key_pem);
        http = http.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    fast()
        .0
        .reqwest_client(http.build().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_own_reqwest_client_presents_its_client_certificate_and_steady_still_retries() {
    let (server, identity) = TlsServer::requiring_client_certificate(r#"{"ok": true}"#);
    let resp = own_client(&server, Some(&identity))
        .get(server.url("/mine"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), r#"{"ok": true}"#);
    let heads = server.heads();
    assert_eq!(heads.len(), 1);
    assert!(heads[0].starts_with("GET /mine HTTP/1.1"), "{}", heads[0]);
    // steady's headers went out through the application's client.
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("user-agent: steady/"),
        "{}",
        heads[0]
    );
    assert_eq!(server.failed_handshakes(), 0);

    // Without the identity the server refuses the handshake: a TLS failure, explained,
    // and not retried.
    let err = own_client(&server, None)
        .get(server.url("/mine"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.layer(), Layer::Transport);
    assert_eq!(err.fault(), Some(Fault::Tls), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.heads().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn the_deadline_bounds_a_call_through_an_own_reqwest_client() {
    // A server that accepts and never answers: steady's read timeout ends each attempt
    // (the application's client has none), and the deadline the call.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    let client = support::fast()
        .0
        .read_timeout(std::time::Duration::from_millis(50))
        .retry(steady::Retry::none())
        .reqwest_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = client.get(&url).send().await.unwrap_err();
    assert_eq!(err.fault(), Some(Fault::ReadTimeout), "{err:?}");
    assert_eq!(err.attempts(), 1);
    drop(listener);
}
