//! What a call tells the world: `tracing` spans and log lines, and metrics through the
//! `metrics` facade, by OpenTelemetry's names, so that `tracing-opentelemetry` and any
//! Prometheus or OTLP exporter take them unchanged.
//!
//! Why here, in one file: every output is built from the same [`Event`]s a listener
//! hears ([`crate::event`]), so `-v`, a span and a counter never disagree about what
//! happened. Both facades cost next to nothing when the application installs no
//! subscriber and no recorder (a check of an atomic per record).
//!
//! # Spans
//!
//! | span | level | fields |
//! |---|---|---|
//! | one per call, `otel.name` = the method | INFO | `otel.kind` = `client`, `http.request.method`, `server.address`, `server.port`, `url.full` (credentials redacted), `http.response.status_code`, `error.type` |
//! | one per attempt, under the call's | INFO | the same, and `http.request.resend_count` on every resend |
//!
//! # Log levels
//!
//! A successful call says nothing at INFO: its attempt line is DEBUG (target
//! `steady::attempt`), as are the request and response heads (`steady::headers`).
//! An attempt that failed, a retry, a wait and a guard refusal are INFO
//! (`steady::attempt`, `steady::guard`); a breaker transition is WARN
//! (`steady::breaker`).
//!
//! # Metrics
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `http.client.request.duration` | histogram, seconds, per attempt | `http.request.method`, `server.address`, `server.port`, `http.response.status_code`, `error.type` |
//! | `steady.client.retries` | counter | `server.address`, `steady.retry.cause` (`backoff`, `retry_after`), `error.type` |
//! | `steady.client.guard.waits` | counter | `server.address`, `steady.wait.cause` |
//! | `steady.client.guard.wait.duration` | histogram, seconds | `server.address`, `steady.wait.cause` |
//! | `steady.client.guard.refusals` | counter | `server.address`, `steady.guard` |
//! | `steady.client.breaker.transitions` | counter | `server.address`, `steady.breaker.from`, `steady.breaker.to` |
//! | `steady.client.breaker.state` | gauge: 0 closed, 1 half-open, 2 open | `server.address` |
//! | `steady.client.fallbacks` | counter | `steady.fallback.source` |
//! | `steady.client.concurrency.limit` | gauge | `server.address` |
//! | `steady.client.calls` | counter, per call | `http.request.method`, `server.address`, `error.type` (absent on success) |
//!
//! `error.type` is the fault (`connection_refused`, `read_timeout`, ...), the status
//! code of an HTTP failure (`503`), or the semantic kind (`error_in_body`). A
//! Prometheus exporter names them `http_client_request_duration_seconds`,
//! `steady_client_retries_total`, and so on.

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};

use crate::breaker::Phase;
use crate::event::{CallInfo, Event};

/// The name of the attempt histogram.
pub const REQUEST_DURATION: &str = "http.client.request.duration";

/// Tells the installed recorder what each of steady's metrics is: its unit and a line
/// of help. Call it once, after installing a recorder, for exporters that name metrics
/// by their unit (Prometheus: `http_client_request_duration_seconds`) or show help.
///
/// ```
/// // With metrics-exporter-prometheus, say:
/// // let handle = PrometheusBuilder::new().with_recommended_naming(true).install_recorder()?;
/// steady::telemetry::describe();
/// ```
pub fn describe() {
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP client requests (one per attempt)."
    );
    describe_counter!(
        "steady.client.retries",
        Unit::Count,
        "Retries steady scheduled, by cause and what failed."
    );
    describe_counter!(
        "steady.client.guard.waits",
        Unit::Count,
        "Waits for a guard (breaker probe, budget, rate limits, concurrency)."
    );
    describe_histogram!(
        "steady.client.guard.wait.duration",
        Unit::Seconds,
        "How long calls waited for a guard."
    );
    describe_counter!(
        "steady.client.guard.refusals",
        Unit::Count,
        "Calls or retries a guard refused: nothing was sent."
    );
    describe_counter!(
        "steady.client.breaker.transitions",
        Unit::Count,
        "Circuit breaker phase changes."
    );
    describe_gauge!(
        "steady.client.breaker.state",
        "The circuit of each host: 0 closed, 1 half-open, 2 open."
    );
    describe_counter!(
        "steady.client.fallbacks",
        Unit::Count,
        "Answers served by a fallback, by source."
    );
    describe_gauge!(
        "steady.client.concurrency.limit",
        "The adaptive concurrency limit of each host."
    );
    describe_counter!("steady.client.calls", Unit::Count, "Calls, by outcome.");
    describe_counter!(
        "steady.client.streams.broken",
        Unit::Count,
        "Bodies handed over as they arrived that broke after the call's head, by fault."
    );
}

