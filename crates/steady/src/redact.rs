//! Keeping credentials out of everything steady prints, logs or reports.
//!
//! Three sources of leaks are closed here: headers whose names say they carry a
//! credential ([`is_credential_header`]), URLs that carry a key (`?api_key=...`,
//! `https://user:pass@host`) and server text that echoes a credential back (an error
//! body quoting the `Authorization` header it rejected).

use std::sync::Arc;

use reqwest::Url;

use crate::Secret;

/// Query parameter names whose values are treated as credentials in printed URLs.
const SENSITIVE_PARAMS: [&str; 14] = [
    "access_token",
    "api_key",
    "apikey",
    "api-key",
    "auth",
    "client_secret",
    "code",
    "key",
    "password",
    "secret",
    "sig",
    "signature",
    "token",
    "x-api-key",
];

/// Words that, in a header's name, say it carries a credential (`X-Api-Key`,
/// `X-Auth-Token`, `X-Session-Id`, `X-Hub-Signature`, ...).
const CREDENTIAL_WORDS: [&str; 11] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "session",
    "cookie",
    "signature",
    "credential",
    "csrf",
];

/// Whether a header's name says it carries a credential: it contains one of `key`,
/// `token`, `secret`, `password`, `auth`, `session`, `cookie`, `signature`,
/// `credential` or `csrf`, or has `jwt`, `bearer`, `pwd`, `pass`, `hmac`, `sig` or
/// `otp` as a part between dashes (any case). Such a header's value is `****` in every log,
/// error and report, and is not sent across origins on a redirect. Not counted:
/// `Idempotency-Key` (a request id, not a secret), and the `*-Authenticate` challenges
/// a server sends (they name a scheme, not a secret).
///
/// ```
/// use steady::redact::is_credential_header;
/// assert!(is_credential_header("X-Api-Key"));
/// assert!(is_credential_header("x-auth-token"));
/// assert!(is_credential_header("Authorization"));
/// assert!(!is_credential_header("Idempotency-Key"));
/// assert!(is_credential_header("X-Jwt"));
/// assert!(!is_credential_header("Content-Type"));
/// assert!(!is_credential_header("X-Design"));
/// ```
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name == "idempotency-key" || name.ends_with("-authenticate") {
        return false;
    }
    CREDENTIAL_WORDS.iter().any(|word| name.contains(word))
        || name
            .split(['-', '_'])
            .any(|part| CREDENTIAL_PARTS.contains(&part))
}

/// Short words that say "credential" only as a whole part of a name (`X-Jwt`,
/// `X-Api-Pass`, `X-Sig`), not inside another word (`X-Design`).
const CREDENTIAL_PARTS: [&str; 7] = ["jwt", "bearer", "pwd", "pass", "hmac", "sig", "otp"];

/// The secrets of one request, to scrub from anything derived from its exchange.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Arc<[Secret]>,
}

impl Scrubber {
    pub(crate) fn new(secrets: Vec<Secret>) -> Self {
        Scrubber {
            secrets: secrets
                .into_iter()
                .filter(|s| s.expose().len() >= 3)
                .collect(),
        }
    }

    /// `text` with every secret value replaced by `****`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.secrets.iter() {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), "****");
            }
        }
        out
    }

    /// `body` with every secret replaced by `****` (text bodies only; others as they are).
    pub(crate) fn scrub_bytes(&self, body: &bytes::Bytes) -> bytes::Bytes {
        match std::str::from_utf8(body) {
            Ok(text) if self.secrets.iter().any(|s| text.contains(s.expose())) => {
                bytes::Bytes::from(self.scrub(text))
            }
            _ => body.clone(),
        }
    }

    /// `url` for printing: password, sensitive query values and any secret removed.
    pub(crate) fn url(&self, url: &Url) -> String {
        self.scrub(&redact_url(url))
    }
}

/// `url` with its password and the values of credential-like query parameters
/// replaced by `****`.
///
/// ```
/// let url = steady::Url::parse("https://me:pw@api.example/v1?api_key=abc&q=rust").unwrap();
/// assert_eq!(
///     steady::redact_url(&url),
///     "https://me:****@api.example/v1?api_key=****&q=rust"
/// );
/// ```
pub fn redact_url(url: &Url) -> String {
    // The common case, nothing to hide, costs one copy of the text.
    let sensitive_query = url.query_pairs().any(|(k, _)| is_sensitive_param(&k));
    if url.password().is_none() && !sensitive_query {
        return url.as_str().to_owned();
    }
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("****"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let sensitive = is_sensitive_param(&k);
                (
                    k.into_owned(),
                    if sensitive {
                        "****".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.as_str().replace("%2A%2A%2A%2A", "****")
}

/// The credentials a URL carries: its password and the values of credential-like
/// query parameters (both as written and decoded).
pub(crate) fn url_secrets(url: &Url) -> Vec<Secret> {
    let mut secrets = Vec::new();
    if let Some(password) = url.password() {
        secrets.push(Secret::new(password));
    }
    if url.query().is_some() {
        for (name, value) in url.query_pairs() {
            if is_sensitive_param(&name) && !value.is_empty() {
                secrets.push(Secret::new(value.into_owned()));
            }
        }
    }
    secrets
}

/// Whether a query parameter's value is a credential (`api_key`, `token`, `*_token`, ...).
fn is_sensitive_param(name: &str) -> bool {
    SENSITIVE_PARAMS
        .iter()
        .any(|p| name.eq_ignore_ascii_case(p))
        || name.to_ascii_lowercase().ends_with("_token")
}

/// A URL given as text, for an error message: redacted when it parses, otherwise
/// cut short.
pub(crate) fn redact_text_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => redact_url(&url),
        Err(_) => text.chars().filter(|c| !c.is_control()).take(200).collect(),
    }
}
