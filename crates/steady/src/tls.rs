//! TLS trust: verification is always on unless a caller turns it off by name.
//!
//! Why a policy of its own: "just add `-k`" is how credentials end up sent to whoever
//! sits in the middle. steady verifies certificates against the system's roots (or
//! the roots given with [`ClientBuilder::root_certificates_pem`]); a client built with
//! [`ClientBuilder::danger_accept_invalid_certs`] refuses to send credentials unless
//! [`ClientBuilder::danger_insecure_with_credentials`] says so too, and every call it
//! makes over unverified TLS is logged as a warning. Nothing is global: the setting
//! lives in one client.
//!
//! [`ClientBuilder::root_certificates_pem`]: crate::ClientBuilder::root_certificates_pem
//! [`ClientBuilder::danger_accept_invalid_certs`]: crate::ClientBuilder::danger_accept_invalid_certs
//! [`ClientBuilder::danger_insecure_with_credentials`]: crate::ClientBuilder::danger_insecure_with_credentials

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::Error;

/// How one client trusts servers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// Extra roots, parsed.
    pub(crate) roots: Vec<reqwest::Certificate>,
    /// The same, as DER, for the check that a server certificate is one of them.
    pub(crate) roots_der: Vec<CertificateDer<'static>>,
    /// Trust only `roots`, not the system's.
    pub(crate) only: bool,
    /// Accept any certificate.
    pub(crate) insecure: bool,
    /// ... and still send credentials.
    pub(crate) insecure_with_credentials: bool,
}

impl Trust {
    /// Adds the certificates of a PEM bundle to the roots.
    pub(crate) fn add_pem(&mut self, pem: &[u8], what: &str) -> Result<(), Error> {
        let certs = Trust::parse_pem(pem, what)?;
        self.roots.extend(certs);
        self.roots_der.extend(
            CertificateDer::pem_slice_iter(pem)
                .filter_map(Result::ok)
                .map(CertificateDer::into_owned),
        );
        Ok(())
    }

    /// Parses a PEM bundle of one or more certificates.
    pub(crate) fn parse_pem(pem: &[u8], what: &str) -> Result<Vec<reqwest::Certificate>, Error> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::usage(format!("{what}: not a PEM certificate bundle: {e}")))?;
        if certs.is_empty() {
            return Err(Error::usage(format!(
                "{what}: no certificate found (expected '-----BEGIN CERTIFICATE-----')"
            )));
        }
        Ok(certs)
    }

    /// The rustls configuration for this trust: the given roots only, or the system's
    /// plus the given ones. `None` when certificate checks are off, or the system's
    /// verifier cannot be set up (reqwest's own configuration then applies).
    pub(crate) fn config(&self) -> Option<rustls::ClientConfig> {
        if self.insecure {
            return None;
        }
        if self.only {
            return if self.roots_der.is_empty() {
                None
            } else {
                given_only(&self.roots_der)
            };
        }
        platform(&self.roots_der)
    }

    /// Onto reqwest's builder.
    pub(crate) fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if let Some(config) = self.config() {
            return builder.tls_backend_preconfigured(config);
        }
        if !self.roots.is_empty() {
            builder = if self.only {
                builder.tls_certs_only(self.roots.iter().cloned())
            } else {
                builder.tls_certs_merge(self.roots.iter().cloned())
            };
        }
        if self.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        builder
    }

    /// Whether a request with credentials may go out through this client.
    pub(crate) fn check_credentials(&self, has_credentials: bool) -> Result<(), Error> {
        if self.insecure && has_credentials && !self.insecure_with_credentials {
            return Err(Error::usage(
                "refusing to send credentials with certificate checks off (--insecure): \
                 anyone in the middle could read them. Fix the certificate (--cacert for a \
                 private CA), or accept the risk with --insecure-with-credentials",
            ));
        }
        Ok(())
    }
}

/// A client configuration around `verifier`, offering HTTP/2 first as reqwest's own.
fn config_with(
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Option<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Some(config)
}

/// The system's trust (reqwest's own choice, rustls-platform-verifier) plus `extra`,
/// with self-signed certificates named as such ([`SelfSignedNamed`]).
fn platform(extra: &[CertificateDer<'static>]) -> Option<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra.iter().cloned(),
        Arc::clone(&provider),
    )
    .ok()?;
    config_with(
        provider,
        Arc::new(SelfSignedNamed {
            inner: Arc::new(inner),
        }),
    )
}

