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

use crate::Error;

/// How one client trusts servers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// Extra roots, parsed.
    pub(crate) roots: Vec<reqwest::Certificate>,
    /// Trust only `roots`, not the system's.
    pub(crate) only: bool,
    /// Accept any certificate.
    pub(crate) insecure: bool,
    /// ... and still send credentials.
    pub(crate) insecure_with_credentials: bool,
}

impl Trust {
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

    /// Onto reqwest's builder.
    pub(crate) fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
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
