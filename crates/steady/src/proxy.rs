//! Proxies, the way curl reads them.
//!
//! By default a client uses the proxies named in the environment: `https_proxy` /
//! `HTTPS_PROXY` for https URLs, `http_proxy` (and `HTTP_PROXY`, except under CGI,
//! where a request header could set it: httpoxy) for http URLs, `all_proxy` /
//! `ALL_PROXY` for both, minus the hosts in `no_proxy` / `NO_PROXY`: domains (which
//! match their subdomains, with or without a leading dot), IP addresses, CIDR ranges
//! (`10.0.0.0/8`) and `*` for every host. [`ClientBuilder::proxy`] names one proxy
//! for every scheme instead; [`ClientBuilder::no_proxy_for`] replaces the bypass
//! list (`*` turns proxies off).
//!
//! Credentials in a proxy URL (`http://user:pass@proxy:3128`) go to the proxy only,
//! as `Proxy-Authorization`: on the request line of plain-http requests, which the
//! proxy consumes, and on the `CONNECT` of https tunnels, never inside them. They are
//! redacted wherever steady prints the proxy.
//!
//! Why steady reads the environment itself instead of leaving it to reqwest: an
//! explicit bypass list must apply to the environment's proxies as well, and
//! reqwest only offers one or the other.
//!
//! [`ClientBuilder::proxy`]: crate::ClientBuilder::proxy
//! [`ClientBuilder::no_proxy_for`]: crate::ClientBuilder::no_proxy_for

use crate::Error;

/// Which proxies a client uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proxies {
    /// One proxy for every scheme (`--proxy`).
    pub(crate) explicit: Option<String>,
    /// The bypass list (`--no-proxy`), replacing `NO_PROXY`.
    pub(crate) bypass: Option<String>,
}

/// `reqwest::Proxy::http`, `https` or `all`.
type MakeProxy = fn(&str) -> reqwest::Result<reqwest::Proxy>;

/// Reads the first set, non-empty variable of `names`.
fn env(names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| ((*name).to_owned(), v.trim().to_owned()))
    })
}

impl Proxies {
    /// Whether any proxy may apply to this client's requests (else they all go
    /// direct, and steady's own hyper client carries them).
    pub(crate) fn any(&self) -> bool {
        let bypass = match &self.bypass {
            Some(list) => Some(list.clone()),
            None => env(&["NO_PROXY", "no_proxy"]).map(|(_, v)| v),
        };
        if bypass.as_deref().map(str::trim) == Some("*") {
            return false;
        }
        self.explicit.is_some()
            || env(&[
                "http_proxy",
                "HTTP_PROXY",
                "https_proxy",
                "HTTPS_PROXY",
                "all_proxy",
                "ALL_PROXY",
            ])
            .is_some()
    }

    /// Onto reqwest's builder.
    ///
    /// # Errors
    /// A proxy URL that does not parse, naming where it came from.
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, Error> {
        // steady decides; reqwest's own reading of the environment is off.
        let mut builder = builder.no_proxy();
        let bypass_text = match &self.bypass {
            Some(list) => Some(list.clone()),
            None => env(&["NO_PROXY", "no_proxy"]).map(|(_, v)| v),
        };
        if bypass_text.as_deref().map(str::trim) == Some("*") {
            return Ok(builder);
        }
        let bypass = bypass_text
            .as_deref()
            .and_then(reqwest::NoProxy::from_string);
        let mut proxies: Vec<(String, String, MakeProxy)> = Vec::new();
        if let Some(url) = &self.explicit {
            proxies.push(("--proxy".into(), url.clone(), |u| reqwest::Proxy::all(u)));
        } else {
            // Under CGI, HTTP_PROXY may come from a request header (httpoxy).
            let http_names: &[&str] = if std::env::var_os("REQUEST_METHOD").is_some() {
                &["http_proxy"]
            } else {
                &["http_proxy", "HTTP_PROXY"]
            };
            if let Some((name, url)) = env(http_names) {
                proxies.push((name, url, |u| reqwest::Proxy::http(u)));
            }
            if let Some((name, url)) = env(&["https_proxy", "HTTPS_PROXY"]) {
                proxies.push((name, url, |u| reqwest::Proxy::https(u)));
            }
            if let Some((name, url)) = env(&["all_proxy", "ALL_PROXY"]) {
                proxies.push((name, url, |u| reqwest::Proxy::all(u)));
            }
        }
        for (source, url, make) in proxies {
            // A bare host:port means http://host:port, as in curl.
            let url = if url.contains("://") {
                url
            } else {
                format!("http://{url}")
            };
            let shown = crate::redact::redact_text_url(&url);
            match reqwest::Url::parse(&url).map(|u| u.scheme().to_owned()) {
                Ok(scheme) if scheme == "http" || scheme == "https" => {}
                Ok(scheme) => {
                    return Err(Error::usage(format!(
                    "{source} '{shown}': proxy scheme '{scheme}' is not supported (http or https)"
                )))
                }
                Err(e) => {
                    return Err(Error::usage(format!(
                        "{source} '{shown}' is not a proxy URL: {e}"
                    )))
                }
            }
            let proxy = make(&url)
                .map_err(|e| Error::usage(format!("{source} '{shown}' is not a proxy URL: {e}")))?;
            builder = builder.proxy(proxy.no_proxy(bypass.clone()));
        }
        Ok(builder)
    }
}
