//! `steady._steady.Client`: the policies, the guard state and the calls of one
//! `steady.Client` (or `Session`, `AsyncClient`) on the Python side.

use std::collections::HashMap;
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use steady::header::{HeaderName, HeaderValue};
use steady::{Fallback, Method, RequestBuilder, Secret, Url};

use crate::args::{bytes_item, duration_item, item};
use crate::config::{Config, Shared};
use crate::convert::{Done, ErrInfo, RespInfo};
use crate::logs::{call_id, CALL, WARNING};
use crate::wait::{runtime, wait};

/// The most steady clients one Python client keeps (one per timeouts and redirect
/// policy asked for).
const MAX_VARIANTS: usize = 16;

/// The steady clients of one Python client, by (connect, read, follow redirects).
type Variants = HashMap<(Duration, Duration, bool), steady::Client>;

/// The compiled core of a Python `steady.Client`; see the Python class for the
/// documentation of each setting.
#[pyclass(frozen, module = "steady._steady")]
pub(crate) struct Client {
    config: Config,
    shared: Shared,
    clients: Mutex<Variants>,
    /// The process that made it: its connections and state file belong to that one.
    pid: u32,
}

/// A call ready to go: nothing below fails for a reason of the caller's.
struct Prepared {
    client: steady::Client,
    request: RequestBuilder,
    fallbacks: Vec<Fallback>,
}

impl Prepared {
    async fn run(self) -> Done {
        let Prepared {
            client,
            request,
            fallbacks,
        } = self;
        let mut fallbacks = fallbacks.into_iter();
        let Some(first) = fallbacks.next() else {
            return match request.send().await {
                Ok(resp) => Done::Answered(RespInfo::of(&resp, "network", None)),
                Err(err) => Done::Failed(ErrInfo::of(&err, Some(&client))),
            };
        };
        let request = fallbacks.fold(request.fallback(first), |r, f| r.fallback(f));
        match request.send().await {
            Ok(outcome) => {
                let degraded = outcome
                    .degraded_by()
                    .map(|err| ErrInfo::of(err, Some(&client)));
                Done::Answered(RespInfo::of(
                    outcome.response(),
                    outcome.source().name(),
                    degraded,
                ))
            }
            Err(err) => Done::Failed(ErrInfo::of(&err, Some(&client))),
        }
    }
}

impl Prepared {
    /// Runs the call up to the head and keeps the body on the wire (`stream=True`),
    /// or subscribes to its server-sent events (`events`).
    async fn stream(self, events: bool) -> (Done, Option<Source>) {
        let started = if events {
            self.request.send_events().await.map(|e| {
                let info = RespInfo::of(e.response(), "network", None);
                (info, Source::Events(e))
            })
        } else {
            self.request.send_streaming().await.map(|s| {
                let info = RespInfo::of(s.response(), "network", None);
                (info, Source::Bytes(s))
            })
        };
        match started {
            Ok((info, source)) => (Done::Answered(info), Some(source)),
            Err(err) => (Done::Failed(ErrInfo::of(&err, Some(&self.client))), None),
        }
    }
}

/// What a `Body` reads: a response body's bytes, or an event stream's events.
enum Source {
    Bytes(steady::Streaming),
    Events(steady::Events),
}

/// One piece of a `Body`.
enum Piece {
    Bytes(bytes::Bytes),
    Event(steady::Event),
}

impl Source {
    async fn next(&mut self) -> Option<Result<Piece, steady::Error>> {
        use futures_util::StreamExt as _;
        match self {
            Source::Bytes(s) => s.next().await.map(|r| r.map(Piece::Bytes)),
            Source::Events(e) => e.next().await.map(|r| r.map(Piece::Event)),
        }
    }
}

/// A response body still on the wire (`stream=True`), or an event stream (`events`),
/// read piece by piece with the GIL released; closed when dropped.
#[pyclass(frozen, module = "steady._steady")]
pub(crate) struct Body {
    state: Mutex<BodyState>,
    client: steady::Client,
}

