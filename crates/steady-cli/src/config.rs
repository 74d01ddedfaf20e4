//! Raw arguments to a library client and request, in one separate step, so that every
//! input is validated (items parsed, files and variables read) before anything is sent.

use std::io::Read;

use serde_json::{Map, Value};
use steady::fallback::CachePolicy;
use steady::{
    Breaker, Client, Fallback, Jitter, Method, Redirects, RequestBuilder, Retry, RetryBudget,
};

use crate::cli::{CallArgs, CommonArgs, GuardArgs, JitterArg};
use crate::credentials;
use crate::exit::UsageError;
use crate::items::{self, Item};

/// The client for one invocation.
pub fn client(args: &CommonArgs) -> anyhow::Result<Client> {
    Ok(builder(args)?.build()?)
}

/// The client of one call (`steady get` and the other methods): the common flags,
/// and the cookie files of curl's `-b FILE` and `-c FILE`.
pub fn call_client(args: &CallArgs) -> anyhow::Result<Client> {
    let mut builder = builder(&args.common)?;
    let cookie_files: Vec<&std::path::Path> = args
        .curl
        .cookie
        .iter()
        .filter(|c| !c.contains('='))
        .map(std::path::Path::new)
        .collect();
    if (!cookie_files.is_empty() || args.curl.cookie_jar.is_some())
        && args.common.auth.session.is_some()
    {
        return Err(UsageError::new(
            "--session keeps its own cookie file: use it, or curl's -b FILE / -c FILE, not both",
        )
        .into());
    }
    if cookie_files.len() > 1 {
        return Err(UsageError::new("-b: one cookie file at a time").into());
    }
    match cookie_files.first() {
        // A file not there yet is an empty jar, as curl reads it (-b jar -c jar).
        Some(path) if path.exists() => {
            let jar = steady::cookies::CookieJar::read_any(path)
                .map_err(|e| UsageError::new(format!("-b {}: {}", path.display(), e.what())))?;
            builder = builder.cookie_jar(std::sync::Arc::new(jar));
        }
        Some(_) => {
            builder = builder.cookie_jar(std::sync::Arc::new(steady::cookies::CookieJar::new()))
        }
        None if args.curl.cookie_jar.is_some() => {
            builder = builder.cookie_jar(std::sync::Arc::new(steady::cookies::CookieJar::new()))
        }
        None => {}
    }
    if let Some(path) = &args.curl.cookie_jar {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        if folder.is_some_and(|f| !f.is_dir()) {
            return Err(UsageError::new(format!(
                "-c {}: the folder does not exist",
                path.display()
            ))
            .into());
        }
    }
    Ok(builder.build()?)
}

/// The client builder for one invocation, for a command that adds to it.
pub fn builder(args: &CommonArgs) -> anyhow::Result<steady::ClientBuilder> {
    let jitter = match args.retry.jitter {
        JitterArg::Full => Jitter::Full,
        JitterArg::Equal => Jitter::Equal,
        JitterArg::Decorrelated => Jitter::Decorrelated,
        JitterArg::None => Jitter::None,
    };
    if args.retry.backoff > args.retry.backoff_max {
        return Err(UsageError::new(format!(
            "--backoff {} is longer than --backoff-max {}",
            steady::duration::human(args.retry.backoff),
            steady::duration::human(args.retry.backoff_max)
        ))
        .into());
    }
    let redirects = if args.limits.no_follow {
        Redirects::none()
    } else {
        Redirects::follow(args.limits.max_redirects)
    };
    let mut builder = Client::builder()
        .connect_timeout(args.time.connect_timeout)
        .read_timeout(args.time.read_timeout)
        .deadline(args.time.timeout)
        .retry(
            Retry::exponential()
                .max_retries(args.retry.retries)
                .base(args.retry.backoff)
                .max_backoff(args.retry.backoff_max)
                .jitter(jitter)
                .retry_after_max(args.retry.retry_after_max),
        )
        .redirects(redirects);
    if let Some(max) = args.limits.max_body {
        builder = builder.max_body(max);
    }
    builder = tls(builder, &args.tls)?;
    if let Some(url) = &args.proxy.proxy {
        builder = builder.proxy(url);
    }
    if let Some(list) = &args.proxy.no_proxy {
        builder = builder.no_proxy_for(list);
    }
    builder = guards(builder, &args.guards)?;
    for name in &args.auth.sensitive_header {
        builder = builder.sensitive_header(name);
    }
    if let Some(path) = &args.auth.session {
        let jar = steady::cookies::CookieJar::load(path)
            .map_err(|e| UsageError::new(format!("--session: {}", e.what())))?;
        builder = builder.cookie_jar(std::sync::Arc::new(jar));
    }
    if args.fallbacks.fallback.iter().any(|f| f == "cache") {
        builder = builder.cache_file(
            args.fallbacks
                .cache
                .clone()
                .unwrap_or_else(steady::fallback::Cache::default_path),
        );
    }
    Ok(builder)
}

