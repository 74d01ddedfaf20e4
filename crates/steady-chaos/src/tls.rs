//! A TLS server with a certificate made on the spot (self-signed, for `localhost`
//! and `127.0.0.1`), for testing certificate checks: `--cacert`, `--insecure` and
//! the refusal to send credentials over unverified TLS. Each connection gets one
//! fixed JSON answer; the server records the head of every request that got through
//! the handshake, and counts handshakes that failed. [`TlsServer::h2`] speaks HTTP/2
//! (hyper) to clients that offer it; [`TlsServer::requiring_client_certificate`] asks
//! for a client certificate (mutual TLS) and hands out the identity that passes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Which certificate a [`TlsServer`] presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cert {
    /// Self-signed, for `localhost` and `127.0.0.1` (rcgen's default: not a CA).
    #[default]
    SelfSigned,
    /// ... expired (valid from 2020-01-01 to 2021-01-01).
    Expired,
    /// ... for `other.example` only.
    OtherName,
    /// ... a CA certificate (`CA:TRUE`, as `openssl req -x509` makes), used as the
    /// server's own.
    Ca,
    /// ... a CA certificate for `127.0.0.1` only (the server is called as
    /// `localhost`).
    CaForIp,
    /// ... a CA certificate that expired (2020-01-01 to 2021-01-01).
    CaExpired,
}

/// A running TLS server; it stops with the process.
pub struct TlsServer {
    addr: SocketAddr,
    ca_pem: String,
    heads: Arc<Mutex<Vec<String>>>,
    failed_handshakes: Arc<AtomicUsize>,
}

impl TlsServer {
    /// Starts a server on 127.0.0.1 that answers every request with `200` and `body`.
    ///
    /// # Panics
    /// When the certificate cannot be made or the port cannot be bound (a test set-up
    /// failure).
    pub fn start(body: &str) -> TlsServer {
        TlsServer::start_raw(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    /// Starts a server that sends `answer` (status line, headers and body, as bytes on
    /// the wire) to every request.
    ///
    /// # Panics
    /// As [`TlsServer::start`].
    pub fn start_raw(answer: String) -> TlsServer {
        TlsServer::start_with(Cert::SelfSigned, answer)
    }

    /// Starts a server presenting `cert` that answers `200` with `body`.
    ///
    /// # Panics
    /// As [`TlsServer::start`].
    pub fn with_cert(cert: Cert, body: &str) -> TlsServer {
        TlsServer::start_with(
            cert,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    fn start_with(kind: Cert, answer: String) -> TlsServer {
        let (config, ca_pem) = server_config(kind, &[]);
        TlsServer::serve(config, ca_pem, answer)
    }

    /// Serves `answer` to every request over TLS with `config` (one thread per
    /// connection).
    fn serve(config: Arc<rustls::ServerConfig>, ca_pem: String, answer: String) -> TlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let (h, f) = (Arc::clone(&heads), Arc::clone(&failed_handshakes));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, heads, failed, answer) = (
                    Arc::clone(&config),
                    Arc::clone(&h),
                    Arc::clone(&f),
                    answer.clone(),
                );
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        match tls.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                head.extend_from_slice(&buf[..n]);
                                if head.windows(4).any(|w| w == b"\r\n\r\n") {
                                    break;
                                }
                            }
                            Err(_) => {
                                if head.is_empty() {
                                    failed.fetch_add(1, Ordering::SeqCst);
                                }
                                return;
                            }
                        }
                    }
                    if head.is_empty() {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    heads
                        .lock()
                        .expect("heads")
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let _ = tls.write_all(answer.as_bytes());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsServer {
            addr,
            ca_pem,
            heads,
            failed_handshakes,
        }
    }

