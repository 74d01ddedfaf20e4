//! `steady chaos` for the Python benchmarks (`bench/python/`), without building the CLI:
//! serves the built-in JSON API with the faults given, on a free loopback port.
//!
//! ```text
//! chaos [--seed N] [--fault SPEC]...
//! ```
//!
//! Prints its URL on the first line of stdout, serves until stdin closes, then prints
//! what it received as JSON (requests, faults injected, peak in flight).

use std::io::Read;

use steady_chaos::{ChaosConfig, ChaosServer};

fn main() {
    let mut config = ChaosConfig::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        config = match arg.as_str() {
            "--fault" => config.fault(&value).unwrap_or_else(|e| fail(&e)),
            "--seed" => config.seed(value.parse().unwrap_or_else(|_| fail("--seed N"))),
            other => fail(&format!("unknown argument {other}")),
        };
    }
    let server = ChaosServer::start(config).unwrap_or_else(|e| fail(&e.to_string()));
    println!("{}", server.url(""));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    println!("{}", server.stats().to_json());
}

fn fail(why: &str) -> ! {
    eprintln!("chaos: {why}");
    std::process::exit(2)
}
