//! Cookies kept between calls, and between runs: sessions.
//!
//! An API that logs in with a cookie (`Set-Cookie: sid=...`) wants it back on every
//! later call. A [`CookieJar`] given to [`ClientBuilder::cookie_jar`] stores what
//! servers set (by domain, path, expiry and `Secure`, as browsers do: the
//! `cookie_store` crate) and sends what matches; [`CookieJar::load`] and
//! [`CookieJar::save`] keep it in a JSON file between runs (`steady --session FILE`, as
//! HTTPie's sessions and curl's cookie jar). Cookies are credentials: the file is
//! written with mode 0600, atomically (a temporary file renamed into place), and `-v`
//! shows cookie values as `****`.
//!
//! [`ClientBuilder::cookie_jar`]: crate::ClientBuilder::cookie_jar

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use reqwest::header::HeaderValue;

use crate::Error;

/// The cookies of a client. See the [module docs](self).
#[derive(Debug, Default)]
pub struct CookieJar {
    store: RwLock<cookie_store::CookieStore>,
    path: Option<PathBuf>,
}

impl CookieJar {
    /// An empty jar in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The jar saved at `path`, or an empty one bound to `path` when the file does not
    /// exist yet. Expired cookies are dropped.
    ///
    /// # Errors
    /// When the file exists but cannot be read or is not a cookie file (the error
    /// names it).
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let store = match std::fs::File::open(&path) {
            Ok(file) => {
                cookie_store::serde::json::load(std::io::BufReader::new(file)).map_err(|e| {
                    Error::usage(format!(
                        "the session file {} is not a cookie file steady can read: {e}",
                        path.display()
                    ))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cookie_store::CookieStore::default()
            }
            Err(e) => {
                return Err(Error::usage(format!(
                    "cannot read the session file {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(CookieJar {
            store: RwLock::new(store),
            path: Some(path),
        })
    }

    /// The cookies in the file at `path`, in either format a user may have: steady's
    /// session file (JSON, [`CookieJar::load`]) or curl's and browsers' `cookies.txt`
    /// (the Netscape format: one cookie a line, seven tab-separated fields). The jar is
    /// not bound to the file: [`CookieJar::save`] writes nothing.
    ///
    /// # Errors
    /// When the file cannot be read, or is in neither format (the error names the
    /// line).
    pub fn read_any(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read the cookie file {}: {e}",
                path.display()
            ))
        })?;
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') || trimmed.starts_with('{') {
            let mut jar = CookieJar::load(path)?;
            jar.path = None;
            return Ok(jar);
        }
        let mut store = cookie_store::CookieStore::default();
        for (n, line) in text.lines().enumerate() {
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let [domain, _subdomains, path_field, secure, expires, name, value] = fields[..] else {
                return Err(Error::usage(format!(
                    "the cookie file {} is neither a steady session file nor curl's cookies.txt: line {} has {} tab-separated fields, not 7",
                    path.display(),
                    n + 1,
                    fields.len()
                )));
            };
            let host = domain.trim_start_matches('.');
            let secure = secure.eq_ignore_ascii_case("TRUE");
            let mut set = format!("{name}={value}; Path={path_field}");
            if domain.starts_with('.') {
                set.push_str(&format!("; Domain={host}"));
            }
            if secure {
                set.push_str("; Secure");
            }
            if http_only {
                set.push_str("; HttpOnly");
            }
            match expires.parse::<u64>() {
                Ok(0) | Err(_) => {}
                Ok(at) => set.push_str(&format!(
                    "; Expires={}",
                    httpdate::fmt_http_date(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(at)
                    )
                )),
            }
            let scheme = if secure { "https" } else { "http" };
            if let Ok(url) = reqwest::Url::parse(&format!("{scheme}://{host}{path_field}")) {
                let _ = store.parse(&set, &url);
            }
        }
        Ok(CookieJar {
            store: RwLock::new(store),
            path: None,
        })
    }

    /// Saves the cookies held (unexpired, session cookies included) to `path` in
    /// curl's `cookies.txt` format, mode 0600, atomically: what `curl -c` writes, so
    /// curl and steady can share a jar.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_netscape(&self, path: &Path) -> Result<(), Error> {
        let mut text = String::from(
            "# Netscape HTTP Cookie File\n# Written by steady; curl reads it with -b.\n\n",
        );
        if let Ok(store) = self.store.read() {
            for cookie in store.iter_unexpired() {
                let (domain, subdomains) = match &cookie.domain {
                    cookie_store::CookieDomain::Suffix(d) => (format!(".{d}"), "TRUE"),
                    cookie_store::CookieDomain::HostOnly(d) => (d.clone(), "FALSE"),
                    _ => continue,
                };
                let expires = match &cookie.expires {
                    cookie_store::CookieExpiration::AtUtc(at) => at.unix_timestamp().max(0),
                    cookie_store::CookieExpiration::SessionEnd => 0,
                };
                let prefix = if cookie.http_only().unwrap_or(false) {
                    "#HttpOnly_"
                } else {
                    ""
                };
                let path: &str = cookie.path.as_ref();
                text.push_str(&format!(
                    "{prefix}{domain}\t{subdomains}\t{path}\t{}\t{expires}\t{}\t{}\n",
                    if cookie.secure().unwrap_or(false) {
                        "TRUE"
                    } else {
                        "FALSE"
                    },
                    cookie.name(),
                    cookie.value()
                ));
            }
        }
        crate::atomic::write_private(path, text.as_bytes()).map_err(|e| {
            Error::usage(format!(
                "cannot write the cookie file {}: {e}",
                path.display()
            ))
        })
    }

    /// Saves the jar to the file it was loaded from (nothing for a jar in memory).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self) -> Result<(), Error> {
        match &self.path {
            Some(path) => self.save_to(path),
            None => Ok(()),
        }
    }

    /// Saves the cookies, those of this session included, to `path`:
    /// mode 0600, written to a temporary file beside it and renamed into place.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_to(&self, path: &Path) -> Result<(), Error> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::usage(format!(
                "cannot write the session file {}: {e}",
                path.display()
            ))
        };
        let mut text = Vec::new();
        {
            let store = self.store.read().map_err(|_| fail(&"lock poisoned"))?;
            // Expired cookies are dropped when the file is loaded again.
            cookie_store::serde::json::save_incl_expired_and_nonpersistent(&store, &mut text)
                .map_err(|e| fail(&e))?;
        }
        crate::atomic::write_private(path, &text).map_err(|e| fail(&e))
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        self.store
            .read()
            .map(|s| s.iter_unexpired().count())
            .unwrap_or(0)
    }

    /// Whether the jar holds no unexpired cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CookieJar {
    /// Keeps the cookies of a response's `Set-Cookie` headers, from `url`.
    pub(crate) fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &HeaderValue>,
        url: &reqwest::Url,
    ) {
        let cookies = headers.filter_map(|value| {
            let text = value.to_str().ok()?;
            cookie_store::RawCookie::parse(text.to_owned()).ok()
        });
        if let Ok(mut store) = self.store.write() {
            store.store_response_cookies(cookies, url);
        }
    }

    /// The `Cookie` header for a request to `url`, marked sensitive.
    pub(crate) fn cookies(&self, url: &reqwest::Url) -> Option<HeaderValue> {
        let store = self.store.read().ok()?;
        let text = store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        if text.is_empty() {
            return None;
        }
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}
