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

    let mut one = c.benchmark_group("one_call");
    one.throughput(Throughput::Elements(1));
    one.bench_function("reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = raw.get(&url).send().await.unwrap();
                assert_eq!(r.bytes().await.unwrap().len(), BODY.len());
            })
        })
    });
    one.bench_function("steady", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = steady.get(&url).send().await.unwrap();
                assert_eq!(r.bytes().len(), BODY.len());
            })
        })
    });
    one.finish();

    let mut many = c.benchmark_group("64_at_once");
    many.throughput(Throughput::Elements(64));
    many.bench_function("reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let calls = (0..64).map(|_| async {
                    let r = raw.get(&url).send().await.unwrap();
                    r.bytes().await.unwrap().len()
                });
                futures_join(calls).await
            })
        })
    });
    many.bench_function("steady", |b| {
        b.iter(|| {
            rt.block_on(async {
                let calls = (0..64).map(|_| async {
                    let r = steady.get(&url).send().await.unwrap();
                    r.bytes().len()
                });
                futures_join(calls).await
            })
        })
    });
    many.finish();
}

/// Runs the futures concurrently on the current task (no spawning, so both clients
/// are measured the same way) and checks every body arrived.
async fn futures_join<F: std::future::Future<Output = usize>>(calls: impl Iterator<Item = F>) {
    let mut pending: Vec<_> = calls.map(Box::pin).collect();
    let mut total = 0;
    std::future::poll_fn(|cx| {
        pending.retain_mut(|f| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(n) => {
                total += n;
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    assert_eq!(total, 64 * BODY.len());
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
