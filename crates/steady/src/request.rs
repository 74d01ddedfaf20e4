//! Describing one call: method, URL, headers, body and credentials.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};

use crate::classify::AttemptView;
use crate::convert::{IntoHeaderName, IntoHeaderValue, IntoUrl};
use crate::redact::Scrubber;
use crate::retry::IDEMPOTENCY_KEY;
use crate::semantic::Checks;
#[cfg(feature = "jsonpath")]
use crate::semantic::Expectation;
use crate::{Client, Error, Response, Secret};

/// A request being described. Built by [`Client::get`], [`Client::request`], ...;
/// sent with [`RequestBuilder::send`]. Invalid parts (a bad URL, a header with a line
/// break) are remembered and reported by `send` before anything is sent.
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    pub(crate) client: Client,
    pub(crate) request: Result<Request, Error>,
}

/// A request ready to be sent, possibly several times.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    /// Headers that carry credentials beyond the always-sensitive ones.
    pub(crate) credential_headers: Vec<HeaderName>,
    pub(crate) secrets: Vec<Secret>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) retries: Option<u32>,
    pub(crate) checks: Checks,
    /// Where a successful body is streamed instead of memory.
    pub(crate) save_to: Option<PathBuf>,
    /// ... or the writer it is streamed to as it arrives.
    pub(crate) stream_to: Option<crate::download::Shared>,
    /// This call's body limit instead of the client's.
    pub(crate) max_body: Option<u64>,
    /// Headers steady would add that this call sends without (`-H 'User-Agent:'`).
    pub(crate) removed: Vec<HeaderName>,
    /// The guards' scope this call is counted in ([`RequestBuilder::scope`]).
    pub(crate) scope: Option<String>,
    /// Where an accepted answer's body is left unread ([`RequestBuilder::send_streaming`]).
    pub(crate) handover: Option<crate::stream::Slot>,
    /// A body streamed from the caller, sent once ([`RequestBuilder::body_stream`]).
    pub(crate) upload: Option<crate::stream::upload::Upload>,
}

impl Request {
    /// Adds a header; one the client counts as a credential is marked sensitive, kept
    /// from other origins and scrubbed from what comes back.
    fn add_header(&mut self, client: &Client, name: HeaderName, mut value: HeaderValue) {
        // A value the caller marked sensitive is a credential whatever its name.
        if client.is_sensitive(&name) || value.is_sensitive() {
            value.set_sensitive(true);
            if !self.credential_headers.contains(&name) {
                self.credential_headers.push(name.clone());
            }
            if let Ok(text) = value.to_str() {
                self.secrets.push(Secret::new(text.to_owned()));
                // A server may echo a part alone: each cookie's value, the token after
                // an authorization scheme (`Bearer X`, `token X`), Basic's password.
                let mut part = |p: &str| {
                    let p = p.trim();
                    if p.len() >= 4 {
                        self.secrets.push(Secret::new(p.to_owned()));
                    }
                };
                if name == reqwest::header::COOKIE {
                    for pair in text.split(';') {
                        if let Some((_, v)) = pair.split_once('=') {
                            part(v);
                        }
                    }
                } else if let Some((scheme, token)) = text.trim().split_once(' ') {
                    part(token);
                    if scheme.eq_ignore_ascii_case("basic") {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(token.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok());
                        if let Some((_, password)) =
                            decoded.as_deref().and_then(|d| d.split_once(':'))
                        {
                            part(password);
                        }
                    }
                }
            }
        }
        self.headers.append(name, value);
    }

    /// Credentials written in the URL (`https://user:pass@host/`) become a Basic
    /// `Authorization` header, as curl and reqwest send them, unless the request has one
    /// already; either way they leave the URL, which is never sent with them (HTTP/2
    /// would put them in `:authority`). The password stays a secret to scrub.
    fn move_url_credentials(&mut self) {
        if self.url.username().is_empty() && self.url.password().is_none() {
            return;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(self.url.username());
        let password = self.url.password().map(decode).unwrap_or_default();
        let _ = self.url.set_username("");
        let _ = self.url.set_password(None);
        if !password.is_empty() {
            self.secrets.push(Secret::new(password.clone()));
        }
        if self.headers.contains_key(AUTHORIZATION) {
            return;
        }
        let pair = format!("{user}:{password}");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
        if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {encoded}")) {
            value.set_sensitive(true);
            self.headers.insert(AUTHORIZATION, value);
            if !self.credential_headers.contains(&AUTHORIZATION) {
                self.credential_headers.push(AUTHORIZATION);
            }
            self.secrets.push(Secret::new(pair));
            self.secrets.push(Secret::new(encoded));
        }
    }

