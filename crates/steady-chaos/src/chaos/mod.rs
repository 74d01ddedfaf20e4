//! The chaos server: a fault-injecting HTTP/1.1 server and reverse proxy.
//!
//! "What if the API is flaky, how would my client behave?" is a question to answer
//! before production. A chaos server answers like an API (its built-in JSON API, or
//! the real one behind `upstream`) and injects the faults of [`FaultSpec`]s with their
//! probabilities and schedules: error statuses, latency, hangs, resets, dripped and
//! truncated bodies, error-in-200, invalid JSON, huge bodies, gzip bombs, redirects,
//! rate limits, outages, flapping and a bounded capacity. With a seed, the same requests in the same order
//! meet the same faults.
//!
//! ```
//! use steady_chaos::{ChaosConfig, ChaosServer};
//!
//! let config = ChaosConfig::new()
//!     .fault("status=503,rate=0.2").unwrap()
//!     .fault("latency=10ms..50ms,rate=0.3").unwrap()
//!     .seed(7);
//! let server = ChaosServer::start(config).unwrap();
//! assert!(server.url("/items").starts_with("http://127.0.0.1:"));
//! assert_eq!(server.stats().requests(), 0);
//! ```

mod api;
mod proxy;
mod stats;

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

pub use stats::Stats;

use crate::fault::{FaultKind, FaultSpec};
use crate::http1::{self, After};
use crate::reply::Reply;
use crate::script::Recorded;
use crate::thread::ServerThread;

/// What a chaos server serves and injects.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ChaosConfig {
    /// The faults, tried in order for each request; the first that fires applies
    /// (latency and rate limits combine with later ones).
    pub faults: Vec<FaultSpec>,
    /// Seed for the fault dice (default: random).
    pub seed: Option<u64>,
    /// Proxy to this base URL instead of serving the built-in API.
    pub upstream: Option<String>,
}

/// The TOML form of a [`ChaosConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<String>,
    upstream: Option<String>,
    seed: Option<u64>,
    #[serde(default)]
    faults: Vec<String>,
}

impl ChaosConfig {
    /// An empty configuration: the built-in API, no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fault from its spec text.
    ///
    /// # Errors
    /// A message naming the bad part of the spec.
    pub fn fault(mut self, spec: &str) -> Result<Self, String> {
        self.faults.push(crate::fault::parse(spec)?);
        Ok(self)
    }

    /// Seeds the fault dice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Proxies to `url` instead of serving the built-in API.
    pub fn upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    /// Reads a TOML configuration:
    ///
    /// ```toml
    /// listen = "127.0.0.1:8080"          # optional
    /// upstream = "https://api.example"   # optional
    /// seed = 42                          # optional
    /// faults = ["status=503,rate=0.2", "latency=100ms..300ms,rate=0.3"]
    /// ```
    ///
    /// Returns the configuration and the `listen` address, if given.
    ///
    /// # Errors
    /// A message with the line of a TOML error or the bad fault spec.
    pub fn from_toml(text: &str) -> Result<(Self, Option<String>), String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut config = ChaosConfig {
            faults: Vec::new(),
            seed: file.seed,
            upstream: file.upstream,
        };
        for (i, spec) in file.faults.iter().enumerate() {
            config = config
                .fault(spec)
                .map_err(|e| format!("faults[{i}]: {e}"))?;
        }
        Ok((config, file.listen))
    }
}

/// Everything the connection tasks share.
struct Shared {
    config: ChaosConfig,
    addr: SocketAddr,
    started: Instant,
    rng: Mutex<fastrand::Rng>,
    stats: Arc<Stats>,
    limiter: Mutex<HashMap<usize, Window>>,
    bombs: Mutex<HashMap<u64, Bytes>>,
    /// The room of each `capacity` fault, by fault index.
    capacity: HashMap<usize, Arc<Semaphore>>,
    /// Requests seen per target, when a fault has `first=N`.
    targets: Mutex<HashMap<String, u32>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// A chaos server running on a thread of its own; it stops when dropped.
pub struct ChaosServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    _thread: ServerThread,
}

impl ChaosServer {
    /// Starts on `127.0.0.1:0`.
    ///
    /// # Errors
    /// When the loopback port cannot be bound.
    pub fn start(config: ChaosConfig) -> std::io::Result<ChaosServer> {
        Self::start_on("127.0.0.1:0".parse().expect("loopback address"), config)
    }

