//! What steady's resilience costs on a healthy network: `steady::Client` with its
//! default policies (timeouts, retry policy, budget, breaker, server rate limits,
//! semantic checks, redirect handling, decoding) against a bare `reqwest::Client`,
//! both calling the same local hyper server, one call at a time and 64 at once.
//!
//! `cargo bench -p steady --bench overhead` (bench/run.sh runs it and reads the
//! figures). The ratio is what counts; absolute times drift on a shared machine.

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const BODY: &str = r#"{"id": 1, "name": "anvil", "price": 9.5, "in_stock": true}"#;

/// A keep-alive hyper server on 127.0.0.1 in a runtime of its own (one thread, so
/// the clients get the other core).
fn server() -> SocketAddr {
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

fn overhead(c: &mut Criterion) {
    let addr = server();
    let url = format!("http://{addr}/items/1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Built first: it installs rustls' crypto provider, which reqwest then uses too.
    let steady = steady::Client::builder().build().unwrap();
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Each measurement runs its iterations inside one `block_on`, as a program does.
    let mut one = c.benchmark_group("one_call");
    one.throughput(Throughput::Elements(1));
    one.bench_function("reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let r = raw.get(&url).send().await.unwrap();
            assert_eq!(r.bytes().await.unwrap().len(), BODY.len());
        })
    });
    one.bench_function("steady", |b| {
        b.to_async(&rt).iter(|| async {
            let r = steady.get(&url).send().await.unwrap();
            assert_eq!(r.bytes().len(), BODY.len());
        })
    });
    one.finish();

    // 64 tasks spawned at once, the way a program fans out calls.
    let mut many = c.benchmark_group("64_at_once");
    many.throughput(Throughput::Elements(64));
    many.bench_function("reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (raw, url) = (raw.clone(), url.clone());
                set.spawn(async move {
                    let r = raw.get(&url).send().await.unwrap();
                    r.bytes().await.unwrap().len()
                });
            }
            assert_eq!(set.join_all().await.iter().sum::<usize>(), 64 * BODY.len());
        })
    });
    many.bench_function("steady", |b| {
        b.to_async(&rt).iter(|| async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (steady, url) = (steady.clone(), url.clone());
                set.spawn(async move {
                    let r = steady.get(&url).send().await.unwrap();
                    r.bytes().len()
                });
            }
            assert_eq!(set.join_all().await.iter().sum::<usize>(), 64 * BODY.len());
        })
    });
    many.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    targets = overhead
}
criterion_main!(benches);
