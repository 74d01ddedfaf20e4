//! A client's settings, read once from `steady.Client(...)`, and the steady clients
//! built from them.
//!
//! steady sets the connect and read timeouts and the redirect policy per client, while
//! requests takes them per call (`timeout=`, `allow_redirects=`). So one Python client
//! holds a steady client per combination it has been asked for, all sharing one guard
//! store (breaker, budget, rate limits), one cookie jar and one log: to the host, they
//! are one client.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use steady::cookies::CookieJar;
use steady::guard::{GuardStore, HostState, MemoryStore};
use steady::{Breaker, Jitter, Rate, Redirects, Retry, Timeouts};

use crate::args::{duration_item, item};
use crate::logs::LogSink;

/// What `steady.Client(...)` configured.
pub(crate) struct Config {
    pub(crate) timeouts: Timeouts,
    retry: Retry,
    breaker: Option<Breaker>,
    budget: bool,
    rate: Option<Rate>,
    server_limits: bool,
    fail_fast: bool,
    max_redirects: usize,
    max_body: Option<u64>,
    user_agent: Option<String>,
    sensitive: Vec<String>,
    cache: Option<PathBuf>,
    verify: bool,
    /// The CA certificates to trust beside the system's, PEM (`verify="ca.pem"`).
    ca: Option<Vec<u8>>,
    /// Send credentials even with certificate checks off.
    insecure_with_credentials: bool,
}

impl Config {
    /// Reads the settings the Python `Client` normalised.
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Config> {
        let mut timeouts = Timeouts::default();
        if let Some(connect) = duration_item(d, "connect_timeout")? {
            timeouts.connect = connect;
        }
        if let Some(read) = duration_item(d, "read_timeout")? {
            timeouts.read = read;
        }
        if let Some(deadline) = duration_item(d, "deadline")? {
            timeouts.deadline = deadline;
        }
        let mut retry = match item::<u32>(d, "retries")? {
            Some(0) => Retry::none(),
            Some(n) => Retry::exponential().max_retries(n),
            None => Retry::exponential(),
        };
        if let Some(base) = duration_item(d, "backoff")? {
            retry = retry.base(base);
        }
        if let Some(max) = duration_item(d, "backoff_max")? {
            retry = retry.max_backoff(max);
        }
        if let Some(jitter) = item::<String>(d, "jitter")? {
            let jitter: Jitter = jitter
                .parse()
                .map_err(|e: String| PyValueError::new_err(format!("jitter: {e}")))?;
            retry = retry.jitter(jitter);
        }
        if let Some(max) = duration_item(d, "retry_after_max")? {
            retry = retry.retry_after_max(max);
        }
        if let Some(seed) = item::<u64>(d, "seed")? {
            retry = retry.seed(seed);
        }
        let breaker = match d.get_item("breaker")? {
            Some(b) if b.is_none() => None,
            Some(b) if b.extract::<bool>().is_ok_and(|on| !on) => None,
            Some(b) => match b.cast::<PyDict>() {
                Ok(b) => Some(breaker_from(b)?),
                Err(_) => Some(Breaker::new()),
            },
            None => Some(Breaker::new()),
        };
        let rate = item::<String>(d, "rate")?
            .map(|r| {
                r.parse::<Rate>()
                    .map_err(|e| PyValueError::new_err(format!("rate: {e}")))
            })
            .transpose()?;
        Ok(Config {
            timeouts,
            retry,
            breaker,
            budget: item::<bool>(d, "budget")?.unwrap_or(true),
            rate,
            server_limits: item::<bool>(d, "server_rate_limits")?.unwrap_or(true),
            fail_fast: item::<bool>(d, "fail_fast")?.unwrap_or(false),
            max_redirects: item::<usize>(d, "max_redirects")?
                .unwrap_or(steady::redirect::DEFAULT_MAX_REDIRECTS),
            max_body: item::<u64>(d, "max_body")?,
            user_agent: item::<String>(d, "user_agent")?,
            sensitive: item::<Vec<String>>(d, "sensitive_headers")?.unwrap_or_default(),
            cache: item::<String>(d, "cache")?.map(PathBuf::from),
            verify: item::<bool>(d, "verify")?.unwrap_or(true),
            ca: match item::<String>(d, "ca")? {
                None => None,
                Some(path) => Some(std::fs::read(&path).map_err(|e| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "verify={path:?}: the CA bundle cannot be read: {e}"
                    ))
                })?),
            },
            insecure_with_credentials: item::<bool>(d, "insecure_with_credentials")?
                .unwrap_or(false),
        })
    }

    /// A steady client with these settings, these timeouts and redirect policy, on the
    /// shared store, jar and log.
    pub(crate) fn build(
        &self,
        connect: Duration,
        read: Duration,
        follow: bool,
        shared: &Shared,
    ) -> Result<steady::Client, steady::Error> {
        let mut b = steady::Client::builder()
            .timeouts(Timeouts {
                connect,
                read,
                deadline: self.timeouts.deadline,
            })
            .retry(self.retry.clone())
            .redirects(if follow {
                Redirects::follow(self.max_redirects)
            } else {
                Redirects::none()
            })
            .server_rate_limits(self.server_limits)
            .fail_fast(self.fail_fast)
            .guard_store(SharedStore(shared.store.clone()))
            .listener(shared.log.clone());
        b = match &self.breaker {
            Some(breaker) => b.breaker(breaker.clone()),
            None => b.no_breaker(),
        };
        if !self.budget {
            b = b.no_retry_budget();
        }
        if let Some(rate) = &self.rate {
            b = b.rate_limit(*rate);
        }
        if let Some(max) = self.max_body {
            b = b.max_body(max);
        }
        if let Some(ua) = &self.user_agent {
            b = b.user_agent(ua.clone());
        }
        for name in &self.sensitive {
            b = b.sensitive_header(name);
        }
        if let Some(cache) = &self.cache {
            b = b.cache_file(cache.clone());
        }
        if !self.verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if self.insecure_with_credentials {
            b = b.danger_insecure_with_credentials(true);
        }
        if let Some(pem) = &self.ca {
            // As requests reads verify="ca.pem": that bundle instead of the system's.
            b = b.root_certificates_pem(pem, true);
        }
        if let Some(jar) = &shared.jar {
            b = b.cookie_jar(jar.clone());
        }
        b.build()
    }
}

