//! Request bodies streamed from the caller ([`RequestBuilder::body_stream`]).
//!
//! A stream can be read once. So that a retry never sends half a body or a body
//! twice, the stream stays with the call and each attempt is lent a lease on it: the
//! attempt's request body reads the stream through its lease, and the next attempt's
//! lease revokes it, so a connection that a server answered early (a 503 before the
//! body was read) stops sending the stream the moment the call moves on. An attempt
//! that failed before a byte of the stream left leaves it whole for the next attempt;
//! once a byte has left, or the stream has ended or failed, it is spent: the call is
//! not retried (the error says how much was sent), and a redirect that asks for the
//! body again (307, 308) is refused. A stream's own error ends the call with it, never
//! retried (it is the caller's, not the network's). Each chunk handed to the
//! connection counts as the attempt being heard from, so an upload longer than the
//! read timeout is not cut by it.
//!
//! [`RequestBuilder::body_stream`]: crate::RequestBuilder::body_stream

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use hyper::body::Frame;

use crate::error::BoxError;
use crate::transport::Pulse;

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
    chunks: Chunks,
    /// The lease in force: an attempt's body reads only under its own.
    lease: u64,
    /// Bytes handed to a connection, by every attempt.
    sent: u64,
    /// The stream ended or failed: there is nothing to send again.
    done: bool,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upload {{ sent: {} }}", self.sent())
    }
}

/// The caller's stream failed: its error, kept from the classifier (whose reading of
/// an I/O error inside it, a reset say, would make it look retryable).
#[derive(Debug)]
pub(crate) struct StreamFailed(String);

impl fmt::Display for StreamFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the request body's stream failed: {}", self.0)
    }
}

impl std::error::Error for StreamFailed {}

impl Upload {
    pub(crate) fn new<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_util::TryStreamExt as _;
        Upload {
            shared: Arc::new(Mutex::new(Lent {
                chunks: Box::pin(stream.map_err(Into::into)),
                lease: 0,
                sent: 0,
                done: false,
            })),
        }
    }

    /// Bytes of the stream handed to a connection so far.
    pub(crate) fn sent(&self) -> u64 {
        self.shared.lock().map_or(0, |lent| lent.sent)
    }

    /// Whether another attempt could not send the stream whole.
    pub(crate) fn spent(&self) -> bool {
        self.shared
            .lock()
            .map_or(true, |lent| lent.sent > 0 || lent.done)
    }

    /// The body of one attempt, under a new lease (an earlier attempt's body stops).
    /// `heard` is told of each chunk that leaves.
    pub(crate) fn body(&self, heard: Pulse) -> UploadBody {
        let lease = self.shared.lock().map_or(u64::MAX, |mut lent| {
            lent.lease += 1;
            lent.lease
        });
        UploadBody {
            upload: self.clone(),
            lease,
            heard,
        }
    }
}

/// One attempt's request body: reads the shared stream while its lease holds.
pub(crate) struct UploadBody {
    upload: Upload,
    lease: u64,
    heard: Pulse,
}

impl hyper::body::Body for UploadBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let mut lent = match this.upload.shared.lock() {
            Ok(lent) => lent,
            Err(_) => return Poll::Ready(Some(Err(poisoned()))),
        };
        if lent.lease != this.lease {
            return Poll::Ready(Some(Err(
                "the call moved on to another attempt: this one stops sending the body".into(),
            )));
        }
        if lent.done {
            return Poll::Ready(Some(Err(format!(
                "the streamed request body was already sent ({} of it) and a stream cannot \
                 be sent twice",
                crate::duration::human_size(lent.sent)
            )
            .into())));
        }
        match lent.chunks.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                lent.sent += bytes.len() as u64;
                this.heard.now();
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Poll::Ready(Some(Err(e))) => {
                lent.done = true;
                Poll::Ready(Some(Err(Box::new(StreamFailed(e.to_string())))))
            }
            Poll::Ready(None) => {
                lent.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::BodyExt as _;

    use super::*;
    use crate::transport::Heard;

    fn two_chunks() -> Upload {
        Upload::new(futures_util::stream::iter(
            ["a", "b"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s))),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn each_chunk_that_leaves_counts_as_hearing_from_the_server() {
        let heard = Heard::new(true);
        let mut body = two_chunks().body(heard.pulse());
        tokio::time::advance(Duration::from_secs(20)).await;
        body.frame().await.unwrap().unwrap();
        // The read timeout's silence starts again from here, not from the attempt's start.
        assert_eq!(heard.last(), tokio::time::Instant::now());
    }

    #[tokio::test]
    async fn a_new_lease_stops_the_body_of_the_attempt_before() {
        let upload = two_chunks();
        let mut first = upload.body(Heard::new(true).pulse());
        let mut second = upload.body(Heard::new(true).pulse());
        let stopped = first.frame().await.unwrap().unwrap_err();
        assert!(stopped.to_string().contains("another attempt"), "{stopped}");
        assert_eq!(upload.sent(), 0);
        let data = second.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(data, "a");
        assert!(upload.spent());
    }
}
