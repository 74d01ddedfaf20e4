//! `--metrics FILE`: the run's metrics in Prometheus' text exposition, for
//! node_exporter's textfile collector: written atomically (a temporary file beside it,
//! renamed into place) every few seconds while a run goes on, and once more at its end.
//!
//! The recorder is metrics-exporter-prometheus' (no HTTP listener built in); names
//! follow Prometheus' conventions from OpenTelemetry's (`http.client.request.duration`
//! in seconds becomes `http_client_request_duration_seconds`, counters end in
//! `_total`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::exit::UsageError;

/// How often the file is written during a run.
const EVERY: Duration = Duration::from_secs(5);

/// The buckets of the request and wait durations, in seconds (OpenTelemetry's
/// defaults for HTTP client durations, with a few longer ones for retries and waits).
const BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    300.0,
];

/// The file being written: stop it with [`MetricsFile::finish`].
pub struct MetricsFile {
    path: PathBuf,
    handle: PrometheusHandle,
    stop: Option<mpsc::Sender<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl MetricsFile {
    /// Installs the recorder and starts writing `path` every few seconds. Refuses a
    /// folder that does not exist before anything is sent.
    pub fn start(path: &Path) -> anyhow::Result<MetricsFile> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !folder.is_dir() {
                return Err(UsageError::new(format!(
                    "--metrics {}: the folder {} does not exist",
                    path.display(),
                    folder.display()
                ))
                .into());
            }
        }
        let handle = PrometheusBuilder::new()
            .with_recommended_naming(true)
            .set_buckets_for_metric(Matcher::Suffix("duration".into()), &BUCKETS)?
            .install_recorder()?;
        steady::telemetry::describe();
        let (stop, stopped) = mpsc::channel::<()>();
        let (file, h) = (path.to_owned(), handle.clone());
        let writer = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                h.run_upkeep();
                if let Err(e) = steady::atomic::write(&file, h.render().as_bytes()) {
                    crate::output::warning(&format!(
                        "--metrics {}: cannot write it: {e}",
                        file.display()
                    ));
                }
            }
        });
        let file = MetricsFile {
            path: path.to_owned(),
            handle,
            stop: Some(stop),
            writer: Some(writer),
        };
        file.write_now()?;
        Ok(file)
    }

    fn write_now(&self) -> std::io::Result<()> {
        self.handle.run_upkeep();
        steady::atomic::write(&self.path, self.handle.render().as_bytes())
    }

    /// Stops the writer and writes the file a last time.
    pub fn finish(mut self) -> std::io::Result<()> {
        drop(self.stop.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        self.write_now()
    }
}