enum BodyState {
    /// Between two reads.
    Idle(Box<Source>),
    /// A thread is reading; `close` asks that what it reads be dropped.
    Reading { close: bool },
    /// Read to its end, broken, or closed.
    Closed,
    /// A read was interrupted (Ctrl-C): what follows is not the rest of the body.
    Interrupted,
}

impl Body {
    fn state(&self) -> std::sync::MutexGuard<'_, BodyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl Body {
    /// The next piece, decoded: `(True, bytes)` (an event stream's: `(True, (id,
    /// event, data, retry seconds or None))`), `(True, None)` at the end (or after
    /// `close`), or `(False, error dict)` when the body broke (nothing more is read
    /// then). Raises RuntimeError when another thread is reading it, or after a read
    /// was interrupted.
    fn next<'py>(&self, py: Python<'py>) -> PyResult<(bool, Option<Bound<'py, PyAny>>)> {
        let mut streaming = {
            let mut state = self.state();
            match std::mem::replace(&mut *state, BodyState::Reading { close: false }) {
                BodyState::Idle(streaming) => streaming,
                BodyState::Closed => {
                    *state = BodyState::Closed;
                    return Ok((true, None));
                }
                reading @ BodyState::Reading { .. } => {
                    *state = reading;
                    return Err(PyRuntimeError::new_err(
                        "another thread is reading this response's body",
                    ));
                }
                BodyState::Interrupted => {
                    *state = BodyState::Interrupted;
                    return Err(PyRuntimeError::new_err(
                        "a read of this response's body was interrupted: the rest of it cannot be read",
                    ));
                }
            }
        };
        let read = wait(
            py,
            async move {
                let piece = streaming.next().await;
                (streaming, piece)
            },
            |_| {},
        );
        let mut state = self.state();
        let (streaming, piece) = match read {
            Ok(read) => read,
            Err(interrupted) => {
                *state = BodyState::Interrupted;
                return Err(interrupted);
            }
        };
        if let BodyState::Reading { close: true } = *state {
            *state = BodyState::Closed;
            return Ok((true, None));
        }
        match piece {
            Some(Ok(piece)) => {
                *state = BodyState::Idle(streaming);
                let piece = match piece {
                    Piece::Bytes(bytes) => PyBytes::new(py, &bytes).into_any(),
                    Piece::Event(e) => (
                        e.id(),
                        e.event(),
                        e.data(),
                        e.retry().map(|r| r.as_secs_f64()),
                    )
                        .into_pyobject(py)?
                        .into_any(),
                };
                Ok((true, Some(piece)))
            }
            None => {
                *state = BodyState::Closed;
                Ok((true, None))
            }
            Some(Err(err)) => {
                *state = BodyState::Closed;
                Ok((
                    false,
                    Some(
                        ErrInfo::of(&err, Some(&self.client))
                            .to_dict(py)?
                            .into_any(),
                    ),
                ))
            }
        }
    }

    /// Drops the rest of the body (and its connection); a read in progress ends with
    /// what it was reading dropped.
    fn close(&self) {
        let mut state = self.state();
        match &mut *state {
            BodyState::Reading { close } => *close = true,
            BodyState::Idle(_) => *state = BodyState::Closed,
            BodyState::Closed | BodyState::Interrupted => {}
        }
    }
}

/// Cancels an async call whose asyncio future was cancelled.
#[pyclass(frozen, module = "steady._steady")]
pub(crate) struct Abort {
    handle: tokio::task::AbortHandle,
}

#[pymethods]
impl Abort {
    /// Cancels the call: its connection is dropped, nothing more is sent.
    fn abort(&self) {
        self.handle.abort();
    }
}

/// An async call's end, on its way to its event loop.
struct Delivery {
    end: Done,
    log: std::sync::Arc<crate::logs::LogSink>,
    /// The call whose log lines go with it.
    call: u64,
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    done: Py<PyAny>,
}