/// The TLS flags, onto a client builder.
fn tls(
    mut builder: steady::ClientBuilder,
    t: &crate::cli::TlsArgs,
) -> anyhow::Result<steady::ClientBuilder> {
    if let Some(path) = &t.cacert {
        let pem = read_pem("--cacert", path)?;
        builder = builder.root_certificates_pem(pem, true);
    }
    if t.insecure {
        crate::output::warning(
            "--insecure: server certificates are NOT verified for this run; anyone in the middle can read and change the traffic",
        );
        builder = builder
            .danger_accept_invalid_certs(true)
            .danger_insecure_with_credentials(t.insecure_with_credentials);
    }
    Ok(builder)
}

/// The guard flags, onto a client builder.
fn guards(
    mut builder: steady::ClientBuilder,
    g: &GuardArgs,
) -> Result<steady::ClientBuilder, UsageError> {
    if !(0.0..=1.0).contains(&g.breaker_ratio) {
        return Err(UsageError::new(format!(
            "--breaker-ratio {}: expected a share from 0 to 1, e.g. 0.5",
            g.breaker_ratio
        )));
    }
    if g.retry_budget < 0.0 {
        return Err(UsageError::new(
            "--retry-budget: expected a percentage, e.g. 20",
        ));
    }
    if g.no_guards {
        builder = builder.no_guards();
    } else {
        builder = if g.no_breaker {
            builder.no_breaker()
        } else {
            builder.breaker(
                Breaker::new()
                    .consecutive_failures(g.breaker_failures)
                    .streak_span(g.breaker_span)
                    .failure_ratio(g.breaker_ratio)
                    .window(g.breaker_window, g.breaker_min_calls)
                    .open_for(g.breaker_open, g.breaker_open_max)
                    .probes(g.breaker_probes)
                    .quorum(g.breaker_quorum)
                    .count_semantic(g.breaker_count_semantic),
            )
        };
        builder = if g.no_retry_budget {
            builder.no_retry_budget()
        } else {
            builder.retry_budget(
                RetryBudget::new()
                    .ratio(g.retry_budget / 100.0)
                    .min_per_second(g.retry_budget_min),
            )
        };
        builder = builder.server_rate_limits(!g.ignore_server_limits);
    }
    if let Some(rate) = g.rate {
        builder = builder.rate_limit(rate);
    }
    builder = builder.fail_fast(g.fail_fast);
    if let Some(hedge) = g.hedge_after {
        builder = builder.hedge(hedge);
    }
    match (&g.state, &g.state_cacert) {
        (Some(state), Some(ca)) => {
            let pem = read_pem("--state-cacert", ca)?;
            let store =
                steady::guard::RedisStore::open_with_ca(&state.to_string_lossy(), Some(pem))
                    .map_err(UsageError::new)?;
            builder = builder.guard_store(store);
        }
        (None, Some(_)) => {
            return Err(UsageError::new(
                "--state-cacert is for --state rediss://HOST:PORT",
            ))
        }
        (Some(path), None) => builder = builder.state_file(path),
        (None, None) => {}
    }
    Ok(builder)
}

