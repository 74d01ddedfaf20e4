//! The response cache behind the `cache` fallback: the last good answer per request,
//! in a SQLite file, served when the live call has an outage.
//!
//! What is stored: successful `GET` responses (after the semantic checks), with their
//! status, content type, headers (not `Set-Cookie` nor any header whose name says it
//! carries a credential) and body, and when they were stored.
//! What is never stored: a response marked `Cache-Control: no-store`. The key is a
//! SHA-256 of the method, the URL and a fingerprint of the request's credentials (a
//! hash, never the secret itself), so two identities never share an entry; the URL is
//! kept redacted for display only, and known secrets are scrubbed from stored bodies.
//!
//! What is served, and when (HTTP caching rules for errors, RFC 9111 and RFC 5861):
//! - an entry marked `no-cache` or `must-revalidate` is not served stale unless the
//!   caller overrides ([`CachePolicy::ignore_revalidate`]);
//! - `stale-if-error=N` bounds how stale it may be: its `max-age` plus N seconds;
//! - [`CachePolicy::max_stale`] bounds the age of any entry.
//!
//! A cache file that is corrupt, locked or unwritable never fails the call: the cache
//! is bypassed with a warning (target `steady::cache`, level warn: the CLI shows it
//! without `-v`), once per problem and process so that a batch is not flooded. A cache
//! that can be read but not written (read-only media, another user's file) is still
//! read for fallbacks; only storing new answers is skipped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// What the caller allows the cache fallback to serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CachePolicy {
    /// The oldest entry that may be served (default: no limit beyond the headers').
    pub max_stale: Option<Duration>,
    /// Serve entries marked `no-cache` / `must-revalidate` anyway (default: no).
    pub ignore_revalidate: bool,
}

/// A stored response.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) stored_ms: u64,
    pub(crate) cache_control: String,
}

/// Cache-Control directives that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) no_store: bool,
    pub(crate) no_cache: bool,
    pub(crate) must_revalidate: bool,
    pub(crate) max_age: Option<u64>,
    pub(crate) stale_if_error: Option<u64>,
}

pub(crate) fn directives(cache_control: &str) -> Directives {
    let mut d = Directives::default();
    for part in cache_control.split(',') {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (
                n.trim().to_ascii_lowercase(),
                Some(v.trim().trim_matches('"')),
            ),
            None => (part.trim().to_ascii_lowercase(), None),
        };
        let seconds = value.and_then(|v| v.parse::<u64>().ok());
        match name.as_str() {
            "no-store" => d.no_store = true,
            "no-cache" => d.no_cache = true,
            "must-revalidate" | "proxy-revalidate" => d.must_revalidate = true,
            "max-age" => d.max_age = seconds,
            "stale-if-error" => d.stale_if_error = seconds,
            _ => {}
        }
    }
    d
}

