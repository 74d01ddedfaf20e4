//! Metrics by OpenTelemetry's names, seen by metrics-util's debugging recorder (spans:
//! `tests/spans.rs`).

mod support;

use std::collections::HashMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use steady_chaos::{Reply, ScriptServer};
use support::fast;

#[tokio::test]
async fn the_debugging_recorder_sees_the_attempt_histogram_with_its_labels_and_the_retry() {
    let server = ScriptServer::builder()
        .route("/x", [Reply::status(503), Reply::json(200, "{}")])
        .start();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let client = fast().0.build().unwrap();
    client.get(server.url("/x")).send().await.unwrap();
    let snapshot = snapshotter.snapshot().into_vec();
    let port = server.addr().port().to_string();
    let mut histograms = Vec::new();
    let mut retries = 0;
    for (key, _, _, value) in &snapshot {
        let labels: HashMap<String, String> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        match (key.kind(), key.key().name(), value) {
            (MetricKind::Histogram, "http.client.request.duration", DebugValue::Histogram(v)) => {
                assert_eq!(labels["http.request.method"], "GET");
                assert_eq!(labels["server.address"], "127.0.0.1");
                assert_eq!(labels["server.port"], port);
                histograms.push((
                    labels["http.response.status_code"].clone(),
                    labels["error.type"].clone(),
                    v.len(),
                ));
            }
            (MetricKind::Counter, "steady.client.retries", DebugValue::Counter(n)) => {
                assert_eq!(labels["steady.retry.cause"], "backoff");
                assert_eq!(labels["error.type"], "503");
                retries += n;
            }
            _ => {}
        }
    }
    histograms.sort();
    assert_eq!(
        histograms,
        [
            ("200".to_owned(), String::new(), 1),
            ("503".to_owned(), "503".to_owned(), 1)
        ]
    );
    assert_eq!(retries, 1);
}

/// The attempt histograms one local recorder saw, for one call to `url`.
async fn attempts_seen_by_a_new_local_recorder(url: &str) -> usize {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let client = fast().0.build().unwrap();
    client.get(url).send().await.unwrap();
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Histogram(v) if key.key().name() == "http.client.request.duration" => {
                Some(v.len())
            }
            _ => None,
        })
        .sum()
}

#[tokio::test]
async fn each_local_recorder_sees_its_own_calls_even_at_a_reused_address() {
    // Made in the same frame one after the other, the two recorders most likely share
    // an address: steady keeps metric handles only for recorders that live as long as
    // the program, so the second still sees its call.
    let server = ScriptServer::builder()
        .fallback(Reply::json(200, "{}"))
        .start();
    let url = server.url("/x");
    for round in 1..=3 {
        assert_eq!(
            attempts_seen_by_a_new_local_recorder(&url).await,
            1,
            "round {round}"
        );
    }
}
