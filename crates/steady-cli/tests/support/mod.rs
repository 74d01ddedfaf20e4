//! Running the `steady` binary in tests.
#![allow(dead_code)]

pub mod batch;
pub mod fs;
pub mod postgres;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// What one run of `steady` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// `steady` with no inherited RUST_LOG or credential variables.
pub fn command() -> Command {
    let mut cmd = Command::cargo_bin("steady").expect("binary");
    cmd.env_remove("RUST_LOG")
        .env_remove("API_TOKEN")
        .env_remove("CREDS");
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` with no standard input and collects what it did.
pub fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().expect("run steady");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Waits (at most 10 s) until `done` holds, polling every 10 ms.
pub fn wait_until(done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends Ctrl-C (SIGINT) to a running `steady`.
pub fn interrupt(child: &std::process::Child) {
    Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()
        .expect("kill -s INT");
}

/// Runs `steady ARGS...`.
pub fn steady(args: &[&str]) -> Run {
    run(command().args(args))
}