/// The cache key: method, URL and a fingerprint of the credentials.
pub(crate) fn key(method: &str, url: &str, credentials: &[&str]) -> String {
    let mut creds = Sha256::new();
    for c in credentials {
        creds.update(c.as_bytes());
        creds.update([0u8]);
    }
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(url.as_bytes());
    h.update(b"\n");
    h.update(creds.finalize());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Why an entry may not be served, if it may not.
pub(crate) fn refuse(entry: &Entry, policy: &CachePolicy, now_ms: u64) -> Option<String> {
    let age = Duration::from_millis(now_ms.saturating_sub(entry.stored_ms));
    let d = directives(&entry.cache_control);
    if (d.no_cache || d.must_revalidate) && !policy.ignore_revalidate {
        return Some(format!(
            "the cached answer is marked {} (Cache-Control: {})",
            if d.no_cache {
                "no-cache"
            } else {
                "must-revalidate"
            },
            entry.cache_control
        ));
    }
    if let Some(extra) = d.stale_if_error {
        let limit = Duration::from_secs(d.max_age.unwrap_or(0).saturating_add(extra));
        if age > limit {
            return Some(format!(
                "the cached answer is {} old, past its stale-if-error limit of {}",
                crate::duration::human(age),
                crate::duration::human(limit)
            ));
        }
    }
    if let Some(max) = policy.max_stale {
        if age > max {
            return Some(format!(
                "the cached answer is {} old, more than the {} allowed",
                crate::duration::human(age),
                crate::duration::human(max)
            ));
        }
    }
    None
}

/// The cache file.
#[derive(Debug)]
pub struct Cache {
    path: PathBuf,
    conn: Mutex<Option<Opened>>,
    warned_read: AtomicBool,
    warned_write: AtomicBool,
}

#[derive(Debug)]
struct Opened {
    conn: Connection,
    /// Opened read-only: the file or its folder cannot be written.
    read_only: bool,
}

impl Cache {
    /// The default file: `steady/cache.db` in the user's cache directory
    /// (`$XDG_CACHE_HOME`, `~/.cache`, `~/Library/Caches`, ...).
    pub fn default_path() -> PathBuf {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("steady")
            .join("cache.db")
    }

    /// A cache in `path`, opened on first use.
    pub fn new(path: impl Into<PathBuf>) -> Cache {
        Cache {
            path: path.into(),
            conn: Mutex::new(None),
            warned_read: AtomicBool::new(false),
            warned_write: AtomicBool::new(false),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(
        &self,
        write: bool,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        let result = (|| {
            let mut guard = self
                .conn
                .lock()
                .map_err(|_| "cache lock poisoned".to_owned())?;
            if guard.is_none() {
                *guard = Some(open(&self.path)?);
            }
            let opened = guard.as_ref().expect("opened above");
            if write && opened.read_only {
                return Err(format!(
                    "the cache {} is read-only: new answers are not stored (it is still read for fallbacks)",
                    self.path.display()
                ));
            }
            f(&opened.conn).map_err(|e| format!("the cache {}: {e}", self.path.display()))
        })();
        if let Err(why) = &result {
            let warned = if write {
                &self.warned_write
            } else {
                &self.warned_read
            };
            if warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(target: "steady::cache", "{why}; bypassed");
            } else {
                tracing::warn!(target: "steady::cache", "{why}; bypassed");
            }
        }
        result
    }

    pub(crate) fn store(&self, key: &str, url: &str, entry: &Entry) -> Result<(), String> {
        let headers = serde_json::to_string(&entry.headers).map_err(|e| e.to_string())?;
        self.with(true, |c| {
            c.execute(
                "INSERT INTO responses (key, url, status, content_type, headers, body, stored_ms, cache_control)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(key) DO UPDATE SET url = excluded.url, status = excluded.status,
                   content_type = excluded.content_type, headers = excluded.headers, body = excluded.body,
                   stored_ms = excluded.stored_ms, cache_control = excluded.cache_control",
                params![
                    key,
                    url,
                    entry.status,
                    entry.content_type,
                    headers,
                    entry.body,
                    entry.stored_ms as i64,
                    entry.cache_control
                ],
            )
            .map(|_| ())
        })
    }

    pub(crate) fn lookup(&self, key: &str) -> Result<Option<Entry>, String> {
        self.with(false, |c| {
            c.query_row(
                "SELECT status, content_type, headers, body, stored_ms, cache_control FROM responses WHERE key = ?1",
                params![key],
                |r| {
                    let headers: String = r.get(2)?;
                    Ok(Entry {
                        status: r.get(0)?,
                        content_type: r.get(1)?,
                        headers: serde_json::from_str(&headers).unwrap_or_default(),
                        body: r.get(3)?,
                        stored_ms: r.get::<_, i64>(4)? as u64,
                        cache_control: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }
}

/// Opens the cache for reading and writing, or, when the file or its folder cannot be
/// written but the file exists, for reading only.
fn open(path: &Path) -> Result<Opened, String> {
    match open_read_write(path) {
        Ok(conn) => Ok(Opened {
            conn,
            read_only: false,
        }),
        Err(why) => match open_read_only(path) {
            Some(conn) => Ok(Opened {
                conn,
                read_only: true,
            }),
            None => Err(why),
        },
    }
}

/// The cache read-only ([`crate::store::read_only`]).
fn open_read_only(path: &Path) -> Option<Connection> {
    if !path.exists() {
        return None;
    }
    crate::store::read_only(path, "SELECT count(*) FROM responses").ok()
}

fn open_read_write(path: &Path) -> Result<Connection, String> {
    let shown = path.display();
    // A short busy timeout: a cache is a convenience, and a call must not wait long
    // for another process's write to it.
    let profile = crate::store::Profile::new("cache")
        .busy_timeout(Duration::from_secs(1))
        .create_folder();
    let conn = crate::store::open(path, &profile)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS responses (
            key TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            status INTEGER NOT NULL,
            content_type TEXT,
            headers TEXT NOT NULL,
            body BLOB NOT NULL,
            stored_ms INTEGER NOT NULL,
            cache_control TEXT NOT NULL
        )",
    )
    .map_err(|e| format!("the cache {shown} is not usable: {e}"))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cache_control: &str, stored_ms: u64) -> Entry {
        Entry {
            status: 200,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
            stored_ms,
            cache_control: cache_control.to_owned(),
        }
    }

    #[test]
    fn directives_parse() {
        let d = directives("public, max-age=60, stale-if-error=\"300\", must-revalidate");
        assert_eq!(
            d,
            Directives {
                no_store: false,
                no_cache: false,
                must_revalidate: true,
                max_age: Some(60),
                stale_if_error: Some(300)
            }
        );
        assert!(directives("No-Store").no_store);
    }

    #[test]
    fn every_cache_control_case() {
        let policy = CachePolicy::default();
        let override_ = CachePolicy {
            ignore_revalidate: true,
            ..policy
        };
        let now = 1_000_000;
        assert_eq!(
            refuse(&entry("", 0), &policy, now),
            None,
            "no directives: served"
        );
        assert!(refuse(&entry("no-cache", 0), &policy, now)
            .unwrap()
            .contains("no-cache"));
        assert!(refuse(&entry("must-revalidate", 0), &policy, now)
            .unwrap()
            .contains("must-revalidate"));
        assert_eq!(refuse(&entry("no-cache", 0), &override_, now), None);
        // stale-if-error: max-age 60 + 300 = 360s of staleness allowed.
        assert_eq!(
            refuse(
                &entry("max-age=60, stale-if-error=300", now - 359_000),
                &policy,
                now
            ),
            None
        );
        assert!(refuse(
            &entry("max-age=60, stale-if-error=300", now - 361_000),
            &policy,
            now
        )
        .unwrap()
        .contains("past its stale-if-error limit of 6m"));
        let bounded = CachePolicy {
            max_stale: Some(Duration::from_secs(10)),
            ..policy
        };
        assert!(refuse(&entry("", now - 11_000), &bounded, now)
            .unwrap()
            .contains("more than the 10s allowed"));
        assert_eq!(refuse(&entry("", now - 9_000), &bounded, now), None);
    }

    #[test]
    fn keys_differ_by_method_url_and_identity() {
        let a = key("GET", "https://x/", &["Bearer one"]);
        assert_eq!(a, key("GET", "https://x/", &["Bearer one"]));
        assert_ne!(a, key("GET", "https://x/", &["Bearer two"]));
        assert_ne!(a, key("GET", "https://x/", &[]));
        assert_ne!(a, key("HEAD", "https://x/", &["Bearer one"]));
        assert_ne!(a, key("GET", "https://x/?a", &["Bearer one"]));
        assert!(!a.contains("one"));
    }
}
