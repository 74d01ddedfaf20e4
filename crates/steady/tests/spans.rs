//! Spans by OpenTelemetry's HTTP client names, seen by a test subscriber. Alone in its
//! binary: the subscriber is the process's global one.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use steady_chaos::{Reply, ScriptServer};
use support::fast;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Every span opened: its name and fields (as recorded, later values replacing).
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Opened>>>);

/// A span's name and fields.
type Opened = (String, HashMap<String, String>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

impl<S> Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        fields.insert("id".into(), id.into_u64().to_string());
        self.0
            .lock()
            .unwrap()
            .push((attrs.metadata().name().to_owned(), fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, fields)) = spans
            .iter_mut()
            .find(|(_, f)| f.get("id") == Some(&id.into_u64().to_string()))
        {
            values.record(&mut Fields(fields));
        }
    }
}

#[tokio::test]
async fn a_subscriber_sees_a_call_span_and_an_attempt_span_per_attempt_with_its_resend_count() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503), Reply::json(200, "{}")])
        .start();
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    // The global subscriber of this test binary, which holds this test alone: a
    // subscriber set for one thread may miss callsites another test's thread met first.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let client = fast().0.build().unwrap();
    client
        .get(server.url("/x?api_key=s3cr3t"))
        .send()
        .await
        .unwrap();
    let spans = spans.0.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["HTTP", "HTTP attempt", "HTTP attempt"]);
    let (call, first, second) = (&spans[0].1, &spans[1].1, &spans[2].1);
    assert_eq!(call["otel.name"], "GET");
    assert_eq!(call["otel.kind"], "client");
    assert_eq!(call["http.request.method"], "GET");
    assert_eq!(call["server.address"], "127.0.0.1");
    assert_eq!(call["server.port"], server.addr().port().to_string());
    assert_eq!(
        call["url.full"],
        format!("http://127.0.0.1:{}/x?api_key=****", server.addr().port())
    );
    assert_eq!(call["http.response.status_code"], "200");
    assert!(
        !first.contains_key("http.request.resend_count"),
        "the first is no resend"
    );
    assert_eq!(first["http.response.status_code"], "503");
    assert_eq!(first["error.type"], "503");
    assert_eq!(second["http.request.resend_count"], "1");
    assert_eq!(second["http.response.status_code"], "200");
    assert!(!second.contains_key("error.type"));
}
