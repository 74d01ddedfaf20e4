//! Following redirects without leaking credentials.
//!
//! reqwest strips a fixed list of headers (`Authorization`, `Cookie`, ...) when a
//! redirect leaves the origin, but not an `X-Api-Key` or any other header that carries
//! a credential, and several clients have leaked exactly that way (requests
//! CVE-2018-18074, curl CVE-2018-1000007). steady follows redirects itself:
//!
//! - on any change of scheme, host or port, every credential header is removed:
//!   `Authorization`, `Cookie`, `Proxy-Authorization` and every header built from a
//!   [`crate::Secret`]; once removed they are never restored later in the chain (a to
//!   b/1 to b/2 stays stripped), and `127.0.0.1` to `localhost` counts as another host;
//! - a redirect from https to http is refused while credentials are set;
//! - only http and https targets are followed;
//! - `303 See Other` turns any method but HEAD into a GET without body; `301`/`302`
//!   turn a POST into a GET (what browsers and reqwest do); `307`/`308` keep both;
//! - at most `max` redirects (default 10), then the call fails as "too many".

use reqwest::header::{
    HeaderMap, HeaderName, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use reqwest::{Method, StatusCode, Url};

/// Default limit on redirects: 10, as curl, reqwest and browsers.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;

/// Whether and how far to follow redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirects {
    pub(crate) max: Option<usize>,
}

impl Redirects {
    /// Follow up to `max` redirects.
    pub fn follow(max: usize) -> Self {
        Redirects { max: Some(max) }
    }

    /// Do not follow: a 3xx ends the call as "redirect not followed".
    pub fn none() -> Self {
        Redirects { max: None }
    }
}

impl Default for Redirects {
    fn default() -> Self {
        Redirects::follow(DEFAULT_MAX_REDIRECTS)
    }
}

/// Headers that always carry credentials.
pub(crate) const ALWAYS_SENSITIVE: [HeaderName; 3] = [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION];

/// Where the next hop goes and how.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) url: Url,
    pub(crate) method: Method,
    /// The body and its headers are dropped.
    pub(crate) drop_body: bool,
    /// The origin changes: credentials must go.
    pub(crate) cross_origin: bool,
}

/// Works out the next hop of a redirect, or why it must not be followed.
pub(crate) fn next_hop(
    from: &Url,
    status: StatusCode,
    location: &str,
    method: &Method,
    has_credentials: bool,
) -> Result<Hop, String> {
    let url = from
        .join(location.trim())
        .map_err(|e| format!("Location '{}' is not a valid URL ({e})", excerpt(location)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "Location uses the '{}' scheme; only http and https are followed",
            url.scheme()
        ));
    }
    if from.scheme() == "https" && url.scheme() == "http" && has_credentials {
        return Err(
            "it goes from https to plain http while credentials are set, which would expose them"
                .to_owned(),
        );
    }
    let cross_origin = from.scheme() != url.scheme()
        || from.host_str() != url.host_str()
        || from.port_or_known_default() != url.port_or_known_default();
    let (method, drop_body) = match status.as_u16() {
        303 if *method != Method::HEAD => (Method::GET, true),
        301 | 302 if *method == Method::POST => (Method::GET, true),
        _ => (method.clone(), false),
    };
    Ok(Hop {
        url,
        method,
        drop_body,
        cross_origin,
    })
}

/// Removes the body headers of a request whose body is dropped.
pub(crate) fn drop_body_headers(headers: &mut HeaderMap) {
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        TRANSFER_ENCODING,
    ] {
        headers.remove(name);
    }
}

/// Removes every credential header: the always-sensitive ones and `extra`.
pub(crate) fn strip_credentials(headers: &mut HeaderMap, extra: &[HeaderName]) {
    for name in ALWAYS_SENSITIVE.iter().chain(extra) {
        headers.remove(name);
    }
}

fn excerpt(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn hop(
        from: &str,
        status: u16,
        location: &str,
        method: Method,
        creds: bool,
    ) -> Result<Hop, String> {
        next_hop(
            &url(from),
            StatusCode::from_u16(status).unwrap(),
            location,
            &method,
            creds,
        )
    }

    #[test]
    fn origin_changes_are_detected_for_scheme_host_port_and_subdomain() {
        let same = hop("http://a.test/x", 302, "/y", Method::GET, true).unwrap();
        assert!(!same.cross_origin);
        for target in [
            "http://b.test/",
            "http://a.test:8080/",
            "https://a.test/",
            "http://api.a.test/",
            "http://localhost/",
        ] {
            assert!(
                hop("http://a.test/x", 302, target, Method::GET, false)
                    .unwrap()
                    .cross_origin,
                "{target}"
            );
        }
        assert!(
            hop(
                "http://127.0.0.1:80/",
                302,
                "http://localhost:80/",
                Method::GET,
                false
            )
            .unwrap()
            .cross_origin
        );
        // The default port spelled out is the same origin.
        assert!(
            !hop(
                "http://a.test/x",
                302,
                "http://a.test:80/y",
                Method::GET,
                false
            )
            .unwrap()
            .cross_origin
        );
    }

    #[test]
    fn downgrade_with_credentials_and_odd_schemes_are_refused() {
        assert!(hop("https://a.test/", 302, "http://a.test/", Method::GET, true).is_err());
        assert!(hop("https://a.test/", 302, "http://a.test/", Method::GET, false).is_ok());
        for target in [
            "file:///etc/passwd",
            "ftp://a.test/",
            "javascript:alert(1)",
            "gopher://x/",
        ] {
            let err = hop("http://a.test/", 302, target, Method::GET, false).unwrap_err();
            assert!(err.contains("scheme"), "{target}: {err}");
        }
    }

    #[test]
    fn method_rewrites_follow_the_status() {
        let h = hop("http://a.test/", 303, "/done", Method::POST, false).unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, true));
        let h = hop("http://a.test/", 303, "/done", Method::HEAD, false).unwrap();
        assert_eq!((h.method, h.drop_body), (Method::HEAD, false));
        let h = hop("http://a.test/", 302, "/done", Method::POST, false).unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, true));
        for status in [307, 308] {
            let h = hop("http://a.test/", status, "/done", Method::POST, false).unwrap();
            assert_eq!((h.method, h.drop_body), (Method::POST, false));
        }
        let h = hop("http://a.test/", 302, "/done", Method::PUT, false).unwrap();
        assert_eq!((h.method, h.drop_body), (Method::PUT, false));
    }
}

/// A redirect the call followed: the 3xx answer and the URL that gave it (requests'
/// `Response.history`). The chain is in [`crate::Response::redirects`].
#[derive(Debug, Clone)]
pub struct Followed {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) url: reqwest::Url,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Followed {
    /// The redirect's status (301, 302, 303, 307, 308).
    pub fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    /// The URL that answered with the redirect.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The redirect's headers (`Location` among them).
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }
}
