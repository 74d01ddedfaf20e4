//! The little HTTP/1.1 this crate needs, over raw sockets: read one request, write one
//! response (or one fault). Hand-written because the point is to break the protocol in
//! controlled ways that hyper and axum are designed never to allow.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::reply::{Fault, Reply};
use crate::script::Recorded;

/// Largest request head the server accepts.
const MAX_HEAD: usize = 64 * 1024;

/// Reads one request from the connection. `Ok(None)` when the peer closed it cleanly
/// between requests.
pub(crate) async fn read_request(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> std::io::Result<Option<Recorded>> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = req.method.unwrap_or("").to_owned();
                let target = req.path.unwrap_or("").to_owned();
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let content_length = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                let chunked = headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("transfer-encoding")
                        && v.to_ascii_lowercase().contains("chunked")
                });
                let _ = buf.split_to(head_len);
                let body = if chunked {
                    read_chunked(stream, buf).await?
                } else {
                    while buf.len() < content_length {
                        if stream.read_buf(buf).await? == 0 {
                            return Err(std::io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    buf.split_to(content_length).freeze()
                };
                return Ok(Some(Recorded::new(method, target, headers, body)));
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(std::io::ErrorKind::InvalidData.into());
                }
            }
            Err(_) => return Err(std::io::ErrorKind::InvalidData.into()),
        }
        if stream.read_buf(buf).await? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
}

/// A chunked request body, decoded (no trailers).
async fn read_chunked(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<bytes::Bytes> {
    let mut body = BytesMut::new();
    loop {
        match httparse::parse_chunk_size(buf) {
            Ok(httparse::Status::Complete((start, size))) => {
                let size = usize::try_from(size).map_err(|_| std::io::ErrorKind::InvalidData)?;
                // The data and its CRLF (after the last chunk: the final CRLF).
                while buf.len() < start + size + 2 {
                    if stream.read_buf(buf).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                let _ = buf.split_to(start);
                body.extend_from_slice(&buf.split_to(size));
                let _ = buf.split_to(2);
                if size == 0 {
                    return Ok(body.freeze());
                }
            }
            Ok(httparse::Status::Partial) => {
                if stream.read_buf(buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            Err(_) => return Err(std::io::ErrorKind::InvalidData.into()),
        }
    }
}

/// What the connection should do after a reply.
pub(crate) enum After {
    KeepAlive,
    Close,
    /// Keep the socket open and silent until the server stops.
    Hang,
}

/// Writes `reply` (or its fault) for a request with method `method`.
pub(crate) async fn write_reply(
    stream: &mut TcpStream,
    reply: &Reply,
    method: &str,
) -> std::io::Result<After> {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    match &reply.fault {
        Fault::Hang => return Ok(After::Hang),
        Fault::Reset => {
            reset(stream);
            return Ok(After::Close);
        }
        Fault::Close => return Ok(After::Close),
        Fault::Raw(bytes) => {
            stream.write_all(bytes).await?;
            stream.flush().await?;
            return Ok(After::Close);
        }
        _ => {}
    }
    let head = head(reply);
    stream.write_all(head.as_bytes()).await?;
    let body: &[u8] = if method.eq_ignore_ascii_case("HEAD") {
        &[]
    } else {
        &reply.body
    };
    match reply.fault {
        Fault::ResetAfter(n) => {
            stream.write_all(&body[..n.min(body.len())]).await?;
            stream.flush().await?;
            // Let the bytes leave before the RST discards the send buffer.
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(stream);
            Ok(After::Close)
        }
        Fault::Truncate(n) => {
            stream.write_all(&body[..n.min(body.len())]).await?;
            stream.flush().await?;
            Ok(After::Close)
        }
        Fault::Huge(len) => {
            let chunk = [b'x'; 64 * 1024];
            let mut left = if method.eq_ignore_ascii_case("HEAD") {
                0
            } else {
                len
            };
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                stream.write_all(&chunk[..n]).await?;
                left -= n as u64;
            }
            stream.flush().await?;
            Ok(After::KeepAlive)
        }
        Fault::Trickle(every) => {
            stream.flush().await?;
            for byte in body {
                tokio::time::sleep(every).await;
                stream.write_all(std::slice::from_ref(byte)).await?;
                stream.flush().await?;
            }
            Ok(After::KeepAlive)
        }
        _ => {
            stream.write_all(body).await?;
            stream.flush().await?;
            Ok(After::KeepAlive)
        }
    }
}

fn head(reply: &Reply) -> String {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    let mut has_length = false;
    for (name, value) in &reply.headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_length {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    head
}

/// Closes with a TCP RST instead of a FIN: linger zero, then drop.
fn reset(stream: &TcpStream) {
    #[allow(deprecated)] // set_linger is the only way to ask tokio for an RST.
    let _ = stream.set_linger(Some(Duration::ZERO));
}

/// The reason phrase of common status codes.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Keeps a hung connection open until the peer goes away (or the server stops).
pub(crate) async fn hold(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

pub(crate) fn empty_buf() -> BytesMut {
    BytesMut::with_capacity(4096)
}