/// Hands an async call's end to one thread that takes the GIL and tells the event
/// loops, so that no runtime thread ever waits for the GIL (the loop's thread holds
/// it while it runs): the runtime keeps every other call moving. Ends that arrive
/// while it waits are told together, under one acquisition.
fn deliver(delivery: Delivery) {
    static QUEUE: OnceLock<mpsc::Sender<Delivery>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Delivery>();
        std::thread::Builder::new()
            .name("steady-asyncio".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    Python::attach(|py| {
                        for d in std::iter::once(first).chain(rx.try_iter()) {
                            let told = d.end.to_py(py).and_then(|(ok, dict)| {
                                d.event_loop.call_method1(
                                    py,
                                    "call_soon_threadsafe",
                                    (d.done, d.future, ok, dict, d.log.drain(d.call)),
                                )
                            });
                            // A loop closed meanwhile has no one to tell.
                            drop(told);
                        }
                    });
                }
            })
            .expect("steady cannot start its asyncio delivery thread");
        tx
    });
    let sent = queue.send(delivery);
    // The thread lives as long as the process.
    drop(sent);
}

/// The result of `send`: `(answered, dict, log lines)`.
type Sent<'py> = (bool, Bound<'py, PyDict>, Vec<(u8, String)>);

/// The result of `send_stream`: `send`'s, and the body still on the wire.
type Streamed<'py> = (bool, Bound<'py, PyDict>, Vec<(u8, String)>, Option<Body>);

#[pymethods]
impl Client {
    #[new]
    fn new(settings: &Bound<'_, PyDict>) -> PyResult<Self> {
        let config = Config::from_dict(settings)?;
        let state = item::<String>(settings, "state")?;
        let cookies = item::<bool>(settings, "cookies")?.unwrap_or(false);
        let shared = Shared::open(state.as_deref(), cookies)?;
        let client = Client {
            config,
            shared,
            clients: Mutex::new(HashMap::new()),
            pid: std::process::id(),
        };
        // Bad settings fail here, not on the first call.
        let timeouts = client.config.timeouts;
        client.variant(timeouts.connect, timeouts.read, true)?;
        Ok(client)
    }

    /// A client with other settings (a mounted adapter's retries) that shares this
    /// one's guard state, cookies and log: one Session, one set of cookies and guards.
    fn derive(&self, settings: &Bound<'_, PyDict>) -> PyResult<Self> {
        let client = Client {
            config: Config::from_dict(settings)?,
            shared: self.shared.clone(),
            clients: Mutex::new(HashMap::new()),
            pid: std::process::id(),
        };
        let timeouts = client.config.timeouts;
        client.variant(timeouts.connect, timeouts.read, true)?;
        Ok(client)
    }

    /// Sends a call and waits for its end, the GIL released; Ctrl-C cancels it.
    fn send<'py>(&self, py: Python<'py>, call: &Bound<'py, PyDict>) -> PyResult<Sent<'py>> {
        self.shared
            .log
            .set_level(item::<u8>(call, "log_level")?.unwrap_or(WARNING));
        let id = call_id();
        let done = match self.prepare(call)? {
            Ok(prepared) => wait(py, CALL.scope(id, prepared.run()), |_| {})?,
            Err(usage) => Done::Failed(usage.into_info()),
        };
        let (ok, dict) = done.to_py(py)?;
        Ok((ok, dict, self.shared.log.drain(id)))
    }

