//! What failed, as a value to match on: [`ErrorKind`]. Its [`ErrorKind::name`] is the
//! stable snake_case name of machine output (`error.kind` in JSON outcomes and batch
//! results); code decides on the variant, never on the name.

use std::fmt;

use crate::classify::Fault;

/// What failed. Ask [`crate::Error::kind`] (and [`crate::Error::layer`] for the layer).
///
/// ```
/// use steady::ErrorKind;
/// # fn handle(err: steady::Error) {
/// match err.kind() {
///     ErrorKind::CircuitOpen | ErrorKind::RateLimited => { /* try later: nothing was sent */ }
///     ErrorKind::ClientError => { /* fix the request */ }
///     kind if kind.is_transport() => { /* the network or their server */ }
///     other => eprintln!("failed: {}", other.name()),
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be built: a bad URL, header or credential.
    Usage,
    /// The body could not be written to its file (`RequestBuilder::save_to`).
    Save,
    /// No complete response: the transport fault says which.
    Transport(Fault),
    /// A 4xx.
    ClientError,
    /// A 5xx.
    ServerError,
    /// A status the request did not accept (`expect_status`, or not 2xx/4xx/5xx).
    UnexpectedStatus,
    /// A 3xx not followed (redirects off).
    RedirectNotFollowed,
    /// More redirects than allowed.
    TooManyRedirects,
    /// A redirect refused (https to http with credentials, another scheme).
    RedirectRefused,
    /// A body labelled JSON that does not parse.
    InvalidJson,
    /// A 2xx whose body reports an error (`{"error": ...}`, GraphQL `errors`).
    ErrorInBody,
    /// An expectation (`expect`) did not hold.
    ExpectationFailed,
    /// The content type is not the one expected (`expect_type`).
    UnexpectedType,
    /// What a poll (`until`) waited for did not happen in time.
    Until,
    /// A validator rejected the body.
    Validator,
    /// The body does not fit the type asked of `Response::json`.
    TypeMismatch,
    /// A page of a listing does not have the shape asked for.
    Pagination,
    /// A listing's next page was one already fetched.
    PaginationLoop,
    /// Another semantic failure (a classifier rejected a 2xx).
    Semantic,
    /// Not sent: the host's circuit is open.
    CircuitOpen,
    /// Not sent: the bulkhead is full.
    BulkheadFull,
    /// Not sent: the adaptive concurrency limit had no room before the deadline.
    ConcurrencyLimit,
    /// Not sent: the retry budget is spent.
    RetryBudget,
    /// Not sent: a rate limit (the client's or the server's) leaves no time.
    RateLimited,
}

impl ErrorKind {
    /// The stable snake_case name, as in JSON output: `dns`, `connection_refused`,
    /// `read_timeout`, `client_error`, `server_error`, `invalid_json`,
    /// `error_in_body`, `circuit_open`, `rate_limited`, `usage`, ...
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Save => "save",
            ErrorKind::Transport(fault) => fault.name(),
            ErrorKind::ClientError => "client_error",
            ErrorKind::ServerError => "server_error",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::RedirectNotFollowed => "redirect_not_followed",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::RedirectRefused => "redirect_refused",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::ErrorInBody => "error_in_body",
            ErrorKind::ExpectationFailed => "expectation_failed",
            ErrorKind::UnexpectedType => "unexpected_type",
            ErrorKind::Until => "until",
            ErrorKind::Validator => "validator",
            ErrorKind::TypeMismatch => "type_mismatch",
            ErrorKind::Pagination => "pagination",
            ErrorKind::PaginationLoop => "pagination_loop",
            ErrorKind::Semantic => "semantic",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::BulkheadFull => "bulkhead_full",
            ErrorKind::ConcurrencyLimit => "concurrency_limit",
            ErrorKind::RetryBudget => "retry_budget",
            ErrorKind::RateLimited => "rate_limited",
        }
    }

    /// Whether nothing was sent because a guard refused the call.
    pub fn is_guard(self) -> bool {
        matches!(
            self,
            ErrorKind::CircuitOpen
                | ErrorKind::BulkheadFull
                | ErrorKind::ConcurrencyLimit
                | ErrorKind::RetryBudget
                | ErrorKind::RateLimited
        )
    }

    /// Whether the network or the server's connection failed (no complete response).
    pub fn is_transport(self) -> bool {
        matches!(self, ErrorKind::Transport(_))
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
