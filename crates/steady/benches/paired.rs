//! The overhead figures that survive a noisy machine: reqwest and steady alternate in
//! paired rounds on one runtime (each round: 2,000 calls one at a time, then 40 fans
//! of 64 spawned calls), and the result is the median over rounds of each client's
//! time and of the per-round ratio. Drift on a shared machine hits both halves of a
//! round alike, where criterion's separate runs (`benches/overhead.rs`) can differ by
//! tens of percent from one run to the next.
//!
//! `cargo bench -p steady --bench paired` (`ROUNDS=N` to change the default 15). Prints
//! a table, and one JSON line last for bench/run.sh. `ONLY=steady` or `ONLY=reqwest`
//! runs one client's fans alone, for a profiler (`perf record`, `strace -c`); `hyper`
//! runs hyper-util's client alone, the floor any client on hyper stands on.
//! `INSTRUMENTED=1` gives steady a listener and installs a Prometheus metrics recorder,
//! as a service would run it.

#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use support::{setup, Setup, BODY};

const ONE_AT_A_TIME: u32 = 2_000;
const FANS: u32 = 40;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let Setup {
        url,
        rt,
        steady,
        raw,
        hyper,
    } = setup();

    let raw_one = || async {
        for _ in 0..ONE_AT_A_TIME {
            let r = raw.get(&url).send().await.unwrap();
            assert_eq!(r.bytes().await.unwrap().len(), BODY.len());
        }
    };
    let steady_one = || async {
        for _ in 0..ONE_AT_A_TIME {
            let r = steady.get(&url).send().await.unwrap();
            assert_eq!(r.bytes().len(), BODY.len());
        }
    };
    let raw_fans = || async {
        for _ in 0..FANS {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (raw, url) = (raw.clone(), url.clone());
                set.spawn(async move {
                    raw.get(&url)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap()
                        .len()
                });
            }
            assert_eq!(set.join_all().await.iter().sum::<usize>(), 64 * BODY.len());
        }
    };
    let steady_fans = || async {
        for _ in 0..FANS {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (steady, url) = (steady.clone(), url.clone());
                set.spawn(async move { steady.get(&url).send().await.unwrap().bytes().len() });
            }
            assert_eq!(set.join_all().await.iter().sum::<usize>(), 64 * BODY.len());
        }
    };
    // hyper-util's pooled client alone: what any client built on hyper can reach.
    let uri: hyper::Uri = url.parse().unwrap();
    let hyper_fans = || async {
        use http_body_util::BodyExt as _;
        for _ in 0..FANS {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (hyper, uri) = (hyper.clone(), uri.clone());
                set.spawn(async move {
                    let resp = hyper.get(uri).await.unwrap();
                    resp.into_body().collect().await.unwrap().to_bytes().len()
                });
            }
            assert_eq!(set.join_all().await.iter().sum::<usize>(), 64 * BODY.len());
        }
    };
    let clock = |f: &dyn Fn()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };

    if let Ok(only) = std::env::var("ONLY") {
        let t = Instant::now();
        match only.as_str() {
            "steady" => (0..rounds).for_each(|_| rt.block_on(steady_fans())),
            "reqwest" => (0..rounds).for_each(|_| rt.block_on(raw_fans())),
            "hyper" => (0..rounds).for_each(|_| rt.block_on(hyper_fans())),
            other => panic!("ONLY={other}: steady, reqwest or hyper"),
        }
        let calls = rounds as f64 * f64::from(FANS * 64);
        println!("{only}: {:.0} calls/s", calls / t.elapsed().as_secs_f64());
        return;
    }
    // Warm-up: connections, caches.
    rt.block_on(raw_one());
    rt.block_on(steady_one());
    let (mut r1, mut s1, mut ratio1) = (Vec::new(), Vec::new(), Vec::new());
    let (mut r64, mut s64, mut ratio64) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let per_call = |d: Duration, n: u32| d.as_secs_f64() * 1e6 / f64::from(n);
        let a = clock(&|| rt.block_on(raw_one()));
        let b = clock(&|| rt.block_on(steady_one()));
        r1.push(per_call(a, ONE_AT_A_TIME));
        s1.push(per_call(b, ONE_AT_A_TIME));
        ratio1.push(a.as_secs_f64() / b.as_secs_f64());
        let a = clock(&|| rt.block_on(raw_fans()));
        let b = clock(&|| rt.block_on(steady_fans()));
        r64.push(per_call(a, FANS * 64));
        s64.push(per_call(b, FANS * 64));
        ratio64.push(a.as_secs_f64() / b.as_secs_f64());
    }
    let (r1, s1, r64, s64) = (median(r1), median(s1), median(r64), median(s64));
    let (ratio1, ratio64) = (median(ratio1), median(ratio64));
    let instrumented = std::env::var("INSTRUMENTED").is_ok();
    println!(
        "{rounds} paired rounds, medians{}:",
        if instrumented {
            format!(
                " (steady with a listener and a metrics recorder: {} events told)",
                support::EVENTS.0.load(std::sync::atomic::Ordering::Relaxed)
            )
        } else {
            String::new()
        }
    );
    println!("one at a time: reqwest {r1:.1} us/call, steady {s1:.1} us/call: +{:.1} us, throughput {ratio1:.2}x", s1 - r1);
    println!(
        "64 at once:    reqwest {:.0} calls/s, steady {:.0} calls/s: throughput {ratio64:.2}x",
        1e6 / r64,
        1e6 / s64
    );
    println!(
        "{}",
        serde_json::json!({
            "rounds": rounds,
            "instrumented": instrumented,
            "one_call_us": {"reqwest": (r1 * 10.0).round() / 10.0, "steady": (s1 * 10.0).round() / 10.0},
            "one_call_added_us": ((s1 - r1) * 10.0).round() / 10.0,
            "one_call_throughput_ratio": (ratio1 * 100.0).round() / 100.0,
            "c64_calls_per_s": {"reqwest": (1e6 / r64).round(), "steady": (1e6 / s64).round()},
            "c64_throughput_ratio": (ratio64 * 100.0).round() / 100.0,
        })
    );
}