    /// As `send`, but the body of an answer is left on the wire and read through the
    /// returned `Body` (`stream=True`). A call with fallbacks or expectations, which
    /// need the body whole, is sent as `send` sends it (and returns no `Body`).
    fn send_stream<'py>(
        &self,
        py: Python<'py>,
        call: &Bound<'py, PyDict>,
    ) -> PyResult<Streamed<'py>> {
        self.open(py, call, false)
    }

    /// Subscribes to the server-sent events of the call's URL: `send_stream`'s answer,
    /// the `Body` giving one event at a time (reconnecting with `Last-Event-ID`).
    fn send_events<'py>(
        &self,
        py: Python<'py>,
        call: &Bound<'py, PyDict>,
    ) -> PyResult<Streamed<'py>> {
        self.open(py, call, true)
    }

    /// Starts a call for asyncio: when it ends, `done(future, answered, dict, log
    /// lines)` is scheduled on `event_loop` with `call_soon_threadsafe`. Returns the
    /// handle that cancels it, or the usage error found before anything was sent.
    fn start<'py>(
        &self,
        py: Python<'py>,
        call: &Bound<'py, PyDict>,
        event_loop: Py<PyAny>,
        future: Py<PyAny>,
        done: Py<PyAny>,
    ) -> PyResult<(Option<Abort>, Option<Sent<'py>>)> {
        self.shared
            .log
            .set_level(item::<u8>(call, "log_level")?.unwrap_or(WARNING));
        let id = call_id();
        let prepared = match self.prepare(call)? {
            Ok(prepared) => prepared,
            Err(usage) => {
                let (ok, dict) = Done::Failed(usage.into_info()).to_py(py)?;
                return Ok((None, Some((ok, dict, self.shared.log.drain(id)))));
            }
        };
        let log = self.shared.log.clone();
        let task = runtime().spawn(CALL.scope(id, async move {
            let end = prepared.run().await;
            deliver(Delivery {
                end,
                log,
                call: id,
                event_loop,
                future,
                done,
            });
        }));
        Ok((
            Some(Abort {
                handle: task.abort_handle(),
            }),
            None,
        ))
    }

    /// Writes the cookies held to `path` in curl's cookies.txt format; false when the
    /// client keeps no cookies.
    fn save_cookies(&self, path: &str) -> PyResult<bool> {
        match &self.shared.jar {
            Some(jar) => jar
                .save_netscape(std::path::Path::new(path))
                .map(|()| true)
                .map_err(|e| PyValueError::new_err(e.to_string())),
            None => Ok(false),
        }
    }

    /// The phase of the circuit of the host of `url`: `closed`, `open` or `half_open`.
    fn circuit(&self, url: &str) -> PyResult<&'static str> {
        let timeouts = self.config.timeouts;
        let client = self.variant(timeouts.connect, timeouts.read, true)?;
        let state = client
            .host_state(url)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(state.breaker.phase().name())
    }
}

