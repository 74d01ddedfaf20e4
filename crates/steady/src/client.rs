//! The client and its builder: where the policy stack is assembled.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, Url};

use crate::convert::IntoUrl;

use crate::breaker::Breaker;
use crate::budget::RetryBudget;
use crate::bulkhead::Bulkhead;
use crate::classify::{Classify, DefaultClassifier};
use crate::clock::{Clock, SystemClock};
use crate::guard::{GuardConfig, GuardStore, Guards, HostState, MemoryStore};
use crate::hedge::Hedge;
use crate::limit::AdaptiveConcurrency;
use crate::rate::Rate;
use crate::redirect::Redirects;
use crate::request::RequestBuilder;
use crate::retry::Retry;
use crate::timeout::Timeouts;
use crate::Error;

/// Default limit on a response body: 100 MiB, counted after decompression.
pub const DEFAULT_MAX_BODY: u64 = 100 * 1024 * 1024;

/// A resilient HTTP client. Cheap to clone: clones share connections and policies.
///
/// Every call runs through the same stack, outermost first:
///
/// 1. **deadline**: one limit for the whole call; everything below runs in what is left;
/// 2. **retry**: classify each attempt, decide whether another one can succeed, take it
///    from the retry budget, wait (backoff, `Retry-After`) only when the wait ends
///    before the deadline;
/// 3. **guards**, before each attempt: the circuit breaker, then the pause or pace the
///    server asked for and the client's own rate limit, then the bulkhead;
/// 4. **hedging** of a slow idempotent attempt;
/// 5. **redirects**: followed by steady, credentials stripped across origins;
/// 6. **timeouts** of one exchange: connect and read-idle, on the connection itself;
/// 7. **body limit**: counted while the body streams in, after decompression.
///
/// The deadline is outermost because it is the promise made to the caller ("this call
/// returns within 60s"); retry sits inside it so that no attempt or wait can break that
/// promise. The breaker comes first among the guards because failing fast costs nothing
/// and must not spend budget or permits; the budget is checked before any wait, so no
/// call waits only to be refused; rate permits come before the bulkhead so that a call
/// does not hold a place while it waits. Redirects sit inside one attempt so that a
/// retry starts the chain again from the URL the caller gave.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
    /// The transport: steady's pool, a reqwest client, or an HTTP service under the
    /// stack (`steady::tower::SteadyLayer`); the policies above it are `inner`'s.
    pub(crate) http: Arc<crate::transport::Http>,
}

pub(crate) struct ClientInner {
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: Retry,
    pub(crate) redirects: Redirects,
    pub(crate) max_body: u64,
    pub(crate) classifier: Box<dyn Classify>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Mutex<fastrand::Rng>,
    pub(crate) guards: Guards,
    pub(crate) trust: crate::tls::Trust,
    #[cfg(feature = "cookies")]
    pub(crate) cookies: Option<Arc<crate::cookies::CookieJar>>,
    /// Header names the application says carry credentials, beyond those whose names
    /// say so ([`crate::redact::is_credential_header`]).
    pub(crate) sensitive: Vec<reqwest::header::HeaderName>,
    /// The `User-Agent` sent unless a request sets its own.
    pub(crate) user_agent: reqwest::header::HeaderValue,
    /// Sent with every request that does not set them itself.
    pub(crate) default_headers: reqwest::header::HeaderMap,
    /// Who hears every call's events.
    pub(crate) listeners: crate::event::Listeners,
    #[cfg(feature = "state")]
    pub(crate) cache: Option<crate::fallback::Cache>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("steady::Client")
            .field("timeouts", &self.inner.timeouts)
            .field("retry", &self.inner.retry)
            .field("redirects", &self.inner.redirects)
            .field("max_body", &self.inner.max_body)
            .finish()
    }
}

impl Client {
    /// A client with steady's defaults (see [`ClientBuilder`]).
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// A builder to change the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A request with any method, to a URL given as text (`&str`, `String`) or parsed
    /// ([`Url`]). An invalid URL is reported by `send`, before anything is sent.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A request to a URL already parsed: the same as [`Client::request`] with a
    /// [`Url`].
    pub fn request_url(&self, method: Method, url: Url) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A HEAD request.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A POST request. Retried only with an `Idempotency-Key` or when nothing was sent.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request. Retried only with an `Idempotency-Key` or when nothing was sent.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Whether the header `name` carries a credential: its name says so, or the
    /// application said so ([`ClientBuilder::sensitive_header`]).
    pub(crate) fn is_sensitive(&self, name: &reqwest::header::HeaderName) -> bool {
        crate::redact::is_credential_header(name.as_str()) || self.inner.sensitive.contains(name)
    }