    /// Starts on `addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start_on(addr: SocketAddr, config: ChaosConfig) -> std::io::Result<ChaosServer> {
        let stats = Arc::new(Stats::default());
        let thread_stats = Arc::clone(&stats);
        let (addr, thread) = ServerThread::spawn(addr, move |listener, stopped| async move {
            let _ = serve_listener(listener, config, thread_stats, async {
                let _ = stopped.await;
            })
            .await;
        })?;
        Ok(ChaosServer {
            addr,
            stats,
            _thread: thread,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// What the server received and injected so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// Serves on `listener` until `shutdown` completes: for running in the foreground.
///
/// # Errors
/// When the listener fails for good.
pub async fn serve(
    listener: TcpListener,
    config: ChaosConfig,
    stats: Arc<Stats>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_listener(listener, config, stats, shutdown).await
}

async fn serve_listener(
    listener: TcpListener,
    config: ChaosConfig,
    stats: Arc<Stats>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let rng = match config.seed {
        Some(seed) => fastrand::Rng::with_seed(seed),
        None => fastrand::Rng::new(),
    };
    let capacity = config
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.kind {
            FaultKind::Capacity { limit, .. } => {
                Some((i, Arc::new(Semaphore::new(limit as usize))))
            }
            _ => None,
        })
        .collect();
    let shared = Arc::new(Shared {
        capacity,
        targets: Mutex::new(HashMap::new()),
        config,
        addr,
        started: Instant::now(),
        rng: Mutex::new(rng),
        stats,
        limiter: Mutex::new(HashMap::new()),
        bombs: Mutex::new(HashMap::new()),
    });
    // Connections close when the epoch moves: the start of an outage drops them all.
    let (epoch_tx, _) = watch::channel(0u64);
    tokio::pin!(shutdown);
    let mut listener = Some(listener);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        let refusing = shared.refusing();
        if refusing && listener.is_some() {
            listener = None;
            shared.stats.refusing();
            epoch_tx.send_modify(|e| *e += 1);
            tracing::info!(target: "steady_chaos", "outage: refusing connections on {addr}");
        } else if !refusing && listener.is_none() {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    tracing::info!(target: "steady_chaos", "outage over: accepting connections on {addr}");
                    listener = Some(l);
                }
                Err(_) => {
                    // The port is still in TIME_WAIT or taken; try again next tick.
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tick.tick() => {}
            accepted = async {
                match &listener {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    // subscribe() marks the current epoch as seen: only a later outage closes it.
                    tokio::spawn(connection(stream, Arc::clone(&shared), epoch_tx.subscribe()));
                }
            }
        }
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>, mut epoch: watch::Receiver<u64>) {
    let mut buf = http1::empty_buf();
    loop {
        let request = tokio::select! {
            r = http1::read_request(&mut stream, &mut buf) => match r {
                Ok(Some(request)) => request,
                _ => return,
            },
            _ = epoch.changed() => return,
        };
        let method = request.method.clone();
        let _busy = shared.stats.busy();
        // Room under `capacity`, held until the answer is written.
        let (reply, _room) = match shared.room(&request).await {
            Ok(room) => (shared.answer(&request).await, room),
            Err(full) => (full, Vec::new()),
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let written = tokio::select! {
            w = http1::write_reply(&mut stream, &reply, &method) => w,
            _ = epoch.changed() => return,
        };
        match written {
            Ok(After::KeepAlive) if !close => {}
            Ok(After::Hang) => {
                tokio::select! {
                    _ = http1::hold(&mut stream) => {}
                    _ = epoch.changed() => {}
                }
                return;
            }
            _ => return,
        }
    }
}

impl Shared {
    fn since_start(&self) -> Duration {
        self.started.elapsed()
    }

    fn refusing(&self) -> bool {
        let now = self.since_start();
        self.config
            .faults
            .iter()
            .any(|f| f.is_connection_fault() && f.refuses_at(now))
    }

    /// Takes room under every active `capacity` fault for this request, or the `503` of
    /// the first that is full (waiting for room instead with `queue`).
    async fn room(&self, request: &Recorded) -> Result<Vec<OwnedSemaphorePermit>, Reply> {
        let mut held = Vec::new();
        let path = request.path();
        if self.capacity.is_empty() || path.starts_with("/__chaos/") {
            return Ok(held);
        }
        let now = self.since_start();
        for (index, fault) in self.config.faults.iter().enumerate() {
            let FaultKind::Capacity { limit, queue } = fault.kind else {
                continue;
            };
            if !fault.active_at(now) || fault.path.as_deref().is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            let room = Arc::clone(&self.capacity[&index]);
            let permit = if queue {
                if room.available_permits() == 0 {
                    self.stats.injected(&fault.name());
                }
                room.acquire_owned().await.ok()
            } else {
                room.try_acquire_owned().ok()
            };
            match permit {
                Some(p) => held.push(p),
                None => {
                    self.stats.request(path);
                    self.stats.injected(&fault.name());
                    self.stats.status(503);
                    tracing::info!(target: "steady_chaos", "{} {} <- capacity ({limit} in flight)", request.method, request.target);
                    return Err(api::error(
                        503,
                        &format!("server at capacity: {limit} requests in flight"),
                    ));
                }
            }
        }
        Ok(held)
    }

    fn roll(&self, rate: f64) -> bool {
        rate >= 1.0 || self.rng.lock().expect("rng").f64() < rate
    }

    async fn answer(&self, request: &Recorded) -> Reply {
        let path = request.path().to_owned();
        if path == "/__chaos/stats" {
            return Reply::json(200, self.stats.to_json().to_string());
        }
        if path == "/__chaos/config" {
            let faults: Vec<String> = self.config.faults.iter().map(|f| f.text.clone()).collect();
            return Reply::json(200, serde_json::json!({"faults": faults, "seed": self.config.seed, "upstream": self.config.upstream}).to_string());
        }
        self.stats.request(&path);
        let now = self.since_start();
        let redirected = request
            .query()
            .is_some_and(|q| q.contains("__chaos=redirected"));
        let mut latency = Duration::ZERO;
        let mut chosen: Option<(usize, &FaultSpec)> = None;
        let mut rate_limit_headers: Vec<(String, String)> = Vec::new();
        let nth = if self.config.faults.iter().any(|f| f.first.is_some()) {
            let mut targets = self.targets.lock().expect("targets");
            let n = targets.entry(request.target.clone()).or_insert(0);
            *n += 1;
            *n
        } else {
            0
        };
        for (index, fault) in self.config.faults.iter().enumerate() {
            if fault.first.is_some_and(|first| nth > first) {
                continue;
            }
            if fault.is_connection_fault()
                || matches!(fault.kind, FaultKind::Capacity { .. })
                || !fault.active_at(now)
                || fault.path.as_deref().is_some_and(|p| !path.starts_with(p))
                || (redirected && matches!(fault.kind, FaultKind::Redirect { .. }))
            {
                continue;
            }
            if let FaultKind::RateLimit { limit, per } = fault.kind {
                let (over, headers) = self.rate_limit(index, limit, per);
                rate_limit_headers = headers;
                if over {
                    chosen = Some((index, fault));
                    break;
                }
                continue;
            }
            if !self.roll(fault.rate) {
                continue;
            }
            if let FaultKind::Latency { min, max } = fault.kind {
                let extra = if max > min {
                    min + (max - min).mul_f64(self.rng.lock().expect("rng").f64())
                } else {
                    min
                };
                latency += extra;
                self.stats.injected(&fault.name());
                tracing::info!(target: "steady_chaos", "{} {} <- latency {}ms", request.method, request.target, extra.as_millis());
                continue;
            }
            chosen = Some((index, fault));
            break;
        }
        let mut reply = match chosen {
            Some((_, fault)) => {
                self.stats.injected(&fault.name());
                tracing::info!(target: "steady_chaos", "{} {} <- {}", request.method, request.target, fault.name());
                self.inject(fault, request, &rate_limit_headers).await
            }
            None => self.base(request).await,
        };
        for (name, value) in rate_limit_headers {
            if !reply
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                reply.headers.push((name, value));
            }
        }
        reply.delay += latency;
        self.stats.status(reply.status);
        reply
    }

    /// The honest answer: the upstream's or the built-in API's.
    async fn base(&self, request: &Recorded) -> Reply {
        match &self.config.upstream {
            Some(upstream) => proxy::forward(upstream, request).await,
            None => api::answer(request),
        }
    }

    async fn inject(
        &self,
        fault: &FaultSpec,
        request: &Recorded,
        rl: &[(String, String)],
    ) -> Reply {
        match &fault.kind {
            FaultKind::Status {
                status,
                retry_after,
                retry_after_date,
            } => {
                let message = match status {
                    429 => "rate limit exceeded, slow down".to_owned(),
                    503 => "service unavailable, try again later".to_owned(),
                    s => format!("injected {s} ({})", http1::reason(*s).to_ascii_lowercase()),
                };
                let mut reply = api::error(*status, &message);
                if let Some(secs) = retry_after {
                    let value = if *retry_after_date {
                        httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(*secs))
                    } else {
                        secs.to_string()
                    };
                    reply = reply.header("Retry-After", value);
                }
                reply
            }
            FaultKind::Hang => Reply::hang(),
            FaultKind::Reset => Reply::reset(),
            FaultKind::ResetMid => {
                let base = self.base(request).await;
                let n = base.body.len() / 2;
                base.reset_after(n.max(1))
            }
            FaultKind::Drip(every) => self.base(request).await.trickle(*every),
            FaultKind::Truncate => {
                let base = self.base(request).await;
                let n = base.body.len() / 2;
                base.truncate_at(n)
            }
            FaultKind::Error200 => Reply::json(200, r#"{"error":"quota exceeded","data":null}"#),
            FaultKind::BadJson => Reply::json(200, r#"{"items": [{"id": 1, "name": "anv"#),
            FaultKind::Huge(len) => Reply::huge(*len),
            FaultKind::GzipBomb(len) => Reply::status(200)
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip")
                .body(self.bomb(*len)),
            FaultKind::Redirect { cross } => {
                let host = if *cross {
                    let asked = request.header("host").unwrap_or("");
                    if asked.starts_with("localhost") {
                        format!("127.0.0.1:{}", self.addr.port())
                    } else {
                        format!("localhost:{}", self.addr.port())
                    }
                } else {
                    request
                        .header("host")
                        .map(str::to_owned)
                        .unwrap_or_else(|| self.addr.to_string())
                };
                let sep = if request.target.contains('?') {
                    '&'
                } else {
                    '?'
                };
                Reply::redirect(
                    302,
                    format!("http://{host}{}{sep}__chaos=redirected", request.target),
                )
            }
            FaultKind::RateLimit { .. } => {
                let retry = rl
                    .iter()
                    .find(|(n, _)| n == "X-RateLimit-Reset-After")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "1".into());
                api::error(429, "rate limit exceeded, slow down").header("Retry-After", retry)
            }
            FaultKind::Latency { .. }
            | FaultKind::Outage(_)
            | FaultKind::Flap { .. }
            | FaultKind::Capacity { .. } => self.base(request).await,
        }
    }

    /// Fixed-window rate limiting; returns whether this request is over the limit, and
    /// the rate-limit headers to send either way (GitHub's `X-RateLimit-*` and the IETF
    /// `RateLimit-Policy` / `RateLimit` fields).
    fn rate_limit(&self, index: usize, limit: u32, per: Duration) -> (bool, Vec<(String, String)>) {
        let now = Instant::now();
        let mut windows = self.limiter.lock().expect("limiter");
        let window = windows.entry(index).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.duration_since(window.start) >= per {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        window.count += 1;
        let over = window.count > limit;
        let remaining = limit.saturating_sub(window.count);
        let reset_after = per.saturating_sub(now.duration_since(window.start));
        let reset_secs = reset_after.as_secs_f64().ceil().max(1.0) as u64;
        let reset_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + reset_secs;
        let window_secs = per.as_secs().max(1);
        (
            over,
            vec![
                ("X-RateLimit-Limit".into(), limit.to_string()),
                ("X-RateLimit-Remaining".into(), remaining.to_string()),
                ("X-RateLimit-Reset".into(), reset_epoch.to_string()),
                ("X-RateLimit-Reset-After".into(), reset_secs.to_string()),
                (
                    "RateLimit-Policy".into(),
                    format!("\"default\";q={limit};w={window_secs}"),
                ),
                (
                    "RateLimit".into(),
                    format!("\"default\";r={remaining};t={reset_secs}"),
                ),
            ],
        )
    }

    /// A gzip body that inflates to `len` zero bytes, made once per size.
    fn bomb(&self, len: u64) -> Bytes {
        let mut bombs = self.bombs.lock().expect("bombs");
        bombs
            .entry(len)
            .or_insert_with(|| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let zeros = [b'0'; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    gz.write_all(&zeros[..n]).expect("compress in memory");
                    left -= n as u64;
                }
                Bytes::from(gz.finish().expect("compress in memory"))
            })
            .clone()
    }
}