/// A PEM certificate file named by `flag`: read, and checked to hold a certificate.
fn read_pem(flag: &str, path: &std::path::Path) -> Result<Vec<u8>, UsageError> {
    let pem = std::fs::read(path)
        .map_err(|e| UsageError::new(format!("{flag} {}: cannot read: {e}", path.display())))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(UsageError::new(format!(
            "{flag} {}: no PEM certificate in the file (expected '-----BEGIN CERTIFICATE-----')",
            path.display()
        )));
    }
    Ok(pem)
}

/// Which fallback flag, and its value, in command-line order.
#[derive(Debug, Clone)]
pub enum FallbackFlag {
    Cache,
    Url(String),
    Json(String),
    Body(std::path::PathBuf),
}

/// The fallback flags in the order they were given (clap keeps each flag's values in
/// order, and their positions on the command line).
pub fn fallback_order(matches: &clap::ArgMatches) -> Vec<FallbackFlag> {
    let mut flags: Vec<(usize, FallbackFlag)> = Vec::new();
    let mut collect = |id: &str, make: &dyn Fn(&str) -> FallbackFlag| {
        // Subcommands without the flag (chaos, demo) have no such id.
        let Ok(Some(values)) = matches.try_get_raw(id) else {
            return;
        };
        if let Some(indices) = matches.indices_of(id) {
            for (value, index) in values.zip(indices) {
                flags.push((index, make(&value.to_string_lossy())));
            }
        }
    };
    collect("fallback", &|_| FallbackFlag::Cache);
    collect("fallback_url", &|v| FallbackFlag::Url(v.to_owned()));
    collect("fallback_json", &|v| FallbackFlag::Json(v.to_owned()));
    collect("fallback_body", &|v| FallbackFlag::Body(v.into()));
    flags.sort_by_key(|(i, _)| *i);
    flags.into_iter().map(|(_, f)| f).collect()
}

/// The library fallbacks for the flags, every value checked.
pub fn fallbacks(args: &CommonArgs, order: &[FallbackFlag]) -> anyhow::Result<Vec<Fallback>> {
    let f = &args.fallbacks;
    order
        .iter()
        .map(|flag| {
            Ok(match flag {
                FallbackFlag::Cache => Fallback::Cache(CachePolicy {
                    max_stale: f.max_stale,
                    ignore_revalidate: f.allow_stale_revalidate,
                }),
                FallbackFlag::Url(url) => {
                    let url = checked_url("--fallback-url ", url)?;
                    steady::Url::parse(&url).map_err(|e| {
                        UsageError::new(format!("--fallback-url '{url}' is not a URL: {e}"))
                    })?;
                    Fallback::url(&url)
                }
                FallbackFlag::Json(text) => {
                    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                        UsageError::new(format!("--fallback-json is not valid JSON: {e}"))
                    })?;
                    Fallback::json(value)
                }
                FallbackFlag::Body(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        UsageError::new(format!(
                            "--fallback-body: cannot read {}: {e}",
                            path.display()
                        ))
                    })?;
                    let content_type = steady::content_type::guess(Some(path), &bytes);
                    Fallback::body(bytes, content_type)
                }
            })
        })
        .collect()
}

/// Whether the body goes to standard output as it arrives: when it is printed as it
/// is (piped: a terminal gets the binary check and a final newline), with no head,
/// status or JSON outcome around it. The library still reads into memory a body that
/// a check needs whole (JSON, expectations).
fn streams(args: &CallArgs, method: &Method) -> bool {
    use std::io::IsTerminal;
    let out = &args.output;
    !out.status
        && !out.include
        && !crate::output::wants_json(out)
        && *method != Method::HEAD
        && !std::io::stdout().is_terminal()
}

/// The request for one invocation, every input read and checked.
pub fn request(client: &Client, method: &str, args: &CallArgs) -> anyhow::Result<RequestBuilder> {
    build(client, method, args, true)
}

