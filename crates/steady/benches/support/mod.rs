//! The local server both overhead benchmarks call.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the server answers: a small JSON object, as an API would.
pub const BODY: &str = r#"{"id": 1, "name": "anvil", "price": 9.5, "in_stock": true}"#;

/// A keep-alive hyper server on 127.0.0.1 in a runtime of its own (one thread, so
/// the clients get the other core).
pub fn server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                                .unwrap(),
                        )
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// A listener that counts the events it is told (`INSTRUMENTED` runs).
#[derive(Default)]
pub struct Events(pub std::sync::atomic::AtomicU64);

impl steady::event::Listener for Events {
    fn on_event(&self, _: &steady::event::CallInfo<'_>, _: &steady::event::Event<'_>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The events told in an `INSTRUMENTED` run.
pub static EVENTS: std::sync::LazyLock<std::sync::Arc<Events>> =
    std::sync::LazyLock::new(Default::default);

/// What both benchmarks compare: the server's URL, one runtime, and the two clients.
pub struct Setup {
    pub url: String,
    pub rt: tokio::runtime::Runtime,
    pub steady: steady::Client,
    pub raw: reqwest::Client,
    /// hyper-util's pooled client, with nothing around it (`paired` only).
    #[allow(dead_code)]
    pub hyper: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Empty<Bytes>,
    >,
}

/// Starts the server and builds a steady client with its defaults and a bare reqwest
/// client with redirects off (steady follows redirects itself). With `RAW_TIMEOUTS`
/// set, the reqwest client gets steady's connect and read timeouts, to show what the
/// timers alone cost.
pub fn setup() -> Setup {
    let url = format!("http://{}/items/1", server());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Built first: it installs rustls' crypto provider, which reqwest then uses too.
    let mut steady = steady::Client::builder();
    if std::env::var("INSTRUMENTED").is_ok() {
        // What a service runs with: a listener on every event, and a metrics recorder
        // (the one `--metrics` installs) taking every histogram and counter.
        steady = steady.listener(EVENTS.clone());
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .unwrap();
    }
    let steady = steady.build().unwrap();
    let mut raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if std::env::var("RAW_TIMEOUTS").is_ok() {
        let timeouts = steady::timeout::Timeouts::default();
        raw = raw
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read);
    }
    let raw = raw.build().unwrap();
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    Setup {
        url,
        rt,
        steady,
        raw,
        hyper,
    }
}
