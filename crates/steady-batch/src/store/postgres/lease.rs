//! A worker's lease: `alive_until` in its run row, renewed every third of `--lease` by a
//! thread of its own, so a busy or blocked async runtime never lets it lapse.
//!
//! When PostgreSQL cannot be reached the thread says so once, reconnects and goes on
//! trying; the run itself stops when its results cannot be written (the writer's
//! commit fails). A renewal that finds the lease already run out (the worker was cut off
//! for longer than `--lease`) says that other workers may have taken, and may send
//! again, the items this one holds: the first final result of an item still stands.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Conn;

/// Keeps the lease of one run alive until dropped.
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Renews the lease of `run` every third of `lease` over `client` (reconnecting to
    /// `url` after a failure).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(
        client: Conn,
        url: String,
        run: i64,
        lease: Duration,
    ) -> Result<Heartbeat, String> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("steady-batch-lease".into())
            .spawn(move || beat(client, &url, run, lease, &stopped))
            .map_err(|e| e.to_string())?;
        Ok(Heartbeat {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Renews the lease; `Ok(false)` when it had run out before this renewal.
fn renew(client: &mut Conn, run: i64, lease: Duration) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "WITH old AS (SELECT alive_until > now() AS alive FROM steady_batch_runs WHERE id = $1)
         UPDATE steady_batch_runs SET alive_until = now() + $2::float8 * interval '1 millisecond'
         WHERE id = $1 RETURNING (SELECT alive FROM old)",
        &[&run, &(lease.as_millis() as f64)],
    )?;
    Ok(row.get::<_, Option<bool>>(0).unwrap_or(false))
}

fn beat(mut client: Conn, url: &str, run: i64, lease: Duration, stopped: &mpsc::Receiver<()>) {
    let every = (lease / 3).max(Duration::from_millis(10));
    let shown = super::shown(url);
    let mut failing = false;
    let mut lapsed = false;
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        match renew(&mut client, run, lease) {
            Ok(alive) => {
                if failing {
                    tracing::warn!(target: "steady_batch", "the lease in {shown} is renewed again");
                    failing = false;
                }
                if !alive && !lapsed {
                    lapsed = true;
                    tracing::warn!(
                        target: "steady_batch",
                        "this worker's lease in {shown} had run out (no renewal for over {}): other workers may have taken its items and may send them again; the first result of each item stands",
                        steady::duration::human(lease)
                    );
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(
                        target: "steady_batch",
                        "cannot renew this worker's lease in {shown}: {e}; trying again every {}",
                        steady::duration::human(every)
                    );
                    failing = true;
                }
                if client.is_closed() {
                    if let Ok(fresh) = super::connect(url) {
                        client = fresh;
                    }
                }
            }
        }
    }
}