impl Client {
    /// The steady client for these timeouts and redirect policy, built on first use.
    fn variant(&self, connect: Duration, read: Duration, follow: bool) -> PyResult<steady::Client> {
        if self.pid != std::process::id() {
            // Its pooled connections run on the parent's threads, which a forked child
            // does not have: a call would only wait for its deadline.
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this steady Client was made before os.fork(): its connections belong to \
                 the parent process; make a new Client in the child",
            ));
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&(connect, read, follow)) {
            return Ok(client.clone());
        }
        let client = self
            .config
            .build(connect, read, follow, &self.shared)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // A caller that computes its timeouts anew for each call must not grow this
        // without bound: past the limit one is dropped (only its idle connections go;
        // the guard state is shared).
        if clients.len() >= MAX_VARIANTS {
            if let Some(key) = clients.keys().next().copied() {
                clients.remove(&key);
            }
        }
        clients.insert((connect, read, follow), client.clone());
        Ok(client)
    }

    /// The call described by `call`, or the usage error that stops it before anything
    /// is sent. Programming errors of the Python side (a wrong type) raise.
    fn prepare(&self, call: &Bound<'_, PyDict>) -> PyResult<Result<Prepared, Usage>> {
        let method = item::<String>(call, "method")?.unwrap_or_else(|| "GET".into());
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            PyValueError::new_err(format!("method: '{method}' is not an HTTP method"))
        })?;
        let url = item::<String>(call, "url")?.unwrap_or_default();
        let url = match check_url(&url) {
            Ok(url) => url,
            Err(usage) => return Ok(Err(usage)),
        };
        let timeouts = self.config.timeouts;
        let connect = duration_item(call, "connect_timeout")?.unwrap_or(timeouts.connect);
        let read = duration_item(call, "read_timeout")?.unwrap_or(timeouts.read);
        let follow = item::<bool>(call, "allow_redirects")?.unwrap_or(true);
        let client = self.variant(connect, read, follow)?;
        let mut r = client.request_url(method, url);

        for (name, value) in item::<Vec<(String, String)>>(call, "headers")?.unwrap_or_default() {
            if HeaderName::from_bytes(name.trim().as_bytes()).is_err() {
                return Ok(Err(Usage::new(
                    "invalid_header",
                    format!("'{name}' is not a valid header name"),
                )));
            }
            if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
                || HeaderValue::from_str(value.trim()).is_err()
            {
                // The value may be a credential: it is not shown.
                return Ok(Err(Usage::new(
                    "invalid_header",
                    format!(
                        "the value of header {name} contains characters not allowed in a header (a CR, LF, NUL or a non-ASCII character); nothing was sent"
                    ),
                )));
            }
            r = match bearer_token(&name, &value) {
                // The token alone is the secret a server may echo: steady scrubs it then.
                Some(token) => r.bearer_auth(Secret::new(token)),
                None => r.header(&name, &value),
            };
        }
        if let Some(body) = bytes_item(call, "body")? {
            r = r.body(body);
        }
        if let Some(form) = item::<Vec<(String, String)>>(call, "form")? {
            r = r.form(&form);
        }
        if let Some(parts) = call.get_item("multipart")?.filter(|p| !p.is_none()) {
            r = r.multipart(multipart(parts.cast::<PyList>()?)?);
        }
        if let Some((user, password)) = item::<(String, String)>(call, "auth")? {
            r = r.basic_auth(&user, Secret::new(password));
        }
        if let Some(deadline) = duration_item(call, "deadline")? {
            r = r.timeout(deadline);
        }
        if let Some(retries) = item::<u32>(call, "retries")? {
            r = r.retries(retries);
        }
        match item::<String>(call, "idempotency_key")?.as_deref() {
            Some("auto") => r = r.idempotency_key_auto(),
            Some(key) => r = r.idempotency_key(key),
            None => {}
        }
        for expectation in item::<Vec<String>>(call, "expect")?.unwrap_or_default() {
            steady::semantic::Expectation::parse(&expectation)
                .map_err(|e| PyValueError::new_err(format!("expect: {e}")))?;
            r = r.expect(&expectation);
        }
        if let Some(statuses) = item::<Vec<u16>>(call, "expect_status")? {
            r = r.expect_status(&statuses);
        }
        if item::<bool>(call, "allow_error_body")?.unwrap_or(false) {
            r = r.allow_error_body();
        }
        if let Some(max) = item::<u64>(call, "max_body")? {
            r = r.max_body(max);
        }
        let fallbacks = match call.get_item("fallbacks")?.filter(|f| !f.is_none()) {
            Some(list) => fallbacks(list.cast::<PyList>()?)?,
            None => Vec::new(),
        };
        Ok(Ok(Prepared {
            client,
            request: r,
            fallbacks,
        }))
    }
}

impl Client {
    /// `send_stream` (`events` false) or `send_events`: the call up to its head, and
    /// the body or event stream left to read. A call with fallbacks or expectations,
    /// which need the body whole, is sent as `send` sends it (and returns no `Body`).
    fn open<'py>(
        &self,
        py: Python<'py>,
        call: &Bound<'py, PyDict>,
        events: bool,
    ) -> PyResult<Streamed<'py>> {
        let whole = !events && item::<Vec<String>>(call, "expect")?.is_some_and(|e| !e.is_empty());
        self.shared
            .log
            .set_level(item::<u8>(call, "log_level")?.unwrap_or(WARNING));
        let id = call_id();
        let (done, body) = match self.prepare(call)? {
            Err(usage) => (Done::Failed(usage.into_info()), None),
            Ok(prepared) if whole || (!events && !prepared.fallbacks.is_empty()) => {
                (wait(py, CALL.scope(id, prepared.run()), |_| {})?, None)
            }
            Ok(prepared) => {
                let client = prepared.client.clone();
                let (done, source) = wait(py, CALL.scope(id, prepared.stream(events)), |_| {})?;
                let body = source.map(|s| Body {
                    state: Mutex::new(BodyState::Idle(Box::new(s))),
                    client,
                });
                (done, body)
            }
        };
        let (ok, dict) = done.to_py(py)?;
        Ok((ok, dict, self.shared.log.drain(id), body))
    }
}