/// Why a certificate was refused, when rustls has no words for it.
#[derive(Debug)]
pub(crate) struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfSigned")
    }
}

impl std::error::Error for SelfSigned {}

/// Whether `cert` names itself as its issuer (and is alone: no chain).
fn is_self_signed(cert: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> bool {
    intermediates.is_empty()
        && webpki::EndEntityCert::try_from(cert).is_ok_and(|ee| ee.issuer() == ee.subject())
}

/// A verifier that says "self-signed" where webpki says "unknown issuer" or "CA used
/// as end entity" for a certificate that signed itself: the case of a development
/// server or an appliance, where the fix (`--cacert` with that certificate) differs
/// from a missing private CA. Hand-written: rustls reports the chain's failure, not
/// what the certificate is.
#[derive(Debug)]
struct SelfSignedNamed {
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for SelfSignedNamed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|err| match &err {
                rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer | CertificateError::Other(_),
                ) if (matches!(
                    err,
                    rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                ) || format!("{err:?}").contains("CaUsedAsEndEntity"))
                    && is_self_signed(end_entity, intermediates) =>
                {
                    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                        Arc::new(SelfSigned),
                    )))
                }
                _ => err,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS configuration that trusts only `given`: certificates they sign, and a server
/// certificate that is exactly one of them.
fn given_only(given: &[CertificateDer<'static>]) -> Option<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in given {
        // A certificate webpki cannot take as an anchor is still trusted as given.
        let _ = roots.add(cert.clone());
    }
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .ok()?;
    let verifier = GivenCerts {
        inner,
        given: given.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    };
    config_with(provider, Arc::new(verifier))
}

/// webpki's verification, and one thing more, as curl with OpenSSL does: a server
/// certificate that is exactly one the user gave with `--cacert` is trusted even when
/// it is a CA certificate (`CA:TRUE`, what `openssl req -x509` makes by default),
/// which webpki refuses as a server's own. Its dates are checked (webpki checks them
/// before it looks at `CA:TRUE`) and so is its name, as curl does: a certificate for
/// 127.0.0.1 does not serve `https://localhost`. Hand-written: rustls has no such
/// option, and this is the case curl users hit with self-signed servers.
#[derive(Debug)]
struct GivenCerts {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    given: Vec<CertificateDer<'static>>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl GivenCerts {
    /// The public key of `cert` when it is a CA certificate the user gave (webpki will
    /// not read it as a server's own): the full `SubjectPublicKeyInfo`, DER.
    fn pinned_ca_key(&self, cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
        if !self.given.iter().any(|c| c.as_ref() == cert.as_ref()) {
            return None;
        }
        if rustls::server::ParsedCertificate::try_from(cert).is_ok() {
            return None; // a server certificate: webpki's own path handles it
        }
        let anchor = webpki::anchor_from_trusted_cert(cert).ok()?;
        // The anchor keeps the SPKI's contents; put the SEQUENCE around them again.
        let body: &[u8] = anchor.subject_public_key_info.as_ref();
        let mut der = vec![0x30];
        match body.len() {
            n if n < 0x80 => der.push(n as u8),
            n if n <= 0xff => der.extend([0x81, n as u8]),
            n => der.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        der.extend_from_slice(body);
        Some(der)
    }
}

impl ServerCertVerifier for GivenCerts {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other)))
                if format!("{other:?}").contains("CaUsedAsEndEntity")
                    && self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                // Pinned: only the holder of its key can present it (the handshake
                // signature is checked with its key below); it must name the server.
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
                    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
                })?;
                match cert.verify_is_valid_for_subject_name(server_name) {
                    Ok(()) => Ok(ServerCertVerified::assertion()),
                    Err(webpki::Error::CertNotValidForName(context)) => {
                        Err(rustls::Error::InvalidCertificate(
                            CertificateError::NotValidForNameContext {
                                expected: context.expected,
                                presented: context.presented,
                            },
                        ))
                    }
                    Err(_) => Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName,
                    )),
                }
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.pinned_ca_key(cert).is_some() {
            return Err(rustls::Error::General(
                "a CA certificate used as the server's own is trusted over TLS 1.3 only".into(),
            ));
        }
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match self.pinned_ca_key(cert) {
            Some(spki) => rustls::crypto::verify_tls13_signature_with_raw_key(
                message,
                &rustls::pki_types::SubjectPublicKeyInfoDer::from(spki.as_slice()),
                dss,
                &self.algorithms,
            ),
            None => self.inner.verify_tls13_signature(message, cert, dss),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