    /// The client's clock ([`ClientBuilder::clock`]): what its deadline, waits and
    /// guard windows are measured with, for code beside the client that must agree with
    /// it (a job runner deciding when to try again).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The client's time limits.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// The cookie jar given to [`ClientBuilder::cookie_jar`], to save it.
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(&self) -> Option<&Arc<crate::cookies::CookieJar>> {
        self.inner.cookies.as_ref()
    }

    /// The client's retry policy.
    pub fn retry_policy(&self) -> &Retry {
        &self.inner.retry
    }

    /// The adaptive concurrency limit of every host called so far (empty without
    /// [`ClientBuilder::adaptive_concurrency`]): for a progress line and metrics.
    pub fn concurrency_limits(&self) -> Vec<(String, crate::limit::LimitStats)> {
        self.inner
            .guards
            .limits
            .as_ref()
            .map(|l| l.all())
            .unwrap_or_default()
    }

    /// The adaptive concurrency limit of the host of `url`: `None` without
    /// [`ClientBuilder::adaptive_concurrency`] or before the first call to it.
    ///
    /// # Errors
    /// When `url` is not a valid URL.
    pub fn concurrency_limit(&self, url: &str) -> Result<Option<crate::limit::LimitStats>, Error> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| Error::usage(format!("'{url}' is not a valid URL: {e}")))?;
        Ok(self
            .inner
            .guards
            .limits
            .as_ref()
            .and_then(|l| l.stats(&crate::guard::host_key(&url))))
    }

    /// What the guards remember about the host of `url` (its circuit, budget and
    /// rate-limit state): for health checks and metrics. With
    /// [`ClientBuilder::scope_path`], the state of the scope `url`'s path falls in.
    ///
    /// # Errors
    /// A usage error for a bad URL; a message when the state file cannot be read.
    pub fn host_state(&self, url: &str) -> Result<HostState, Error> {
        self.scope_state(url, None)
    }

    /// What the guards remember about the scope `name` of `url`'s host (calls sent
    /// with [`crate::RequestBuilder::scope`]); `None`: as [`Client::host_state`].
    ///
    /// # Errors
    /// As [`Client::host_state`].
    pub fn scope_state(&self, url: &str, name: Option<&str>) -> Result<HostState, Error> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| Error::usage(format!("'{url}' is not a valid URL: {e}")))?;
        let host = crate::guard::host_key(&url);
        let scope = self.inner.guards.config.scope_of(name, url.path());
        let key = crate::guard::scoped_key(&host, scope);
        self.inner
            .guards
            .store
            .load(key.as_deref().unwrap_or(&host))
            .map_err(Error::usage)
    }
}

/// Configures a [`Client`]. Every setter states its default.
#[must_use]
pub struct ClientBuilder {
    timeouts: Timeouts,
    retry: Retry,
    redirects: Redirects,
    max_body: u64,
    classifier: Box<dyn Classify>,
    clock: Arc<dyn Clock>,
    user_agent: String,
    guards: GuardConfig,
    store: Option<Box<dyn GuardStore>>,
    trust: crate::tls::Trust,
    proxies: crate::proxy::Proxies,
    /// The application's own reqwest client ([`ClientBuilder::reqwest_client`]).
    own_http: Option<reqwest::Client>,
    default_headers: reqwest::header::HeaderMap,
    #[cfg(feature = "cookies")]
    cookies: Option<Arc<crate::cookies::CookieJar>>,
    sensitive: Vec<reqwest::header::HeaderName>,
    listeners: crate::event::Listeners,
    error: Option<Error>,
    #[cfg(feature = "state")]
    state_file: Option<std::path::PathBuf>,
    #[cfg(feature = "state")]
    cache: Option<std::path::PathBuf>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            timeouts: Timeouts::default(),
            retry: Retry::default(),
            redirects: Redirects::default(),
            max_body: DEFAULT_MAX_BODY,
            classifier: Box::new(DefaultClassifier),
            clock: Arc::new(SystemClock),
            user_agent: concat!("steady/", env!("CARGO_PKG_VERSION")).to_owned(),
            guards: GuardConfig::default(),
            store: None,
            trust: crate::tls::Trust::default(),
            proxies: crate::proxy::Proxies::default(),
            own_http: None,
            default_headers: reqwest::header::HeaderMap::new(),
            #[cfg(feature = "cookies")]
            cookies: None,
            sensitive: Vec::new(),
            listeners: crate::event::Listeners::default(),
            error: None,
            #[cfg(feature = "state")]
            state_file: None,
            #[cfg(feature = "state")]
            cache: None,
        }
    }
}