/// A streamed body broke after its call ended at the head (which the call's own
/// metrics and span counted a success): a counter, and a line at INFO.
pub(crate) fn stream_broken(
    method: &reqwest::Method,
    url: &reqwest::Url,
    shown_url: &str,
    fault: crate::classify::Fault,
    received: u64,
) {
    let host = crate::guard::host_key(url);
    let (address, _) = address(&host);
    counter!(
        "steady.client.streams.broken",
        "http.request.method" => method_label(method),
        "server.address" => address.to_owned(),
        "error.type" => fault.name(),
    )
    .increment(1);
    tracing::info!(
        target: "steady::stream",
        "{method} {shown_url}: the body broke after {}: {}",
        crate::duration::human_size(received),
        fault.words()
    );
}

/// The host and port of a host key (`scheme://host:port`).
fn address(host: &str) -> (&str, &str) {
    let rest = host.split_once("://").map_or(host, |(_, r)| r);
    match rest.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (rest, ""),
    }
}

/// A status as a label: a static string for the common codes, so the label costs
/// nothing to make.
fn status_label(status: reqwest::StatusCode) -> metrics::SharedString {
    let common = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        301 => "301",
        302 => "302",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return metrics::SharedString::from(other.to_string()),
    };
    metrics::SharedString::from(common)
}

fn phase_value(phase: Phase) -> f64 {
    match phase {
        Phase::Closed => 0.0,
        Phase::HalfOpen => 1.0,
        Phase::Open => 2.0,
    }
}

/// Metric handles by label set, registered with the recorder once.
///
/// Why: a recorder's registration builds the key (a string per label), hashes it and
/// looks it up under a lock, on every record. The two metrics every call records (the
/// attempt histogram and the calls counter) keep their handles here instead, keyed by
/// the installed recorder and the label values, so a call with a recorder installed
/// costs a hash and a shared read lock; with none, the same and a no-op (callgrind:
/// about 6,000 instructions a call less, BENCHMARKS.md). Handles are kept only for a
/// recorder that lives as long as the program ([`lives_forever`]), and for at most
/// [`Registered::MAX`] label sets; the rest are registered each time.
struct Registered<H> {
    map: std::sync::RwLock<std::collections::HashMap<u64, (Vec<String>, H)>>,
}

impl<H: Clone> Registered<H> {
    /// Label sets kept (hosts times outcomes: a bounded client stays far below).
    const MAX: usize = 4096;

    fn new() -> Self {
        Registered {
            map: std::sync::RwLock::new(std::collections::HashMap::new()),
        }
    }

    /// The handle for `labels` under the installed recorder, made by `register` once.
    fn handle(&self, labels: &[&str], register: impl FnOnce() -> H) -> H {
        use std::hash::{Hash, Hasher};
        let recorder = metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize);
        let mut hasher = std::hash::DefaultHasher::new();
        recorder.hash(&mut hasher);
        labels.hash(&mut hasher);
        let key = hasher.finish();
        let same = |kept: &[String]| kept.iter().map(String::as_str).eq(labels.iter().copied());
        if let Ok(map) = self.map.read() {
            if let Some((kept, handle)) = map.get(&key) {
                if same(kept) {
                    return handle.clone();
                }
            }
        }
        let handle = register();
        let full = self.map.read().map_or(true, |map| map.len() >= Self::MAX);
        if full || !lives_forever(recorder) {
            return handle;
        }
        if let Ok(mut map) = self.map.write() {
            if map.len() < Self::MAX {
                map.entry(key).or_insert_with(|| {
                    (
                        labels.iter().map(|l| (*l).to_owned()).collect(),
                        handle.clone(),
                    )
                });
            }
        }
        handle
    }
}

/// Whether the recorder at `address` lives as long as the program: the global one, or
/// metrics' no-op default. A local recorder (`metrics::with_local_recorder`, as tests
/// use) may be dropped and another made at the same address, so handles registered
/// with it are never kept. Told apart by asking from a new thread, which has no local
/// recorder, which recorder it sees: once per address.
fn lives_forever(address: usize) -> bool {
    static SEEN: std::sync::Mutex<Vec<(usize, bool)>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else {
        return false;
    };
    if let Some((_, verdict)) = seen.iter().find(|(a, _)| *a == address) {
        return *verdict;
    }
    if seen.len() >= 64 {
        return false;
    }
    // A thread the system refuses: not proven, so not kept (never a panic in a call).
    let elsewhere = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("steady-recorder-probe".into())
            .spawn_scoped(scope, || {
                metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize)
            })
            .ok()?
            .join()
            .ok()
    });
    let verdict = elsewhere == Some(address);
    seen.push((address, verdict));
    verdict
}

