//! Credentials as a type that cannot leak by accident.
//!
//! Tokens end up in logs because they are strings: a `{:?}` of a request, an error that
//! quotes a header, a URL with `?api_key=` in a trace. A [`Secret`] prints `****` in
//! `Debug` and `Display`; the only way to the value is [`Secret::expose`]. Headers built
//! from a secret are marked sensitive, stripped on cross-origin redirects, and the
//! value is scrubbed from every message and report steady produces.

use std::fmt;

/// A credential: a token, a password, an API key. Prints as `****`.
///
/// ```
/// let token = steady::Secret::new("s3cr3t");
/// assert_eq!(format!("{token} {token:?}"), "**** ****");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into_boxed_str())
    }

    /// The credential itself. Only for building the header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is safe to put in a header: no CR, LF or NUL, which would let
    /// the value end the header and inject others (header injection).
    pub fn is_header_safe(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}
