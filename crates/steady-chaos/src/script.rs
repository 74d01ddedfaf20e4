//! A server that answers each path with a scripted sequence of replies and records
//! every request it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};

use crate::http1::{self, After};
use crate::reply::Reply;
use crate::thread::ServerThread;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method, as sent.
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    /// Every header, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// When the server finished reading it.
    pub at: Instant,
}

impl Recorded {
    pub(crate) fn new(
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Self {
        Recorded {
            method,
            target,
            headers,
            body,
            at: Instant::now(),
        }
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query string, without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

enum Route {
    /// Replies in order; the last one repeats.
    Sequence(Vec<Reply>, AtomicUsize),
    Handler(Handler),
}

impl Route {
    fn reply(&self, request: &Recorded) -> Reply {
        match self {
            Route::Sequence(replies, next) => {
                let i = next.fetch_add(1, Ordering::SeqCst);
                replies[i.min(replies.len() - 1)].clone()
            }
            Route::Handler(f) => f(request),
        }
    }
}

struct Shared {
    routes: HashMap<String, Route>,
    fallback: Route,
    log: Mutex<Vec<Recorded>>,
}

/// Builds a [`ScriptServer`].
#[must_use]
pub struct ScriptServerBuilder {
    routes: HashMap<String, Route>,
    fallback: Route,
}

impl ScriptServerBuilder {
    /// Answers requests for `path` (query ignored) with `replies` in order; once they
    /// run out, the last one repeats.
    ///
    /// # Panics
    /// When `replies` is empty.
    pub fn route(mut self, path: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        let replies: Vec<Reply> = replies.into_iter().collect();
        assert!(!replies.is_empty(), "route {path} needs at least one reply");
        self.routes.insert(
            path.to_owned(),
            Route::Sequence(replies, AtomicUsize::new(0)),
        );
        self
    }

    /// Answers requests for `path` with whatever `handler` returns for each one.
    pub fn route_fn(
        mut self,
        path: &str,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.routes
            .insert(path.to_owned(), Route::Handler(Box::new(handler)));
        self
    }

    /// The reply for paths without a route (default: `404` with a JSON error body).
    pub fn fallback(mut self, reply: Reply) -> Self {
        self.fallback = Route::Sequence(vec![reply], AtomicUsize::new(0));
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on a thread of its own, so that both
    /// async and blocking tests can use it. The server stops when the handle drops.
    ///
    /// # Panics
    /// When the loopback socket cannot be bound.
    pub fn start(self) -> ScriptServer {
        let shared = Arc::new(Shared {
            routes: self.routes,
            fallback: self.fallback,
            log: Mutex::new(Vec::new()),
        });
        let thread_shared = Arc::clone(&shared);
        let (addr, thread) = ServerThread::spawn(
            "127.0.0.1:0".parse().expect("loopback address"),
            move |listener, stopped| async move {
                tokio::select! {
                    _ = accept_loop(listener, thread_shared) => {}
                    _ = stopped => {}
                }
            },
        )
        .expect("bind a loopback port");
        ScriptServer {
            addr,
            shared,
            _thread: thread,
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, Arc::clone(&shared)));
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = http1::empty_buf();
    loop {
        let request = match http1::read_request(&mut stream, &mut buf).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let route = shared
            .routes
            .get(request.path())
            .unwrap_or(&shared.fallback);
        let reply = route.reply(&request);
        let method = request.method.clone();
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        shared.log.lock().expect("request log").push(request);
        match http1::write_reply(&mut stream, &reply, &method).await {
            Ok(After::KeepAlive) if !close => {}
            Ok(After::Hang) => {
                http1::hold(&mut stream).await;
                return;
            }
            _ => return,
        }
    }
}

/// A running scripted server on `127.0.0.1`. It stops when dropped.
pub struct ScriptServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _thread: ServerThread,
}

impl ScriptServer {
    /// A builder with no routes and a `404` fallback.
    pub fn builder() -> ScriptServerBuilder {
        ScriptServerBuilder {
            routes: HashMap::new(),
            fallback: Route::Sequence(vec![Reply::status(404)], AtomicUsize::new(0)),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().expect("request log").clone()
    }

    /// How many requests for `path` (query ignored) the server received.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .log
            .lock()
            .expect("request log")
            .iter()
            .filter(|r| r.path() == path)
            .count()
    }

    /// How many requests the server received in all.
    pub fn total_hits(&self) -> usize {
        self.shared.log.lock().expect("request log").len()
    }
}