    /// The client's default headers this request does not set itself
    /// ([`crate::ClientBuilder::default_headers`]).
    pub(crate) fn add_defaults(&mut self, client: &Client) {
        self.move_url_credentials();
        let defaults = &client.inner.default_headers;
        if defaults.is_empty() {
            return;
        }
        for name in defaults.keys() {
            if self.headers.contains_key(name) || self.removed.contains(name) {
                continue;
            }
            for value in defaults.get_all(name) {
                self.add_header(client, name.clone(), value.clone());
            }
        }
    }

    /// Whether any credential is set, by a secret or by hand.
    pub(crate) fn has_credentials(&self) -> bool {
        !self.credential_headers.is_empty()
            || crate::redirect::ALWAYS_SENSITIVE
                .iter()
                .any(|h| self.headers.contains_key(h))
            || self.url.password().is_some()
    }

    /// The secrets to scrub from what this exchange brings back: the credentials, and
    /// the URL's own (its password, the values of `api_key=`-like query parameters),
    /// which a server may echo in its body.
    pub(crate) fn scrubber(&self) -> Scrubber {
        let mut secrets = self.secrets.clone();
        secrets.extend(crate::redact::url_secrets(&self.url));
        Scrubber::new(secrets)
    }
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: impl IntoUrl) -> Self {
        Self::with_url(client, method, url.into_url())
    }

    fn with_url(client: Client, method: Method, url: Result<Url, Error>) -> Self {
        let request = url.map(|url| Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            credential_headers: Vec::new(),
            secrets: Vec::new(),
            deadline: None,
            retries: None,
            checks: Checks::default(),
            save_to: None,
            stream_to: None,
            max_body: None,
            removed: Vec::new(),
            scope: None,
            handover: None,
            upload: None,
        });
        RequestBuilder { client, request }
    }

    pub(crate) fn with(mut self, f: impl FnOnce(&mut Request) -> Result<(), Error>) -> Self {
        if let Ok(request) = &mut self.request {
            if let Err(err) = f(request) {
                self.request = Err(err);
            }
        }
        self
    }

    /// Adds a header (appends; a header may repeat). A header whose name says it
    /// carries a credential (`X-Api-Key`, `X-Auth-Token`, ...; see
    /// [`crate::redact::is_credential_header`] and
    /// [`crate::ClientBuilder::sensitive_header`]) is treated as one: `****` in every
    /// log, error and report, and not sent across origins on a redirect.
    pub fn header(self, name: impl IntoHeaderName, value: impl IntoHeaderValue) -> Self {
        let client = self.client.clone();
        self.with(|r| {
            let name = name.into_header_name()?;
            let value = value.into_header_value(&name)?;
            r.add_header(&client, name, value);
            Ok(())
        })
    }

    /// Adds every header of `headers` (appends, as [`RequestBuilder::header`] does for
    /// each): values pass as they are, bytes that are not UTF-8 included.
    pub fn headers(self, headers: HeaderMap) -> Self {
        let client = self.client.clone();
        self.with(|r| {
            let mut name = None;
            for (next, value) in headers {
                // HeaderMap's owned iterator names a header once, before its first value.
                if let Some(next) = next {
                    name = Some(next);
                }
                if let Some(name) = &name {
                    r.add_header(&client, name.clone(), value);
                }
            }
            Ok(())
        })
    }

    /// A copy of this request, to send again or to change (`None` when the request
    /// streams its body into a writer or from a stream, which two sends cannot share,
    /// or when it is already invalid: `send` reports why).
    pub fn try_clone(&self) -> Option<RequestBuilder> {
        let request = self.request.as_ref().ok()?;
        if request.stream_to.is_some() || request.upload.is_some() {
            return None;
        }
        Some(RequestBuilder {
            client: self.client.clone(),
            request: Ok(request.clone()),
        })
    }

    /// Counts this call in the guards' scope `name` instead of its host's: its own
    /// circuit breaker, retry budget, rate limits, bulkhead and concurrency limit, so
    /// that a failing `/search` does not open the circuit for `/orders` on the same
    /// host. Default: the scope of the longest matching
    /// [`crate::ClientBuilder::scope_path`], else the host's.
    pub fn scope(self, name: &str) -> Self {
        let name = name.to_owned();
        self.with(|r| {
            r.scope = Some(name);
            Ok(())
        })
    }

    /// Sends the call without the header `name`: one set before on this request, and
    /// one steady would add itself (`User-Agent`, `Accept`, `Accept-Encoding`), as
    /// curl's `-H 'Name:'` does.
    pub fn without_header(self, name: &str) -> Self {
        self.with(|r| {
            let name = crate::convert::header_name(name)?;
            r.headers.remove(&name);
            r.removed.push(name);
            Ok(())
        })
    }

    /// Adds query parameters, percent-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        self.with(|r| {
            {
                let mut query = r.url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k.as_ref(), v.as_ref());
                }
            }
            Ok(())
        })
    }

    /// Sets a JSON body, `Content-Type: application/json` and, unless already set,
    /// `Accept: application/json, */*;q=0.5`.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.with(|r| {
            let body = serde_json::to_vec(value)
                .map_err(|e| Error::usage(format!("the JSON body cannot be serialized: {e}")))?;
            r.body = Some(Bytes::from(body));
            r.upload = None;
            r.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if !r.headers.contains_key(ACCEPT) {
                r.headers.insert(
                    ACCEPT,
                    HeaderValue::from_static("application/json, */*;q=0.5"),
                );
            }
            Ok(())
        })
    }

    /// Sets an HTML form body: `application/x-www-form-urlencoded` of `pairs`.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        let body = crate::multipart::urlencoded(pairs);
        self.with(move |r| {
            r.body = Some(Bytes::from(body.clone()));
            r.upload = None;
            r.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            Ok(())
        })
    }

    /// Sets a `multipart/form-data` body (fields and file uploads), built once so a
    /// retry sends the same bytes.
    pub fn multipart(self, form: crate::multipart::Multipart) -> Self {
        self.with(move |r| {
            r.body = Some(form.to_bytes());
            r.upload = None;
            r.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_str(&form.content_type())
                    .map_err(|e| Error::usage(format!("bad multipart content type: {e}")))?,
            );
            Ok(())
        })
    }

    /// Sets the body as it is.
    pub fn body(self, body: impl Into<Bytes>) -> Self {
        self.with(|r| {
            r.body = Some(body.into());
            r.upload = None;
            Ok(())
        })
    }

    /// `Authorization: Bearer <token>`, marked sensitive and redacted everywhere.
    pub fn bearer_auth(self, token: Secret) -> Self {
        let value = format!("Bearer {}", token.expose());
        self.secret_header_value(AUTHORIZATION, value, token, "the bearer token")
    }

    /// `Authorization: Basic <base64(user:password)>`, marked sensitive.
    pub fn basic_auth(self, user: &str, password: Secret) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.expose()));
        let user_secret = Secret::new(format!("{user}:{}", password.expose()));
        let encoded_secret = Secret::new(encoded.clone());
        self.secret_header_value(
            AUTHORIZATION,
            format!("Basic {encoded}"),
            password,
            "the basic-auth password",
        )
        .with(|r| {
            r.secrets.push(user_secret);
            r.secrets.push(encoded_secret);
            Ok(())
        })
    }

    /// A header whose value is a credential (`X-Api-Key`, ...): marked sensitive,
    /// stripped on cross-origin redirects, scrubbed from every message.
    pub fn secret_header(self, name: &str, value: Secret) -> Self {
        let parsed = HeaderName::from_bytes(name.as_bytes());
        let label = format!("the {name} header");
        match parsed {
            Ok(header) => {
                let raw = value.expose().to_owned();
                self.secret_header_value(header, raw, value, &label)
            }
            Err(_) => {
                self.with(|_| Err(Error::usage(format!("'{name}' is not a valid header name"))))
            }
        }
    }

    fn secret_header_value(
        self,
        name: HeaderName,
        raw: String,
        secret: Secret,
        label: &str,
    ) -> Self {
        self.with(|r| {
            if !secret.is_header_safe() {
                return Err(Error::usage(format!(
                    "{label} contains a CR, LF or NUL character; refused before sending (the value is not shown)"
                )));
            }
            let mut value = HeaderValue::from_str(&raw).map_err(|_| {
                Error::usage(format!(
                    "{label} contains characters not allowed in a header (the value is not shown)"
                ))
            })?;
            value.set_sensitive(true);
            r.headers.insert(name.clone(), value);
            if !r.credential_headers.contains(&name) {
                r.credential_headers.push(name);
            }
            r.secrets.push(secret);
            Ok(())
        })
    }

    /// `Idempotency-Key: <key>`, the same on every attempt, which makes a POST or
    /// PATCH safe to retry (the server deduplicates by the key).
    pub fn idempotency_key(self, key: &str) -> Self {
        self.with(|r| {
            let value = HeaderValue::from_str(key).map_err(|_| {
                Error::usage("the idempotency key contains characters not allowed in a header")
            })?;
            r.headers
                .insert(HeaderName::from_static(IDEMPOTENCY_KEY), value);
            Ok(())
        })
    }

    /// `Idempotency-Key` with a fresh random UUID, the same on every attempt.
    pub fn idempotency_key_auto(self) -> Self {
        let key = uuid::Uuid::new_v4().to_string();
        self.idempotency_key(&key)
    }

    /// A semantic expectation on the JSON body: `"$.items count > 0"`,
    /// `"$.status == \"ok\""` (grammar in [`crate::semantic::Expectation`]). A 2xx that
    /// fails it is a semantic failure, not retried. (Feature `jsonpath`.)
    #[cfg(feature = "jsonpath")]
    pub fn expect(self, expectation: &str) -> Self {
        self.with(|r| {
            let e = Expectation::parse(expectation)
                .map_err(|e| Error::usage(format!("expectation {e}")))?;
            r.checks.expect(e);
            Ok(())
        })
    }

    /// Polls: while this expectation fails on a 2xx, retry (same backoff, budget and
    /// deadline). For "wait until the job is done". (Feature `jsonpath`.)
    #[cfg(feature = "jsonpath")]
    pub fn until(self, expectation: &str) -> Self {
        self.with(|r| {
            let e = Expectation::parse(expectation)
                .map_err(|e| Error::usage(format!("--until {e}")))?;
            r.checks.until(e);
            Ok(())
        })
    }

    /// Accepts only these statuses; a listed non-2xx (say `404`) counts as success.
    pub fn expect_status(self, statuses: &[u16]) -> Self {
        self.with(|r| {
            r.checks.expect_status(statuses);
            Ok(())
        })
    }

    /// Accepts only this content type: `json`, or a fragment such as `text/csv`.
    pub fn expect_type(self, content_type: &str) -> Self {
        self.with(|r| {
            r.checks.expect_type(content_type);
            Ok(())
        })
    }

    /// Turns off error-in-2xx detection (`{"error": ...}` in a 200 is then data).
    pub fn allow_error_body(self) -> Self {
        self.with(|r| {
            r.checks.allow_error_body(true);
            Ok(())
        })
    }

    /// Turns off the check that a body labelled JSON parses, for an API that labels
    /// other things `application/json`. (JSON lines pass the check without this.)
    pub fn no_json_check(self) -> Self {
        self.with(|r| {
            r.checks.no_json_check(true);
            Ok(())
        })
    }

    /// A validator: `Err(reason)` makes a 2xx a semantic failure.
    ///
    /// ```
    /// # async fn run(client: steady::Client) {
    /// let resp = client
    ///     .get("https://api.example.com/report")
    ///     .validate(|r| match r.body() {
    ///         Some(b) if b.len() > 10 => Ok(()),
    ///         _ => Err("the report is empty".into()),
    ///     })
    ///     .send()
    ///     .await;
    /// # let _ = resp;
    /// # }
    /// ```
    pub fn validate(
        self,
        validator: impl Fn(&AttemptView<'_>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.with(|r| {
            r.checks.validate(std::sync::Arc::new(validator));
            Ok(())
        })
    }

    /// The most retries for this call only, instead of the client's
    /// [`Retry::max_retries`](crate::Retry::max_retries) (the backoff, `Retry-After`
    /// and every other rule stay the client's). A job runner that already spent some of
    /// an item's attempts passes what is left.
    pub fn retries(self, retries: u32) -> Self {
        self.with(|r| {
            r.retries = Some(retries);
            Ok(())
        })
    }

    /// A deadline for this call only, instead of the client's.
    pub fn timeout(self, deadline: Duration) -> Self {
        self.with(|r| {
            r.deadline = Some(deadline);
            Ok(())
        })
    }

    /// Writes the body of the successful response to `writer` as it arrives (flushed
    /// after each chunk), instead of keeping it in memory: `steady get URL | tool`.
    /// Only when no check needs the body whole: a JSON body (the error-in-200 check)
    /// or one with expectations is read into memory as usual, and
    /// [`Response::bytes`] holds it. Otherwise [`Response::bytes`] is empty and
    /// [`Response::saved_bytes`] says how much was written. Error answers are not
    /// written. Once a byte is out, a body cut short is not retried (what was written
    /// cannot be taken back): the call fails with the transport fault and a note. A
    /// client that hedges reads the body into memory instead (two answers may race).
    ///
    /// [`Response::bytes`]: crate::Response::bytes
    /// [`Response::saved_bytes`]: crate::Response::saved_bytes
    pub fn stream_to(self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.with(|r| {
            r.stream_to = Some(crate::download::Shared::new(Box::new(writer)));
            Ok(())
        })
    }

    /// Streams the body of the successful response into the file at `path` instead of
    /// memory ([`crate::download`]): decoded, written to a temporary file beside it and
    /// renamed into place only when the call succeeds, so `path` is either the whole
    /// body or untouched. A body cut short is downloaded again from the start on the
    /// next attempt. Error answers are not written. No size limit applies unless
    /// [`RequestBuilder::max_body`] sets one; a JSON body (or one with expectations)
    /// no larger than the client's body limit is read back for the semantic checks.
    ///
    /// [`Response::bytes`] is then empty; [`Response::saved_to`] and
    /// [`Response::saved_bytes`] say where and how much.
    ///
    /// # Errors
    /// `send` fails with [`Error::kind`] `save` (layer usage) before anything is sent
    /// when the file cannot be created in that folder, and after the download when it
    /// cannot be written (disk full); the destination is then left as it was.
    ///
    /// ```no_run
    /// # async fn run(client: steady::Client) -> Result<(), steady::Error> {
    /// let resp = client
    ///     .get("https://example.com/export.csv")
    ///     .save_to("export.csv")
    ///     .send()
    ///     .await?;
    /// println!("{} bytes", resp.saved_bytes().unwrap_or(0));
    /// # Ok(()) }
    /// ```
    pub fn save_to(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.with(|r| {
            r.save_to = Some(path);
            Ok(())
        })
    }

    /// The largest body accepted for this call, counted after decompression, instead
    /// of the client's [`crate::ClientBuilder::max_body`] (for [`RequestBuilder::save_to`],
    /// instead of no limit).
    pub fn max_body(self, bytes: u64) -> Self {
        self.with(|r| {
            r.max_body = Some(bytes);
            Ok(())
        })
    }

    /// Sends the request: every attempt, wait and redirect under one deadline.
    ///
    /// # Errors
    /// An [`Error`] saying which layer failed, what the server said and what steady
    /// tried; see [`crate::error`].
    pub async fn send(self) -> Result<Response, Error> {
        let request = self.request?;
        // The call's state machine is large (guards, retries, redirects, the exchange);
        // boxing it keeps the caller's future small, so spawning many calls does not
        // copy kilobytes per task.
        Box::pin(self.client.execute(request)).await
    }
}
