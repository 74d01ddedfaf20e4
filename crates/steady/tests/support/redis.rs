//! A redis-server of the test's own on a free loopback port, stopped on drop.
//! `.ci/run` installs Debian's redis-server.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// A running server, or `None` (with a note) when redis-server is not installed
    /// outside CI; under CI a missing redis-server fails the test.
    pub fn start() -> Option<Redis> {
        Self::start_with(&[])
    }

    /// A server speaking only TLS, with a certificate for `localhost` signed by a CA
    /// of its own: the server and the CA's certificate (PEM).
    pub fn start_tls(dir: &std::path::Path) -> Option<(Redis, String)> {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "steady test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let ca = ca_cert;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let (cert_file, key_file, ca_file) = (
            dir.join("redis.crt"),
            dir.join("redis.key"),
            dir.join("ca.crt"),
        );
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let files = [&cert_file, &key_file, &ca_file].map(|f| f.to_str().unwrap().to_owned());
        let redis = Self::start_with(&[
            "--tls-port",
            "{port}",
            "--port",
            "0",
            "--tls-cert-file",
            &files[0],
            "--tls-key-file",
            &files[1],
            "--tls-ca-cert-file",
            &files[2],
            "--tls-auth-clients",
            "no",
        ])?;
        Some((redis, ca.pem()))
    }

    /// `redis-server` with `extra` arguments (`{port}` in one is the free port; without
    /// one, `--port` is it).
    fn start_with(extra: &[&str]) -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed (.ci/run installs it)"
            );
            eprintln!("skipped: redis-server is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args: Vec<String> = if extra.contains(&"{port}") {
            Vec::new()
        } else {
            vec!["--port".into(), port.to_string()]
        };
        args.extend(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].map(String::from));
        args.extend(extra.iter().map(|a| a.replace("{port}", &port.to_string())));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Redis { child, port })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The URL of a TLS server ([`Redis::start_tls`]): by the name in its certificate.
    pub fn tls_url(&self) -> String {
        format!("rediss://localhost:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