static DURATIONS: std::sync::LazyLock<Registered<metrics::Histogram>> =
    std::sync::LazyLock::new(Registered::new);
static CALLS: std::sync::LazyLock<Registered<metrics::Counter>> =
    std::sync::LazyLock::new(Registered::new);

/// Logs and metrics of one event. Spans are opened by the call itself.
pub(crate) fn on_event(call: &CallInfo<'_>, event: &Event<'_>) {
    let (address, port) = address(call.host);
    match event {
        Event::AttemptStarted { .. } => {}
        Event::AttemptEnded(attempt) => {
            let error_type = attempt_error_type(attempt);
            let status = attempt.status();
            let labels = [
                call.method.as_str(),
                call.host,
                status.as_ref().map_or("", reqwest::StatusCode::as_str),
                error_type.as_deref().unwrap_or(""),
            ];
            DURATIONS
                .handle(&labels, || {
                    histogram!(
                        REQUEST_DURATION,
                        "http.request.method" => method_label(call.method),
                        "server.address" => address.to_owned(),
                        "server.port" => port.to_owned(),
                        "http.response.status_code" => status.map_or(metrics::SharedString::from(""), status_label),
                        "error.type" => error_type.clone().unwrap_or_default(),
                    )
                })
                .record(attempt.duration().as_secs_f64());
            log_attempt(call, attempt);
        }
        Event::RetryScheduled {
            cause,
            status,
            fault,
            ..
        } => {
            let error_type = match (status, fault) {
                (_, Some(fault)) => metrics::SharedString::from(fault.name()),
                (Some(status), None) => status_label(*status),
                (None, None) => metrics::SharedString::from(""),
            };
            counter!(
                "steady.client.retries",
                "server.address" => address.to_owned(),
                "steady.retry.cause" => cause.name(),
                "error.type" => error_type,
            )
            .increment(1);
        }
        Event::Waited {
            cause,
            duration,
            message,
        } => {
            tracing::info!(target: "steady::guard", wait = cause.name(), "{} {}: {message}", cause.name(), call.url);
            counter!(
                "steady.client.guard.waits",
                "server.address" => address.to_owned(),
                "steady.wait.cause" => cause.name(),
            )
            .increment(1);
            histogram!(
                "steady.client.guard.wait.duration",
                "server.address" => address.to_owned(),
                "steady.wait.cause" => cause.name(),
            )
            .record(duration.as_secs_f64());
        }
        Event::GuardRefused { guard, message } => {
            counter!(
                "steady.client.guard.refusals",
                "server.address" => address.to_owned(),
                "steady.guard" => guard.name(),
            )
            .increment(1);
            tracing::info!(target: "steady::guard", guard = guard.name(), "{} {}: {message}", guard.name(), call.url);
        }
        Event::GuardNote { guard, message } => {
            tracing::info!(target: "steady::guard", guard = guard.name(), "{} {}: {message}", guard.name(), call.url);
        }
        Event::BreakerTransition { from, to, reason } => {
            counter!(
                "steady.client.breaker.transitions",
                "server.address" => address.to_owned(),
                "steady.breaker.from" => from.name(),
                "steady.breaker.to" => to.name(),
            )
            .increment(1);
            gauge!("steady.client.breaker.state", "server.address" => address.to_owned())
                .set(phase_value(*to));
            tracing::warn!(target: "steady::breaker", "circuit for {} {reason}", call.host);
        }
        Event::ConcurrencyLimitChanged { to, .. } => {
            gauge!("steady.client.concurrency.limit", "server.address" => address.to_owned())
                .set(f64::from(*to));
        }
        Event::FallbackUsed { source } => {
            counter!("steady.client.fallbacks", "steady.fallback.source" => source.to_string())
                .increment(1);
        }
        Event::CallEnded { error, .. } => {
            let error = error.map_or("", |e| e.name());
            CALLS
                .handle(&[call.method.as_str(), call.host, error], || {
                    counter!(
                        "steady.client.calls",
                        "http.request.method" => method_label(call.method),
                        "server.address" => address.to_owned(),
                        "error.type" => error,
                    )
                })
                .increment(1);
        }
        Event::HedgeSent { .. } | Event::HedgeWon { .. } => {}
    }
}