fn breaker_from(d: &Bound<'_, PyDict>) -> PyResult<Breaker> {
    // A misspelt setting would otherwise leave the default in force without a word.
    const KNOWN: [&str; 4] = ["failures", "streak_span", "open_for", "open_max"];
    for key in d.keys() {
        let key: String = key.extract()?;
        if !KNOWN.contains(&key.as_str()) {
            return Err(PyValueError::new_err(format!(
                "breaker: unknown setting {key:?} (known: {})",
                KNOWN.join(", ")
            )));
        }
    }
    let mut breaker = Breaker::new();
    if let Some(n) = item::<u32>(d, "failures")? {
        breaker = breaker.consecutive_failures(n);
    }
    if let Some(span) = duration_item(d, "streak_span")? {
        breaker = breaker.streak_span(span);
    }
    let open_for = duration_item(d, "open_for")?;
    let open_max = duration_item(d, "open_max")?;
    if open_for.is_some() || open_max.is_some() {
        let first = open_for.unwrap_or(Duration::from_secs(2));
        let max = open_max.unwrap_or(Duration::from_secs(300)).max(first);
        breaker = breaker.open_for(first, max);
    }
    Ok(breaker)
}

/// What every steady client of one Python client shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn GuardStore>,
    pub(crate) jar: Option<Arc<CookieJar>>,
    pub(crate) log: Arc<LogSink>,
}

impl Shared {
    /// The guard store named by `state=` (a SQLite path or a `redis://` URL), or memory.
    pub(crate) fn open(state: Option<&str>, cookies: bool) -> PyResult<Shared> {
        let store: Arc<dyn GuardStore> = match state {
            None => Arc::new(MemoryStore::default()),
            Some(url)
                if url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("redis+unix://") =>
            {
                Arc::new(
                    steady::guard::RedisStore::open(url)
                        .map_err(|e| PyValueError::new_err(format!("state: {e}")))?,
                )
            }
            Some(path) => Arc::new(
                steady::guard::SqliteStore::open(path)
                    .map_err(|e| PyValueError::new_err(format!("state: {e}")))?,
            ),
        };
        Ok(Shared {
            store,
            jar: cookies.then(|| Arc::new(CookieJar::new())),
            log: Arc::new(LogSink::default()),
        })
    }
}

/// One guard store behind several steady clients.
struct SharedStore(Arc<dyn GuardStore>);

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl GuardStore for SharedStore {
    fn update(&self, host: &str, change: &mut dyn FnMut(&mut HostState)) -> Result<(), String> {
        self.0.update(host, change)
    }

    fn load(&self, host: &str) -> Result<HostState, String> {
        self.0.load(host)
    }
}