    /// Starts a server that speaks HTTP/2 to clients that offer it (ALPN `h2`) and
    /// HTTP/1.1 to the others, answering every request with `200` and `body`. Each
    /// request is recorded as `HTTP/2.0 GET /path` (the protocol, the method, the path).
    ///
    /// # Panics
    /// As [`TlsServer::start`].
    pub fn h2(body: &'static str) -> TlsServer {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let (config, ca_pem) = server_config(Cert::SelfSigned, &[b"h2", b"http/1.1"]);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let (h, f) = (Arc::clone(&heads), Arc::clone(&failed_handshakes));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, heads, failed) =
                        (acceptor.clone(), Arc::clone(&h), Arc::clone(&f));
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            failed.fetch_add(1, Ordering::SeqCst);
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        let service = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                heads.lock().expect("heads").push(format!(
                                    "{:?} {} {}",
                                    req.version(),
                                    req.method(),
                                    req.uri().path()
                                ));
                                async move {
                                    let resp = hyper::Response::builder()
                                        .header("content-type", "application/json")
                                        .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                            body.as_bytes(),
                                        )))
                                        .expect("response");
                                    Ok::<_, std::convert::Infallible>(resp)
                                }
                            },
                        );
                        let io = TokioIo::new(tls);
                        if h2 {
                            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, service)
                                .await;
                        } else {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, service)
                                .await;
                        }
                    });
                }
            });
        });
        TlsServer {
            addr,
            ca_pem,
            heads,
            failed_handshakes,
        }
    }

    /// Starts a server that requires a client certificate (mutual TLS) issued by a CA
    /// made on the spot, and answers `200` with `body` to clients that present one.
    /// Returns the server and the client's identity: its certificate and key, PEM.
    /// A client without the identity fails the handshake (counted in
    /// [`TlsServer::failed_handshakes`]).
    ///
    /// # Panics
    /// As [`TlsServer::start`].
    pub fn requiring_client_certificate(body: &str) -> (TlsServer, ClientIdentity) {
        let (chain, key, server_pem) = server_cert(Cert::SelfSigned);
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "steady test client CA");
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
        let mut client_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("client");
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "steady test client");
        let client_key = rcgen::KeyPair::generate().expect("key");
        let client_cert = client_params
            .signed_by(&client_key, &ca)
            .expect("client certificate");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).expect("client CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server certificate");
        let server = TlsServer::serve(
            Arc::new(config),
            server_pem,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        (
            server,
            ClientIdentity {
                cert_pem: client_cert.pem(),
                key_pem: client_key.serialize_pem(),
            },
        )
    }

    /// `https://localhost:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// The self-signed certificate, as PEM: the CA to trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The heads of the requests that got through the handshake.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }

    /// Connections whose TLS handshake failed (the client refused the certificate).
    pub fn failed_handshakes(&self) -> usize {
        self.failed_handshakes.load(Ordering::SeqCst)
    }
}

/// A client's certificate and key, PEM (for a client's `Identity`).
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The certificate, issued by the server's client CA.
    pub cert_pem: String,
    /// Its private key (PKCS #8).
    pub key_pem: String,
}

/// A server configuration with a certificate of `kind`, made now, offering `alpn`;
/// and the certificate as PEM.
fn server_config(kind: Cert, alpn: &[&[u8]]) -> (Arc<rustls::ServerConfig>, String) {
    let (chain, key, pem) = server_cert(kind);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (Arc::new(config), pem)
}

/// A server certificate of `kind`, made now: the chain, the key, and the certificate
/// as PEM.
fn server_cert(
    kind: Cert,
) -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
    String,
) {
    let names = match kind {
        Cert::OtherName => vec!["other.example".to_owned()],
        Cert::CaForIp => vec!["127.0.0.1".to_owned()],
        _ => vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
    };
    let mut params = rcgen::CertificateParams::new(names).expect("certificate names");
    if matches!(kind, Cert::Expired | Cert::CaExpired) {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    if matches!(kind, Cert::Ca | Cert::CaForIp | Cert::CaExpired) {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let signing_key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&signing_key).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    (vec![cert.der().clone()], key, cert.pem())
}