/// `error.type` of an attempt: its fault, or the status of a failed answer.
pub(crate) fn attempt_error_type(attempt: &crate::Attempt) -> Option<metrics::SharedString> {
    if let Some(fault) = attempt.fault() {
        return Some(metrics::SharedString::from(fault.name()));
    }
    match (attempt.layer(), attempt.status()) {
        (Some(crate::Layer::Semantic), _) => Some(metrics::SharedString::from("semantic")),
        (Some(_), Some(status)) => Some(status_label(status)),
        _ => None,
    }
}

/// The method as a label: static for the standard ones.
fn method_label(method: &reqwest::Method) -> metrics::SharedString {
    match *method {
        reqwest::Method::GET => "GET".into(),
        reqwest::Method::POST => "POST".into(),
        reqwest::Method::PUT => "PUT".into(),
        reqwest::Method::DELETE => "DELETE".into(),
        reqwest::Method::HEAD => "HEAD".into(),
        reqwest::Method::PATCH => "PATCH".into(),
        reqwest::Method::OPTIONS => "OPTIONS".into(),
        _ => method.as_str().to_owned().into(),
    }
}

/// The attempt's line: DEBUG for a successful one (a service keeps INFO on and hears
/// nothing of calls that went well), INFO for one that failed.
fn log_attempt(call: &CallInfo<'_>, attempt: &crate::Attempt) {
    use crate::attempt::Decision;
    let failed = !matches!(attempt.decision(), Decision::Done);
    let enabled = if failed {
        tracing::enabled!(target: "steady::attempt", tracing::Level::INFO)
    } else {
        tracing::enabled!(target: "steady::attempt", tracing::Level::DEBUG)
    };
    if !enabled {
        return;
    }
    let layer = attempt
        .layer()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let note = attempt
        .note()
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default();
    let decision = if failed {
        format!("; {}", attempt.why())
    } else {
        String::new()
    };
    let line = format!(
        "attempt {}/{} {} {} -> {}{} in {}{}{}",
        attempt.number(),
        attempt.of(),
        call.method,
        call.url,
        attempt.outcome(),
        layer,
        crate::duration::human(attempt.duration()),
        decision,
        note,
    );
    if failed {
        tracing::info!(
            target: "steady::attempt",
            attempt = attempt.number(),
            status = attempt.status().map(|s| s.as_u16()),
            fault = attempt.fault().map(|f| f.name()),
            "{line}"
        );
    } else {
        tracing::debug!(
            target: "steady::attempt",
            attempt = attempt.number(),
            status = attempt.status().map(|s| s.as_u16()),
            "{line}"
        );
    }
}

/// The span of one call, by OpenTelemetry's HTTP client conventions.
pub(crate) fn call_span(method: &reqwest::Method, url: &str, host: &str) -> tracing::Span {
    let (address, port) = address(host);
    tracing::info_span!(
        target: "steady::call",
        "HTTP",
        otel.name = %method,
        otel.kind = "client",
        http.request.method = %method,
        server.address = address,
        server.port = port,
        url.full = url,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// The span of one attempt, under the call's.
pub(crate) fn attempt_span(
    method: &reqwest::Method,
    url: &str,
    host: &str,
    resend: u32,
) -> tracing::Span {
    let (address, port) = address(host);
    let span = tracing::info_span!(
        target: "steady::attempt",
        "HTTP attempt",
        otel.name = %method,
        otel.kind = "client",
        http.request.method = %method,
        server.address = address,
        server.port = port,
        url.full = url,
        http.request.resend_count = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if resend > 0 {
        span.record("http.request.resend_count", resend);
    }
    span
}

/// Records the outcome on a span: the status, and `error.type` when it failed.
pub(crate) fn record_outcome(
    span: &tracing::Span,
    status: Option<reqwest::StatusCode>,
    error_type: Option<&str>,
) {
    if span.is_disabled() {
        return;
    }
    if let Some(status) = status {
        span.record("http.response.status_code", status.as_u16());
    }
    if let Some(error_type) = error_type {
        span.record("error.type", error_type);
    }
}

#[cfg(test)]
mod tests {
    use super::address;

    #[test]
    fn host_keys_split_into_address_and_port() {
        assert_eq!(address("http://127.0.0.1:8080"), ("127.0.0.1", "8080"));
        assert_eq!(
            address("https://api.example.com:443"),
            ("api.example.com", "443")
        );
        assert_eq!(address("http://[::1]:80"), ("[::1]", "80"));
    }
}
