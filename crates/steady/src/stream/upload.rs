//! Request bodies streamed from the caller ([`RequestBuilder::body_stream`]).
//!
//! A stream can be read once. So that a retry never sends half a body or a body
//! twice, the stream is shared by the attempts of a call and lent to one at a time:
//! an attempt that fails before taking a byte of it (a refused connection, a DNS
//! failure, a 503 answered before the body was read) gives it back and the next
//! attempt sends it whole; once a byte has been handed to the connection, the stream
//! is spent and the call is not retried (the error says how much was sent). A body
//! dropped by hyper after the attempt's error is reported (hyper drops it on its
//! connection task) is waited for rather than raced: the next attempt waits until
//! the stream comes back or proves spent.
//!
//! [`RequestBuilder::body_stream`]: crate::RequestBuilder::body_stream

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::Stream;
use hyper::body::Frame;

use crate::error::BoxError;

/// Why a streamed body is refused on a borrowed transport.
pub(crate) const NOT_THROUGH: &str =
    "a streamed request body is sent by steady's own transport only, \
     not through a tower service or a reqwest-middleware chain: give the body as bytes";

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// The caller's stream, shared by the attempts of one call.
#[derive(Clone)]
pub(crate) struct Upload {
    shared: Arc<Mutex<Lent>>,
}

struct Lent {
    /// The stream while no attempt holds it.
    chunks: Option<Chunks>,
    /// Bytes handed to a connection, by every attempt.
    sent: u64,
    /// An attempt waiting for the stream to come back.
    waiting: Option<Waker>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upload {{ sent: {} }}", self.sent())
    }
}

impl Upload {
    pub(crate) fn new<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_util::TryStreamExt as _;
        Upload {
            shared: Arc::new(Mutex::new(Lent {
                chunks: Some(Box::pin(stream.map_err(Into::into))),
                sent: 0,
                waiting: None,
            })),
        }
    }

    /// Bytes of the stream handed to a connection so far.
    pub(crate) fn sent(&self) -> u64 {
        self.shared.lock().map_or(0, |lent| lent.sent)
    }

    /// The body of one attempt.
    pub(crate) fn body(&self) -> UploadBody {
        UploadBody {
            upload: self.clone(),
            chunks: Mutex::new(None),
            sent: 0,
        }
    }
}

/// One attempt's request body: borrows the stream on first poll, gives it back on
/// drop when it sent nothing.
pub(crate) struct UploadBody {
    upload: Upload,
    /// Behind a mutex only so that the body is `Sync`, as reqwest's `Body::wrap` asks.
    chunks: Mutex<Option<Chunks>>,
    sent: u64,
}

impl hyper::body::Body for UploadBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let chunks = this.chunks.get_mut().map_err(|_| poisoned())?;
        if chunks.is_none() {
            let mut lent = this.upload.shared.lock().map_err(|_| poisoned())?;
            match lent.chunks.take() {
                Some(taken) => *chunks = Some(taken),
                None if lent.sent > 0 => {
                    return Poll::Ready(Some(Err(format!(
                        "the streamed request body was already sent ({} of it) and a stream \
                         cannot be sent twice",
                        crate::duration::human_size(lent.sent)
                    )
                    .into())))
                }
                None => {
                    // An earlier attempt still holds it: it comes back when that
                    // attempt's body is dropped.
                    lent.waiting = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
        let Some(stream) = chunks.as_mut() else {
            return Poll::Ready(None);
        };
        match stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                this.sent += bytes.len() as u64;
                if let Ok(mut lent) = this.upload.shared.lock() {
                    lent.sent += bytes.len() as u64;
                }
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for UploadBody {
    fn drop(&mut self) {
        let Some(chunks) = self.chunks.get_mut().ok().and_then(Option::take) else {
            return;
        };
        if let Ok(mut lent) = self.upload.shared.lock() {
            if self.sent == 0 {
                lent.chunks = Some(chunks);
            }
            if let Some(waker) = lent.waiting.take() {
                waker.wake();
            }
        }
    }
}

impl crate::RequestBuilder {
    /// Sends `stream` as the request body, chunk by chunk as it yields (chunked
    /// transfer encoding unless a `Content-Length` header is given), without holding
    /// it in memory: an upload of a file or of data being produced.
    ///
    /// A stream can be sent once: an attempt that fails before a byte of it left (a
    /// refused connection, a 503 answered before the body was read) is retried as
    /// usual and sends it whole; once a byte has left, the call is not retried and the
    /// error says how much was sent. A redirect that keeps the body (307, 308) cannot
    /// send it again either. The unsafe-method rule still applies: an unkeyed `POST`
    /// is retried only when nothing was sent. A stream error ends the call with it.
    ///
    /// ```no_run
    /// # async fn run(client: steady::Client) -> Result<(), steady::Error> {
    /// let chunks = futures_util::stream::iter(
    ///     ["a,b\n", "1,2\n"].map(|s| Ok::<_, std::io::Error>(bytes::Bytes::from(s))),
    /// );
    /// client.put("https://example.com/upload.csv").body_stream(chunks).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn body_stream<S, E>(self, stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let upload = Upload::new(stream);
        self.with(|r| {
            r.body = None;
            r.upload = Some(upload);
            Ok(())
        })
    }
}

fn poisoned() -> BoxError {
    "the request body's stream lock was poisoned".into()
}