/// The GET of `steady events`: as [`request`], its body never saved nor streamed to
/// standard output by the call (each event is printed as it comes).
pub fn events_request(client: &Client, args: &CallArgs) -> anyhow::Result<RequestBuilder> {
    if args.output.save.is_some() || args.curl.remote_name {
        return Err(UsageError::new(
            "steady events prints each event to standard output: redirect it (> FILE) instead of -o/-O",
        )
        .into());
    }
    build(client, "GET", args, false)
}

fn build(
    client: &Client,
    method: &str,
    args: &CallArgs,
    to_stdout: bool,
) -> anyhow::Result<RequestBuilder> {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| UsageError::new(format!("'{method}' is not a valid HTTP method")))?;
    let curl = &args.curl;
    // curl's -I: the head only.
    let method = match (curl.head, method) {
        (true, Method::GET | Method::HEAD) => Method::HEAD,
        (true, other) => {
            return Err(UsageError::new(format!(
                "-I asks for the head only (a HEAD request), and this is a {other}: use steady head URL"
            ))
            .into())
        }
        (false, method) => method,
    };
    let url = checked_url("", &args.url)?;
    let mut request = client.request(method.clone(), &url);

    let mut fields = Map::new();
    // Form fields and files, in the order given.
    let mut form: Vec<(String, Result<String, std::path::PathBuf>)> = Vec::new();
    let mut body: Option<Body> = None;
    let mut typed = false;
    let mut accept_given = false;
    for text in &args.items {
        match items::parse(text).map_err(UsageError::new)? {
            // HTTPie's `Name:` removes a header; `Name;` sends it empty.
            Item::Header(name, value) if value.is_empty() => {
                request = request.without_header(&name)
            }
            Item::Header(name, value) => {
                typed |= name.eq_ignore_ascii_case("content-type");
                accept_given |= name.eq_ignore_ascii_case("accept");
                request = request.header(&name, &value)
            }
            Item::EmptyHeader(name) => request = request.header(&name, ""),
            Item::Query(name, value) => request = request.query(&[(name, value)]),
            Item::Field(name, value) => {
                if args.form || args.multipart {
                    let Value::String(value) = value else {
                        return Err(UsageError::new(format!(
                            "request item '{text}': a raw JSON field (name:=json) cannot go in a form; use name=value"
                        ))
                        .into());
                    };
                    form.push((name, Ok(value)));
                } else {
                    fields.insert(name, value);
                }
            }
            Item::FileField(name, path) => {
                if !path.is_file() {
                    return Err(UsageError::new(format!(
                        "request item '{text}': cannot read {}: {}",
                        path.display(),
                        std::fs::metadata(&path)
                            .err()
                            .map(|e| e.to_string())
                            .unwrap_or_else(|| "not a file".into())
                    ))
                    .into());
                }
                form.push((name, Err(path)));
            }
            Item::BodyFile(path) => {
                let bytes = std::fs::read(&path).map_err(|e| {
                    UsageError::new(format!(
                        "request item '{text}': cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                set_body(&mut body, bytes, Some(path), text)?;
            }
            Item::BodyStdin => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
                    UsageError::new(format!(
                        "request item '{text}': cannot read standard input: {e}"
                    ))
                })?;
                set_body(&mut body, bytes, None, text)?;
            }
        }
    }
    // curl's flags: headers, -A, -e, -b, and a body from -d, --data-raw,
    // --data-binary or --json.
    let mut json_accept = accept_given;
    for spec in &curl.headers {
        match crate::curl::header(spec)? {
            crate::curl::Header::Set(name, value) => {
                typed |= name.eq_ignore_ascii_case("content-type");
                json_accept |= name.eq_ignore_ascii_case("accept");
                request = request.header(&name, &value);
            }
            crate::curl::Header::Remove(name) => request = request.without_header(&name),
        }
    }
    if let Some(agent) = &curl.user_agent {
        request = request.header("user-agent", agent);
    }
    if let Some(referer) = &curl.referer {
        request = request.header("referer", referer);
    }
    let cookies: Vec<&str> = curl
        .cookie
        .iter()
        .map(String::as_str)
        .filter(|c| c.contains('='))
        .collect();
    if !cookies.is_empty() {
        request = request.header("cookie", cookies.join("; "));
    }
    let parts: Vec<(crate::curl::DataKind, &str)> = [
        (crate::curl::DataKind::Data, &curl.data),
        (crate::curl::DataKind::Raw, &curl.data_raw),
        (crate::curl::DataKind::Binary, &curl.data_binary),
        (crate::curl::DataKind::Json, &curl.json),
    ]
    .into_iter()
    .flat_map(|(kind, list)| list.iter().map(move |v| (kind, v.as_str())))
    .collect();
    if !parts.is_empty() {
        if method == Method::GET || method == Method::HEAD {
            return Err(UsageError::new(format!(
                "-d/--json send a body, and a {method} sends none: use steady post URL -d ... (curl's -d turns a GET into a POST; in steady the subcommand is the method)"
            ))
            .into());
        }
        let json = curl.json.len() == parts.len();
        if !curl.json.is_empty() && !json {
            return Err(UsageError::new("--json and -d cannot be combined: one body").into());
        }
        let bytes = crate::curl::data_body(&parts, &mut || {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
        })?;
        if !typed {
            let content_type =
                if json || steady::content_type::guess_bytes(&bytes) == "application/json" {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
            request = request.header("content-type", content_type);
            typed = true;
        }
        if json && !json_accept {
            request = request.header("accept", "application/json");
        }
        let label = if json { "--json" } else { "-d" };
        set_body(&mut body, bytes, None, label)?;
    }
    let files = form.iter().any(|(_, v)| v.is_err());
    if !fields.is_empty() && files {
        return Err(UsageError::new(
            "JSON fields and file fields (name@path) cannot be combined: add -f to send the fields in the form",
        )
        .into());
    }
    // -f with no field is nothing (a curl user's -fsSL means --fail, steady's default).
    let form_fields = args.form && !form.is_empty();
    if (files || form_fields || args.multipart) && body.is_some() {
        return Err(UsageError::new(
            "a form (-f fields, --multipart, name@path) and a body (-d, --json, @file or stdin) cannot be combined",
        )
        .into());
    }
    if files || args.multipart {
        let mut multipart = steady::multipart::Multipart::new();
        for (name, value) in &form {
            multipart = match value {
                Ok(text) => multipart.text(name, text),
                Err(path) => multipart
                    .file(name, path)
                    .map_err(|e| UsageError::new(e.what()))?,
            };
        }
        request = request.multipart(multipart);
    } else if form_fields {
        let pairs: Vec<(&str, &str)> = form
            .iter()
            .filter_map(|(n, v)| v.as_ref().ok().map(|v| (n.as_str(), v.as_str())))
            .collect();
        request = request.form(&pairs);
    }
    match (body, fields.is_empty()) {
        (Some(_), false) => {
            return Err(UsageError::new(
                "JSON fields (name=value, name:=json) and a body (-d, --json, @file or stdin) cannot be combined",
            )
            .into())
        }
        (Some(body), true) => {
            // A body without its type is read as nothing by many servers (json-server
            // stores an empty record): the file's extension, or what the bytes are.
            if !typed {
                let content_type =
                    steady::content_type::guess(body.path.as_deref(), &body.bytes);
                request = request.header("content-type", content_type);
            }
            request = request.body(body.bytes)
        }
        (None, false) => request = request.json(&Value::Object(fields)),
        (None, true) => {}
    }

    if let Some(format) = &curl.write_out {
        crate::curl::check_write_out(format)?;
    }
    // curl's -O: the file the URL names.
    let remote = if curl.remote_name {
        Some(crate::curl::remote_name(&url)?)
    } else {
        None
    };
    // `-o -` is standard output, as in curl: the body is printed as without -o.
    let save = args.output.save.as_ref().or(remote.as_ref());
    if let Some(path) = save.filter(|p| p.as_os_str() != "-") {
        request = request.save_to(path);
        if let Some(max) = args.common.limits.max_body {
            request = request.max_body(max);
        }
    } else if to_stdout && streams(args, &method) {
        request = request.stream_to(std::io::stdout());
        if let Some(max) = args.common.limits.max_body {
            request = request.max_body(max);
        }
    }
    let common = Common::from_args(&args.common)?;
    Ok(common.apply(request))
}

/// The run-wide request settings (credentials, checks, idempotency), read and checked
/// once: a missing variable or a bad expression is an error before anything is sent.
#[derive(Clone)]
pub struct Common {
    bearer: Option<steady::Secret>,
    basic: Option<(String, steady::Secret)>,
    headers: Vec<(String, steady::Secret)>,
    idempotency: Option<String>,
    expect: Vec<String>,
    until: Vec<String>,
    expect_status: Vec<u16>,
    expect_type: Option<String>,
    allow_error_body: bool,
    no_json_check: bool,
}

impl Common {
    pub fn from_args(args: &CommonArgs) -> anyhow::Result<Common> {
        let auth = &args.auth;
        let mut bearer = None;
        if let Some(var) = &auth.bearer_env {
            bearer = Some(credentials::from_env(var, "--bearer-env")?);
        }
        if let Some(path) = &auth.bearer_file {
            bearer = Some(credentials::from_file(path, "--bearer-file")?);
        }
        let basic = match (&auth.basic_env, &auth.user_auth) {
            (Some(var), _) => {
                let secret = credentials::from_env(var, "--basic-env")?;
                Some(credentials::basic(&secret, var)?)
            }
            (None, Some(spec)) => Some(credentials::user_auth(spec)?),
            (None, None) => None,
        };
        let mut headers = Vec::new();
        for spec in &auth.header_env {
            let (name, var) = credentials::header_env(spec)?;
            let secret = credentials::from_env(&var, &format!("--header-env {name}"))?;
            headers.push((name, secret));
        }
        let idempotency = match auth.idempotency_key.as_deref() {
            Some("") => {
                return Err(UsageError::new("--idempotency-key: give `auto` or a key").into())
            }
            other => other.map(str::to_owned),
        };
        let checks = &args.checks;
        for (flag, list) in [("--expect", &checks.expect), ("--until", &checks.until)] {
            for text in list {
                steady::semantic::Expectation::parse(text)
                    .map_err(|e| UsageError::new(format!("{flag} {e}")))?;
            }
        }
        Ok(Common {
            bearer,
            basic,
            headers,
            idempotency,
            expect: checks.expect.clone(),
            until: checks.until.clone(),
            expect_status: checks.expect_status.clone(),
            expect_type: checks.expect_type.clone(),
            allow_error_body: checks.allow_error_body,
            no_json_check: checks.no_json_check,
        })
    }

    /// Whether `--idempotency-key auto` was given.
    pub fn idempotency_auto(&self) -> bool {
        self.idempotency.as_deref() == Some("auto")
    }

    /// Whether a fixed `--idempotency-key KEY` was given.
    pub fn idempotency_fixed(&self) -> bool {
        self.idempotency.as_deref().is_some_and(|k| k != "auto")
    }

    /// Applies the settings to a request (idempotency keys only when `with_key`).
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        self.apply_with(request, true)
    }

    pub fn apply_with(&self, mut request: RequestBuilder, with_key: bool) -> RequestBuilder {
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token.clone());
        }
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, password.clone());
        }
        for (name, secret) in &self.headers {
            request = request.secret_header(name, secret.clone());
        }
        for text in &self.expect {
            request = request.expect(text);
        }
        for text in &self.until {
            request = request.until(text);
        }
        if !self.expect_status.is_empty() {
            request = request.expect_status(&self.expect_status);
        }
        if let Some(content_type) = &self.expect_type {
            request = request.expect_type(content_type);
        }
        if self.allow_error_body {
            request = request.allow_error_body();
        }
        if self.no_json_check {
            request = request.no_json_check();
        }
        if with_key {
            match self.idempotency.as_deref() {
                Some("auto") => request = request.idempotency_key_auto(),
                Some(key) => request = request.idempotency_key(key),
                None => {}
            }
        }
        request
    }
}