impl ClientBuilder {
    /// Limit on setting up one connection: DNS, TCP and TLS (default 3.05s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// Longest silence allowed between two reads: waiting for the response head or
    /// inside the body (default 27s). A server that trickles bytes resets it; the
    /// deadline still ends the call.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.read = timeout;
        self
    }

    /// One limit for the whole call: all attempts, all waits between them, all
    /// redirects and the whole body (default 60s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.timeouts.deadline = deadline;
        self
    }

    /// All three time limits at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The retry policy (default [`Retry::exponential`]: 3 retries, 1s base, 30s cap,
    /// full jitter, `Retry-After` up to 6h).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Redirect handling (default: follow up to 10, credentials stripped across origins).
    pub fn redirects(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }

    /// The largest response body accepted, in bytes after decompression (default
    /// 100 MiB). A larger body fails the call instead of exhausting memory.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// What each attempt's result means (default [`DefaultClassifier`]).
    pub fn classifier(mut self, classifier: impl Classify) -> Self {
        self.classifier = Box::new(classifier);
        self
    }

    /// The clock for waits and the deadline (default [`SystemClock`]; tests use
    /// [`crate::clock::SkipClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The per-host circuit breaker (default [`Breaker::new`]: opens after 5 failed
    /// calls in a row over at least 2s or half of at least 20 calls in 10s, for 2s
    /// doubling to 5m, one probe). It counts calls, not attempts: a call's retries
    /// are one outcome, told when the call ends.
    pub fn breaker(mut self, breaker: Breaker) -> Self {
        self.guards.breaker = Some(breaker);
        self
    }

    /// No circuit breaker.
    pub fn no_breaker(mut self) -> Self {
        self.guards.breaker = None;
        self
    }

    /// The per-host retry budget (default [`RetryBudget::new`]: 20% of first attempts
    /// plus 10 retries a second).
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.guards.budget = Some(budget);
        self
    }

    /// No retry budget: every call may use all its retries.
    pub fn no_retry_budget(mut self) -> Self {
        self.guards.budget = None;
        self
    }

    /// A client-side rate limit per host, e.g. `"10/s".parse()?` (default: none).
    pub fn rate_limit(mut self, rate: Rate) -> Self {
        self.guards.rate = Some(rate);
        self
    }

    /// Whether the server's rate-limit signals pause or pace the host (`429` +
    /// `Retry-After`, `X-RateLimit-*`, `RateLimit`; default true).
    pub fn server_rate_limits(mut self, honour: bool) -> Self {
        self.guards.server_limits = honour;
        self
    }

    /// Guards calls whose path starts with `prefix` apart from the rest of their host,
    /// in the scope `name`: their own circuit breaker, retry budget, rate limits,
    /// bulkhead and concurrency limit (the settings are the client's; the state is the
    /// scope's). The longest matching prefix wins; [`crate::RequestBuilder::scope`]
    /// names a call's scope itself. Default: one scope per host.
    ///
    /// ```
    /// // A search backend that falls over must not stop the orders.
    /// let client = steady::Client::builder()
    ///     .scope_path("/search", "search")
    ///     .scope_path("/orders", "orders")
    ///     .build()?;
    /// # Ok::<(), steady::Error>(())
    /// ```
    pub fn scope_path(mut self, prefix: &str, name: &str) -> Self {
        self.guards
            .scopes
            .push((prefix.to_owned(), name.to_owned()));
        self.guards
            .scopes
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        self
    }

    /// A bound on calls in flight per host (default: none).
    pub fn bulkhead(mut self, bulkhead: Bulkhead) -> Self {
        self.guards.bulkhead = Some(bulkhead);
        self
    }

    /// Adapts the calls in flight per host to what the host can serve, up to
    /// `AdaptiveConcurrency::new(max)` (default: off; see [`crate::limit`]). Each
    /// attempt waits for a place, within its deadline.
    pub fn adaptive_concurrency(mut self, limit: AdaptiveConcurrency) -> Self {
        self.guards.adaptive = Some(limit);
        self
    }

    /// Hedge slow idempotent calls (default: off).
    pub fn hedge(mut self, hedge: Hedge) -> Self {
        self.guards.hedge = Some(hedge);
        self
    }

    /// Whether a call that meets an open circuit or a spent retry budget fails at once
    /// (`true`) instead of waiting for the probe or the permit when that comes before
    /// its deadline (default `false`: the deadline is the one limit on how long a call
    /// may take, and a host back within it is a call that succeeds). For
    /// latency-critical services that would rather answer from a fallback than wait.
    /// Pauses the server asked for and the client's own pace are waited for either
    /// way, within the deadline.
    pub fn fail_fast(mut self, yes: bool) -> Self {
        self.guards.fail_fast = yes;
        self
    }

    /// Turns off every guard that is on by default: breaker, budget, server rate limits.
    pub fn no_guards(self) -> Self {
        self.no_breaker()
            .no_retry_budget()
            .server_rate_limits(false)
    }

    /// Keeps guard state (circuits, budgets, rate limits) in a SQLite file shared by
    /// successive and concurrent processes, instead of in memory (default: memory).
    /// A `redis://HOST:PORT[/DB]` URL shares it with every process on every machine
    /// through Redis (`guard::RedisStore`, feature `redis`), falling back to local
    /// guards while Redis is away. (Feature `state`.)
    #[cfg(feature = "state")]
    pub fn state_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// The response cache behind [`crate::Fallback::Cache`], a SQLite file (default:
    /// none; [`crate::fallback::Cache::default_path`] is the conventional place). It is
    /// opened on first use; a file that cannot be used is bypassed with a warning.
    #[cfg(feature = "state")]
    pub fn cache_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.cache = Some(path.into());
        self
    }

    /// Keeps cookies in `jar`: what servers set is sent back on later calls that match
    /// (default: no cookies kept). [`crate::cookies::CookieJar::load`] makes a jar
    /// saved between runs; [`Client::cookie_jar`] gives it back to save.
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(mut self, jar: Arc<crate::cookies::CookieJar>) -> Self {
        self.cookies = Some(jar);
        self
    }

    /// Keeps guard state in `store` (default: in memory).
    pub fn guard_store(mut self, store: impl GuardStore) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Adds a listener that hears every decision of every call
    /// ([`crate::event`]): attempts, retries and their waits, guard refusals, breaker
    /// transitions, hedges, concurrency changes, fallbacks. Several may be added; they
    /// hear each event in the order added. Default: none (and then no event is built).
    pub fn listener(mut self, listener: impl crate::event::Listener) -> Self {
        self.listeners.0.push(Arc::new(listener));
        self
    }

    /// Treats the header `name` as a credential, as a name with `key`, `token`,
    /// `secret`, `auth`, ... in it already is ([`crate::redact::is_credential_header`]):
    /// its value is `****` in every log, error and report, it is scrubbed from what
    /// the server echoes back, and it is not sent across origins on a redirect.
    /// Default: none beyond those names.
    ///
    /// # Errors
    /// `build()` fails when `name` is not a valid header name.
    pub fn sensitive_header(mut self, name: &str) -> Self {
        match reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()) {
            Ok(name) => self.sensitive.push(name),
            Err(_) => {
                self.error = self.error.or(Some(Error::usage(format!(
                    "'{name}' is not a valid header name"
                ))))
            }
        }
        self
    }

    /// The `User-Agent` header (default `steady/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Trusts the certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks), for
    /// servers signed by a private CA. With `only`, the system's roots are not
    /// trusted at all (curl's `--cacert`), and a server certificate that is exactly
    /// one of them is trusted even when it is a CA certificate (a self-signed
    /// `openssl req -x509` one: pinned, its names and dates are not checked);
    /// otherwise both are trusted. Default: the system's roots only.
    ///
    /// # Errors
    /// `build()` fails when `pem` holds no certificate.
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>, only: bool) -> Self {
        match self.trust.add_pem(pem.as_ref(), "root certificates") {
            Ok(()) => self.trust.only = only,
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// Accepts any server certificate: expired, self-signed, for another host.
    /// Default: off. Every call then logs a warning, and a request that carries
    /// credentials is refused (a usage error, nothing sent) unless
    /// [`danger_insecure_with_credentials`](Self::danger_insecure_with_credentials)
    /// is also set. Affects this client only.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.trust.insecure = accept;
        self
    }

    /// Sends credentials even when certificates are not checked. Default: off.
    pub fn danger_insecure_with_credentials(mut self, allow: bool) -> Self {
        self.trust.insecure_with_credentials = allow;
        self
    }

    /// Sends every request (http and https) through this proxy, instead of the ones
    /// named in the environment (`http_proxy`, `https_proxy`, `all_proxy`; see
    /// [`crate::proxy`]). Credentials in the URL go to the proxy only.
    /// Default: the environment's proxies.
    ///
    /// # Errors
    /// `build()` fails when the URL is not an http or https proxy URL.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxies.explicit = Some(url.into());
        self
    }

    /// Hosts reached directly, in `NO_PROXY` syntax (replacing that variable):
    /// comma-separated domains (subdomains included), IP addresses, CIDR ranges, or
    /// `*` for no proxy at all. Default: `NO_PROXY` / `no_proxy`.
    pub fn no_proxy_for(mut self, list: impl Into<String>) -> Self {
        self.proxies.bypass = Some(list.into());
        self
    }

    /// Headers sent with every request that does not set the same header itself
    /// (`Authorization` for an API, `Accept-Language`, a tracing header). Headers whose
    /// names say they carry a credential, or named with
    /// [`ClientBuilder::sensitive_header`], are treated as credentials on every
    /// request: `****` in logs and errors, kept from other origins on redirects.
    /// Default: none (steady adds `User-Agent` and `Accept: */*` unless a request sets
    /// them).
    pub fn default_headers(mut self, headers: reqwest::header::HeaderMap) -> Self {
        self.default_headers = headers;
        self
    }

    /// Decides every attempt with `classify` instead of the default classifier, as
    /// [`ClientBuilder::classifier`] does, for a closure whose argument type is then
    /// inferred:
    ///
    /// ```
    /// use steady::classify::{Classify, DefaultClassifier};
    /// use steady::Verdict;
    ///
    /// // "Also retry 409 Conflict", the rest as steady decides.
    /// let client = steady::Client::builder()
    ///     .classify_with(|attempt| match attempt.status() {
    ///         Some(status) if status.as_u16() == 409 => Verdict::Retryable,
    ///         _ => DefaultClassifier.classify(attempt),
    ///     })
    ///     .build();
    /// # let _ = client;
    /// ```
    pub fn classify_with<F>(self, classify: F) -> Self
    where
        F: Fn(&crate::classify::AttemptView<'_>) -> crate::Verdict + Send + Sync + 'static,
    {
        self.classifier(classify)
    }

    /// Sends every request through the application's own `reqwest::Client`: its TLS
    /// identity (a client certificate for mutual TLS), root certificates, proxies,
    /// connection pool, DNS resolver and local address are then the ones it was built
    /// with. Default: steady's own connection pool.
    ///
    /// Everything above the wire still applies: the deadline, the read (idle) timeout,
    /// retries, the guards, the semantic checks, redirects followed hop by hop with
    /// credentials stripped off-origin, cookies, decompression and the body limit,
    /// telemetry and errors explained. What this client's own settings decide instead:
    /// the connect timeout, and the certificate and proxy settings of this builder
    /// ([`ClientBuilder::root_certificates_pem`], [`ClientBuilder::proxy`], ...), which
    /// are not used.
    ///
    /// Give credentials to steady (`bearer_auth`, [`ClientBuilder::default_headers`]),
    /// not to this client's own default headers: reqwest adds those after steady has
    /// removed credentials from a redirect to another host, and steady cannot scrub
    /// what it never saw.
    ///
    /// Build it with redirects off (`.redirect(reqwest::redirect::Policy::none())`): a
    /// client that follows redirects itself does so before steady sees them, so steady
    /// cannot strip credentials from a hop to another host. Leave reqwest's own
    /// decompression off (its default) so the body limit counts decoded bytes.
    ///
    /// ```no_run
    /// # fn run(cert_and_key_pem: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// steady::install_tls_provider(); // before reqwest builds its first client
    /// let http = reqwest::Client::builder()
    ///     .identity(reqwest::Identity::from_pem(cert_and_key_pem)?)
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .pool_max_idle_per_host(4)
    ///     .build()?;
    /// let client = steady::Client::builder().reqwest_client(http).build()?;
    /// # Ok(()) }
    /// ```
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.own_http = Some(client);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised or the user agent is not a valid
    /// header value.
    pub fn build(mut self) -> Result<Client, Error> {
        // steady links ring as rustls' crypto provider; install it unless the host
        // application already chose one.
        crate::install_tls_provider();
        if let Some(error) = self.error {
            return Err(error);
        }
        let user_agent =
            reqwest::header::HeaderValue::from_str(&self.user_agent).map_err(|_| {
                Error::usage(format!(
                    "the user agent '{}' is not valid in a header",
                    self.user_agent
                ))
            })?;
        // steady sets User-Agent and Accept on each request itself, so that `-v` shows
        // every header sent. Direct requests with certificates checked go through
        // hyper-util's pool; proxies and --insecure through reqwest's client
        // (`transport::http`).
        let tls = if self.proxies.any() {
            None
        } else {
            self.trust.config()
        };
        let own = self.own_http.take();
        let http = crate::transport::Http::new(self.timeouts.connect, tls, own, || {
            let http = reqwest::Client::builder()
                .connect_timeout(self.timeouts.connect)
                // The read timeout is steady's own: one timer per attempt with the
                // deadline (`transport::Heard`), not reqwest's timer per read.
                .redirect(reqwest::redirect::Policy::none())
                // hyper's default, stated: a response with more headers is a protocol
                // error.
                .http1_max_headers(100);
            self.proxies
                .apply(self.trust.apply(http))?
                .build()
                .map_err(|e| Error::usage("the HTTP client cannot be built").with_source(e))
        })?;
        #[cfg(feature = "state")]
        let store: Box<dyn GuardStore> = match (self.state_file, self.store) {
            #[cfg(feature = "redis")]
            (Some(path), _) if is_redis(&path) => Box::new(
                crate::guard::RedisStore::open(&path.to_string_lossy()).map_err(Error::usage)?,
            ),
            #[cfg(not(feature = "redis"))]
            (Some(path), _) if is_redis(&path) => {
                return Err(Error::usage(
                    "a redis:// state needs steady's `redis` feature, which this build leaves out",
                ))
            }
            (Some(path), _) => {
                Box::new(crate::guard::SqliteStore::open(path).map_err(Error::usage)?)
            }
            (None, Some(store)) => store,
            (None, None) => Box::new(MemoryStore::default()),
        };
        #[cfg(not(feature = "state"))]
        let store: Box<dyn GuardStore> = self
            .store
            .unwrap_or_else(|| Box::new(MemoryStore::default()));
        let rng = match self.retry.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Ok(Client {
            http: Arc::new(http),
            inner: Arc::new(ClientInner {
                timeouts: self.timeouts,
                retry: self.retry,
                redirects: self.redirects,
                max_body: self.max_body,
                classifier: self.classifier,
                clock: self.clock,
                rng: Mutex::new(rng),
                guards: Guards::new(self.guards, store),
                trust: self.trust,
                default_headers: self.default_headers,
                #[cfg(feature = "cookies")]
                cookies: self.cookies,
                sensitive: self.sensitive,
                user_agent,
                listeners: self.listeners,
                #[cfg(feature = "state")]
                cache: self.cache.map(crate::fallback::Cache::new),
            }),
        })
    }
}

/// Whether a `--state` value names Redis rather than a file.
#[cfg(feature = "state")]
fn is_redis(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with("redis://")
        || text.starts_with("rediss://")
        || text.starts_with("redis+unix://")
}
