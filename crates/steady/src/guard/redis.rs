//! Guard state in Redis, shared by every process on every machine (`--state redis://`).
//!
//! Fifty pods calling one API with one quota need one circuit, one retry budget and one
//! rate: each process guarding only itself lets the fleet together hammer a dead API
//! fifty times as hard, and a 429's pause seen by one pod goes unheard by the others.
//! Here each host's state is one Redis key (`steady:guard:HOST`, JSON, expiring after a
//! day without use), and every update is an optimistic transaction: `WATCH`, read,
//! change, `MULTI`/`SET`/`EXEC`, again if another process wrote in between (the
//! `redis` crate's `transaction`). No update is lost, whatever the number of writers;
//! the breaker, the budget, the client rate (a reservation, GCRA-like: the next permit
//! time moves on by one interval per call) and the server's pauses are all shared.
//!
//! `rediss://` connects over TLS (rustls), trusting the system's certificate store, or
//! only the CA given to [`RedisStore::open_with_ca`] (`--state-cacert`).
//!
//! Redis is a help, never a dependency: when it cannot be reached within a second (a
//! connection, TLS included, is made once per process and again after an outage) or
//! answers slower than 100 ms, the call goes on with this process's own guards (a
//! warning naming Redis, once per outage), and Redis is tried again 5 s later.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{GuardStore, HostState, MemoryStore};

/// How long Redis may take to answer before the local guards take over.
const TIMEOUT: Duration = Duration::from_millis(100);
/// How long a connection may take (TCP and TLS; a process's first, on a busy machine,
/// can take longer than an answer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the local guards stay in charge after Redis failed.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// A key unused for this long goes.
const EXPIRY_S: u64 = 86_400;

/// Host states in Redis, with local guards when Redis is away.
#[derive(Debug)]
pub struct RedisStore {
    client: redis::Client,
    /// The URL with its password hidden, for messages.
    shown: String,
    conn: Mutex<Link>,
    local: MemoryStore,
}

#[derive(Default)]
struct Link {
    conn: Option<redis::Connection>,
    /// Redis failed: the local guards until then.
    away_until: Option<Instant>,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://HOST:PORT[/DB]`, or `rediss://` over
    /// TLS, trusting the system's certificate store). It connects on first use; an
    /// unreachable Redis is not an error here (the calls go on with local guards and a
    /// warning).
    ///
    /// # Errors
    /// When `url` is not a Redis URL.
    pub fn open(url: &str) -> Result<RedisStore, String> {
        Self::open_with_ca(url, None)
    }

    /// [`RedisStore::open`], trusting only the CA certificate `ca_pem` (PEM) for a
    /// `rediss://` server: a Redis with a certificate of a private CA.
    ///
    /// # Errors
    /// When `url` is not a Redis URL, or a CA is given for a `redis://` URL (it would
    /// not be used: the connection has no TLS).
    pub fn open_with_ca(url: &str, ca_pem: Option<Vec<u8>>) -> Result<RedisStore, String> {
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(_) if !url.starts_with("rediss://") => {
                return Err(format!(
                    "--state {}: a CA certificate is for TLS: use rediss://",
                    redact(url)
                ))
            }
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            ),
        }
        .map_err(|e| format!("--state {}: not a Redis URL: {e}", redact(url)))?;
        Ok(RedisStore {
            client,
            shown: redact(url),
            conn: Mutex::new(Link::default()),
            local: MemoryStore::default(),
        })
    }

    /// Runs `op` on the connection, connecting first if need be; on failure marks
    /// Redis away for a while and warns once.
    fn with_redis<T>(
        &self,
        op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        let mut link = self.conn.lock().ok()?;
        if link.away_until.is_some_and(|until| Instant::now() < until) {
            return None;
        }
        if link.conn.is_none() {
            match self.connect() {
                Ok(conn) => {
                    if link.away_until.take().is_some() {
                        tracing::warn!(target: "steady::state", "guard state in Redis ({}) is reachable again: the fleet's guards are back", self.shown);
                    }
                    link.conn = Some(conn);
                }
                Err(e) => return self.away(&mut link, &e),
            }
        }
        let conn = link.conn.as_mut()?;
        match op(conn) {
            Ok(value) => Some(value),
            Err(e) => {
                link.conn = None;
                self.away(&mut link, &e)
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let conn = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        conn.set_read_timeout(Some(TIMEOUT))?;
        conn.set_write_timeout(Some(TIMEOUT))?;
        Ok(conn)
    }

    fn away<T>(&self, link: &mut Link, e: &redis::RedisError) -> Option<T> {
        if link.away_until.is_none() {
            tracing::warn!(
                target: "steady::state",
                "guard state in Redis ({}) is unavailable ({e}): going on with this process's own guards; trying Redis again every {}s",
                self.shown,
                RETRY_AFTER.as_secs()
            );
        }
        link.away_until = Some(Instant::now() + RETRY_AFTER);
        None
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("connected", &self.conn.is_some())
            .field("away_until", &self.away_until)
            .finish()
    }
}

fn key(host: &str) -> String {
    format!("steady:guard:{host}")
}

fn parse(host: &str, text: Option<String>) -> HostState {
    match text {
        None => HostState::default(),
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(target: "steady::guard", "guard state for {host} in Redis does not parse ({e}); starting afresh");
            HostState::default()
        }),
    }
}

/// `redis://user:****@host:port/db`.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => crate::redact::redact_url(&u),
        Err(_) => "the Redis URL".into(),
    }
}

impl GuardStore for RedisStore {
    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) -> Result<(), String> {
        let key = key(host);
        let done = self.with_redis(|conn| {
            redis::transaction(conn, &[&key], |conn, pipe| {
                let text: Option<String> = redis::cmd("GET").arg(&key).query(conn)?;
                let mut state = parse(host, text);
                change(&mut state);
                let json = serde_json::to_string(&state).unwrap_or_default();
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(json)
                    .arg("EX")
                    .arg(EXPIRY_S)
                    .ignore()
                    .query::<Option<()>>(conn)
            })
        });
        match done {
            Some(()) => Ok(()),
            None => self.local.update(host, change),
        }
    }

    fn load(&self, host: &str) -> Result<HostState, String> {
        let key = key(host);
        match self.with_redis(|conn| redis::cmd("GET").arg(&key).query::<Option<String>>(conn)) {
            Some(text) => Ok(parse(host, text)),
            None => self.local.load(host),
        }
    }
}
