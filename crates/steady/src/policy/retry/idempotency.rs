//! Which requests are safe to send twice.
//!
//! Retrying a `POST` that timed out may charge a card twice: the server may have done
//! the work and only the answer was lost. RFC 9110 (section 9.2.2) names the methods
//! whose repetition has the same effect as one request: GET, HEAD, OPTIONS, TRACE, PUT
//! and DELETE. Any other method is replayed only when
//!
//! - the request carries an `Idempotency-Key` header (the server deduplicates by it,
//!   as Stripe and the IETF `Idempotency-Key` draft describe), or
//! - the failure proves nothing was sent (DNS failure, connection refused, connect
//!   timeout: the request never left the machine).

use reqwest::header::HeaderMap;
use reqwest::Method;

/// The header that makes a non-idempotent request safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Whether RFC 9110 defines `method` as idempotent.
///
/// ```
/// use steady::{retry::is_idempotent, Method};
/// assert!(is_idempotent(&Method::PUT));
/// assert!(!is_idempotent(&Method::POST));
/// ```
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether a request with this method and these headers may be sent again after a
/// failure; `nothing_sent` says the failure proves the request never left.
pub fn may_replay(method: &Method, headers: &HeaderMap, nothing_sent: bool) -> bool {
    nothing_sent || is_idempotent(method) || headers.contains_key(IDEMPOTENCY_KEY)
}