/// A call refused before anything was sent: steady's kind of usage error and its words.
struct Usage {
    kind: &'static str,
    message: String,
}

impl Usage {
    fn new(kind: &'static str, message: String) -> Usage {
        Usage { kind, message }
    }

    fn into_info(self) -> ErrInfo {
        ErrInfo::usage(self.kind, self.message)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(name: &str, value: &str) -> Option<String> {
    if !name.trim().eq_ignore_ascii_case("authorization") {
        return None;
    }
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// The URL, or the error requests would raise for it: no scheme, a scheme steady does
/// not speak, or no host. The message never shows a password or a query value.
fn check_url(text: &str) -> Result<Url, Usage> {
    let shown = redact_text(text);
    match Url::parse(text.trim()) {
        Err(url::ParseError::RelativeUrlWithoutBase) => Err(Usage::new(
            "missing_schema",
            format!(
                "Invalid URL '{shown}': No scheme supplied. Perhaps you meant https://{shown}?"
            ),
        )),
        Err(e) => Err(Usage::new(
            "invalid_url",
            format!("Invalid URL '{shown}': {e}"),
        )),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => Err(Usage::new(
            "invalid_schema",
            format!(
                "No connection adapters were found for '{shown}': steady speaks http and https"
            ),
        )),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Err(Usage::new(
            "invalid_url",
            format!("Invalid URL '{shown}': No host supplied"),
        )),
        Ok(url) => Ok(url),
    }
}

/// A URL as text with what may be a credential hidden: the user information and the
/// query.
fn redact_text(text: &str) -> String {
    let text = text.trim();
    if let Ok(url) = Url::parse(text) {
        return steady::redact_url(&url);
    }
    let (head, query) = match text.split_once('?') {
        Some((head, _)) => (head, "?****"),
        None => (text, ""),
    };
    let head = match head.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://****@{host}"),
            None => head.to_owned(),
        },
        None => match head.rsplit_once('@') {
            Some((_, host)) => format!("****@{host}"),
            None => head.to_owned(),
        },
    };
    format!("{head}{query}")
}

/// `[(name, filename or None, content type or None, bytes)]` as a multipart form.
fn multipart(parts: &Bound<'_, PyList>) -> PyResult<steady::multipart::Multipart> {
    let mut form = steady::multipart::Multipart::new();
    for part in parts.iter() {
        let part = part.cast::<PyTuple>()?;
        let name: String = part.get_item(0)?.extract()?;
        let filename: Option<String> = part.get_item(1)?.extract()?;
        let content_type: Option<String> = part.get_item(2)?.extract()?;
        let data = part.get_item(3)?;
        let data = data.cast::<PyBytes>()?.as_bytes();
        form = match filename {
            Some(filename) => form.bytes(
                &name,
                &filename,
                content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
                data.to_vec(),
            ),
            None => form.text(&name, &String::from_utf8_lossy(data)),
        };
    }
    Ok(form)
}

/// `[(kind, url or None, body or None, content type or None)]` as fallbacks.
fn fallbacks(list: &Bound<'_, PyList>) -> PyResult<Vec<Fallback>> {
    let mut out = Vec::new();
    for f in list.iter() {
        let f = f.cast::<PyTuple>()?;
        let kind: String = f.get_item(0)?.extract()?;
        out.push(match kind.as_str() {
            "cache" => Fallback::cache(),
            "url" => Fallback::url(&f.get_item(1)?.extract::<String>()?),
            "body" => {
                let body = f.get_item(2)?;
                let body = body.cast::<PyBytes>()?.as_bytes().to_vec();
                let content_type: String = f.get_item(3)?.extract()?;
                Fallback::body(body, &content_type)
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "fallback: unknown kind '{other}'"
                )))
            }
        });
    }
    Ok(out)
}
