//! What the builders accept: a URL, a header name and a header value, as text or as
//! the typed values `http` and `url` give (`Url`, `HeaderName`, `HeaderValue`).
//!
//! Why traits of steady's own rather than `TryInto`: text is checked by steady with
//! errors that name what was wrong (`'x y' is not a valid header name`; a value with a
//! line break refused before anything is sent), while typed values, already valid,
//! pass as they are (a `HeaderValue` of bytes that are not UTF-8 included). A failed
//! conversion is remembered by the request and reported by `send`, as every other
//! invalid part is. The traits are sealed: the set of accepted types is steady's to
//! grow.
//!
//! ```
//! use steady::header::{HeaderName, HeaderValue};
//! # fn run(client: steady::Client, base: steady::Url) {
//! let url: String = format!("{base}orders");
//! let request = client
//!     .get(url)                                    // a String, &str, Url or &Url
//!     .header(HeaderName::from_static("x-trace"), HeaderValue::from_bytes(b"\xfe").unwrap())
//!     .header("Accept-Language", "en");
//! # let _ = request; }
//! ```

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;

use crate::Error;

mod sealed {
    pub trait Sealed {}
}

/// A URL to call: `&str`, `String`, `&String`, [`Url`] or `&Url`.
pub trait IntoUrl: sealed::Sealed {
    /// The URL, checked: http or https, with a host.
    #[doc(hidden)]
    fn into_url(self) -> Result<Url, Error>;
}

/// A header name: `&str`, `String`, `&String`, [`HeaderName`] or `&HeaderName`.
pub trait IntoHeaderName: sealed::Sealed {
    /// The name, checked.
    #[doc(hidden)]
    fn into_header_name(self) -> Result<HeaderName, Error>;
}

/// A header value: `&str`, `String`, `&String`, [`HeaderValue`] or `&HeaderValue`.
pub trait IntoHeaderValue: sealed::Sealed {
    /// The value, checked (text only: a `HeaderValue` is valid already), for the
    /// header `name`.
    #[doc(hidden)]
    fn into_header_value(self, name: &HeaderName) -> Result<HeaderValue, Error>;
}

impl sealed::Sealed for &str {}
impl sealed::Sealed for String {}
impl sealed::Sealed for &String {}
impl sealed::Sealed for Url {}
impl sealed::Sealed for &Url {}
impl sealed::Sealed for HeaderName {}
impl sealed::Sealed for &HeaderName {}
impl sealed::Sealed for HeaderValue {}
impl sealed::Sealed for &HeaderValue {}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Error> {
        parse_url(self)
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Error> {
        parse_url(&self)
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Error> {
        parse_url(self)
    }
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Error> {
        check_url(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, Error> {
        check_url(self.clone())
    }
}

impl IntoHeaderName for &str {
    fn into_header_name(self) -> Result<HeaderName, Error> {
        header_name(self)
    }
}

impl IntoHeaderName for String {
    fn into_header_name(self) -> Result<HeaderName, Error> {
        header_name(&self)
    }
}

impl IntoHeaderName for &String {
    fn into_header_name(self) -> Result<HeaderName, Error> {
        header_name(self)
    }
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> Result<HeaderName, Error> {
        Ok(self)
    }
}

impl IntoHeaderName for &HeaderName {
    fn into_header_name(self) -> Result<HeaderName, Error> {
        Ok(self.clone())
    }
}

impl IntoHeaderValue for &str {
    fn into_header_value(self, name: &HeaderName) -> Result<HeaderValue, Error> {
        header_value(name, self)
    }
}

impl IntoHeaderValue for String {
    fn into_header_value(self, name: &HeaderName) -> Result<HeaderValue, Error> {
        header_value(name, &self)
    }
}

impl IntoHeaderValue for &String {
    fn into_header_value(self, name: &HeaderName) -> Result<HeaderValue, Error> {
        header_value(name, self)
    }
}

impl IntoHeaderValue for HeaderValue {
    fn into_header_value(self, _: &HeaderName) -> Result<HeaderValue, Error> {
        Ok(self)
    }
}

impl IntoHeaderValue for &HeaderValue {
    fn into_header_value(self, _: &HeaderName) -> Result<HeaderValue, Error> {
        Ok(self.clone())
    }
}

/// Parses and checks a URL given as text; the error shows it redacted.
pub(crate) fn parse_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text.trim()).map_err(|e| {
        let shown = crate::redact::redact_text_url(text);
        Error::usage(format!("'{shown}' is not a valid URL: {e}"))
    })?;
    check_url(url)
}

/// Refuses what steady cannot call: other schemes, no host.
pub(crate) fn check_url(url: Url) -> Result<Url, Error> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Error::usage(format!(
                "unsupported URL scheme '{other}': steady speaks http and https"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::usage("the URL has no host"));
    }
    Ok(url)
}

/// A header name given as text, trimmed.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::usage(format!("'{name}' is not a valid header name")))
}

/// A header value given as text, trimmed; a line break or NUL is refused.
fn header_value(name: &HeaderName, value: &str) -> Result<HeaderValue, Error> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(Error::usage(format!(
            "the value of header {name} contains a CR, LF or NUL character; refused before sending"
        )));
    }
    HeaderValue::from_str(value.trim()).map_err(|_| {
        Error::usage(format!(
            "the value of header {name} is not valid in a header"
        ))
    })
}