/// A body from a file or standard input.
struct Body {
    bytes: Vec<u8>,
    /// The file it came from (`None`: standard input).
    path: Option<std::path::PathBuf>,
    /// The item that gave it, for messages.
    item: String,
}

fn set_body(
    body: &mut Option<Body>,
    bytes: Vec<u8>,
    path: Option<std::path::PathBuf>,
    item: &str,
) -> Result<(), UsageError> {
    if let Some(first) = body {
        return Err(UsageError::new(format!(
            "two bodies given ('{}' and '{item}'): a request has one body",
            first.item
        )));
    }
    *body = Some(Body {
        bytes,
        path,
        item: item.to_owned(),
    });
    Ok(())
}

/// [`normalize_url`], after refusing a scheme typed wrong (`http//host`, `https:/host`,
/// `http:host`), which would otherwise become a DNS failure for a host named `http`.
pub fn checked_url(flag: &str, url: &str) -> Result<String, UsageError> {
    let trimmed = url.trim();
    for scheme in ["https", "http"] {
        let Some(rest) = trimmed
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &trimmed[scheme.len()..])
        else {
            continue;
        };
        let after = if let Some(r) = rest.strip_prefix("//") {
            Some(r) // http//host
        } else if rest.starts_with("://") {
            None
        } else if let Some(r) = rest.strip_prefix(":/") {
            Some(r) // http:/host
        } else if let Some(r) = rest.strip_prefix(':') {
            // http:host, but not host:port of a host named http (http:8080)
            (!r.starts_with(|c: char| c.is_ascii_digit())).then_some(r)
        } else {
            None
        };
        if let Some(after) = after.filter(|a| !a.is_empty()) {
            return Err(UsageError::new(format!(
                "{flag}'{trimmed}' is not a URL: the scheme is written wrong; did you mean {scheme}://{after} ?"
            )));
        }
        break;
    }
    Ok(normalize_url(trimmed))
}

