//! steady's spans exported to an OpenTelemetry collector over OTLP/HTTP.
//!
//! steady emits `tracing` spans by OpenTelemetry's HTTP client names (one client span
//! per call, one per attempt under it, `http.request.resend_count` on retries);
//! `tracing-opentelemetry` hands them to the OpenTelemetry SDK unchanged, and
//! `opentelemetry-otlp` sends them to a collector (Jaeger, Tempo, Honeycomb, the
//! OpenTelemetry Collector).
//!
//! Runs offline: `cargo run -q -p steady --example otlp` starts a flaky API and, unless
//! `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector (`http://localhost:4318`), a local
//! stand-in that counts what it receives. The wiring is the part to copy.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use steady_chaos::{Reply, ScriptServer};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = ScriptServer::builder()
        .route("/orders", [Reply::status(503), Reply::json(200, "[]")])
        .start();
    let stand_in = ScriptServer::builder().fallback(Reply::status(200)).start();
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .unwrap_or_else(|_| stand_in.url(""))
        + "/v1/traces";

    // steady's client first: it installs rustls' crypto provider, which the exporter's
    // HTTP client uses too.
    let client = steady::Client::new()?;

    // The wiring: an OTLP/HTTP exporter, a tracer provider that batches spans on a
    // thread of its own, and tracing-opentelemetry as a tracing layer. Built outside
    // the async runtime: the exporter's blocking HTTP client must not start inside it.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(&endpoint)
        .build()?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("orders-sync")))
        // Spans and INFO lines (a retry, a wait) go out; DEBUG detail (every attempt's
        // line, the heads) stays home.
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .init();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let resp = client.get(api.url("/orders")).send().await?;
        println!(
            "GET /orders: {} after {} attempts",
            resp.status(),
            resp.attempts()
        );
        Ok::<_, steady::Error>(())
    })?;

    // Spans leave in batches: flush before the program ends.
    provider.shutdown()?;
    println!("spans exported to {endpoint}");
    if std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_err() {
        let bytes: usize = stand_in.requests().iter().map(|r| r.body.len()).sum();
        println!(
            "the local stand-in received {} export(s), {bytes} bytes of protobuf: a call \
             span \"GET\" and one child span per attempt, with http.request.method, \
             server.address, url.full, http.response.status_code, error.type and \
             http.request.resend_count",
            stand_in.total_hits()
        );
    }
    Ok(())
}
