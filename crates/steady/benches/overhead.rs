//! What steady's resilience costs on a healthy network: `steady::Client` with its
//! default policies (timeouts, retry policy, budget, breaker, server rate limits,
//! semantic checks, redirect handling, decoding) against a bare `reqwest::Client`,
//! both calling the same local hyper server, one call at a time and 64 at once.
//!
//! `cargo bench -p steady --bench overhead` (bench/run.sh runs it and reads the
//! figures). The ratio is what counts; absolute times drift on a shared machine.

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use support::{setup, Setup, BODY};

fn overhead(c: &mut Criterion) {
    let Setup {
        url,
        rt,
        steady,
        raw,
        ..
    } = setup();

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
