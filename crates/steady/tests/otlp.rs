//! Spans exported over OTLP/HTTP through `tracing-opentelemetry`, wired as an
//! application wires them (`examples/otlp.rs`): the collector, a local server, receives
//! one client span per call and one per attempt under it, with OpenTelemetry's HTTP
//! client attributes, unchanged.

mod support;

use std::collections::HashMap;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use steady_chaos::{Reply, ScriptServer};
use support::{block_on, fast};
use tracing_subscriber::layer::SubscriberExt as _;

/// A span's attributes, as text.
fn attributes(span: &opentelemetry_proto::tonic::trace::v1::Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[test]
fn an_otlp_collector_receives_the_call_span_and_one_span_per_attempt() {
    let api = ScriptServer::builder()
        .route("/orders", [Reply::status(503), Reply::json(200, "{}")])
        .start();
    let collector = ScriptServer::builder().fallback(Reply::status(200)).start();
    // Built first: steady installs rustls' crypto provider, which the exporter's
    // client then uses too.
    let client = fast().0.build().unwrap();

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(collector.url("/v1/traces"))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("steady-test")));
    tracing::subscriber::with_default(subscriber, || {
        block_on(async {
            let resp = client
                .get(api.url("/orders?key=s3cret"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.attempts(), 2);
        });
    });
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let exports = collector.requests();
    assert!(!exports.is_empty(), "the collector received nothing");
    let mut spans = Vec::new();
    for export in &exports {
        assert_eq!(export.method, "POST");
        assert_eq!(export.target, "/v1/traces");
        let request = ExportTraceServiceRequest::decode(export.body.clone()).unwrap();
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    assert_eq!(spans.len(), 3, "one call span and two attempt spans");
    assert!(spans
        .iter()
        .all(|s| s.name == "GET" && s.kind == SpanKind::Client as i32));
    let call = spans
        .iter()
        .find(|s| s.parent_span_id.is_empty())
        .expect("the call's span is the root");
    let mut attempts: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == call.span_id)
        .map(attributes)
        .collect();
    assert_eq!(attempts.len(), 2, "both attempts are children of the call");
    attempts.sort_by_key(|a| a.get("http.request.resend_count").cloned());

    let port = api.addr().port().to_string();
    let call = attributes(call);
    assert_eq!(call["http.request.method"], "GET");
    assert_eq!(call["server.address"], "127.0.0.1");
    assert_eq!(call["server.port"], port);
    assert_eq!(call["http.response.status_code"], "200");
    assert!(!call.contains_key("error.type"));
    assert!(
        call["url.full"].ends_with("/orders?key=****"),
        "{}",
        call["url.full"]
    );
    // The first attempt met the 503; the resend answered.
    assert!(!attempts[0].contains_key("http.request.resend_count"));
    assert_eq!(attempts[0]["http.response.status_code"], "503");
    assert_eq!(attempts[0]["error.type"], "503");
    assert_eq!(attempts[1]["http.request.resend_count"], "1");
    assert_eq!(attempts[1]["http.response.status_code"], "200");
}
