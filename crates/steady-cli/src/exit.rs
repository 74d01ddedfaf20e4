//! Every mapping from an outcome to an exit code, in one place.
//!
//! The codes follow xh and HTTPie for 2 to 6 so scripts written for them keep working;
//! the table is in `--help` and docs/exit-codes.md.

use std::fmt;
use std::process::ExitCode;

use steady::{ErrorKind, Layer};

pub const SUCCESS: u8 = 0;
pub const TRANSPORT: u8 = 1;
pub const TIMEOUT: u8 = 2;
pub const REDIRECT_NOT_FOLLOWED: u8 = 3;
pub const CLIENT_ERROR: u8 = 4;
pub const SERVER_ERROR: u8 = 5;
pub const TOO_MANY_REDIRECTS: u8 = 6;
pub const SEMANTIC: u8 = 7;
pub const GUARD: u8 = 8;
pub const USAGE: u8 = 64;
/// The body could not be written to `-o FILE` (sysexits' EX_CANTCREAT).
pub const CANT_CREATE: u8 = 73;
/// A batch's results could not be saved (sysexits' EX_IOERR).
pub const UNSAVED: u8 = 74;
/// Interrupted by Ctrl-C (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED: u8 = 130;

/// A mistake in the command line or its inputs: exit 64, nothing sent.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code of a failed call.
pub fn code(err: &steady::Error) -> u8 {
    match err.layer() {
        Layer::Usage if err.kind() == ErrorKind::Save => CANT_CREATE,
        Layer::Usage => USAGE,
        Layer::Transport if err.is_timeout() => TIMEOUT,
        Layer::Transport => TRANSPORT,
        Layer::Semantic => SEMANTIC,
        Layer::Guard => GUARD,
        Layer::Http => match err.kind() {
            ErrorKind::TooManyRedirects => TOO_MANY_REDIRECTS,
            ErrorKind::RedirectNotFollowed | ErrorKind::RedirectRefused => REDIRECT_NOT_FOLLOWED,
            _ => match err.status() {
                Some(s) if s.is_client_error() => CLIENT_ERROR,
                _ => SERVER_ERROR,
            },
        },
        _ => TRANSPORT,
    }
}

/// The exit code of any error that ends `run`.
pub fn code_of_anyhow(err: &anyhow::Error) -> u8 {
    if let Some(err) = err.downcast_ref::<steady::Error>() {
        return code(err);
    }
    if err.downcast_ref::<UsageError>().is_some() {
        return USAGE;
    }
    TRANSPORT
}

pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// Whether an I/O error is a closed pipe (`steady get ... | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