/// `example.com/x` -> `http://example.com/x`; `:8080/x` -> `http://localhost:8080/x`.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    if has_scheme(url) {
        url.to_owned()
    } else if let Some(rest) = url.strip_prefix(':') {
        format!("http://localhost:{rest}")
    } else {
        format!("http://{url}")
    }
}

/// Whether `url` starts with a scheme (`[A-Za-z][A-Za-z0-9+.-]*://`): a `://` later on,
/// as in `host:8080/go?to=http://x`, is not one.
fn has_scheme(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn a_scheme_typed_wrong_is_refused_with_the_url_meant() {
        use super::checked_url;
        for (typed, meant) in [
            ("http//api.test/x", "http://api.test/x"),
            ("https//api.test/x", "https://api.test/x"),
            ("http:/api.test/x", "http://api.test/x"),
            ("https:api.test", "https://api.test"),
        ] {
            let err = checked_url("", typed).unwrap_err().to_string();
            assert!(err.contains(&format!("did you mean {meant} ?")), "{err}");
        }
        assert_eq!(
            checked_url("", "http:8080/x").unwrap(),
            "http://http:8080/x"
        );
        assert_eq!(
            checked_url("", "httpbin.org/get").unwrap(),
            "http://httpbin.org/get"
        );
        assert_eq!(checked_url("", "https://a.test").unwrap(), "https://a.test");
    }

    #[test]
    fn urls_without_scheme() {
        assert_eq!(normalize_url("example.com/x"), "http://example.com/x");
        assert_eq!(normalize_url(":8080/x"), "http://localhost:8080/x");
        assert_eq!(normalize_url("https://a.test"), "https://a.test");
        assert_eq!(
            normalize_url("localhost:8080/go?u=http://x"),
            "http://localhost:8080/go?u=http://x"
        );
        assert_eq!(
            normalize_url("example.com/r?next=https://b.test/"),
            "http://example.com/r?next=https://b.test/"
        );
        assert_eq!(
            normalize_url(":9/a?b=c://d"),
            "http://localhost:9/a?b=c://d"
        );
        assert_eq!(normalize_url("svn+ssh://h/x"), "svn+ssh://h/x");
    }
}
