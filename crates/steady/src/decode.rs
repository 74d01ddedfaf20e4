//! Content decoding (gzip, deflate, and br and zstd with the `brotli` and `zstd`
//! features) under the body limit.
//!
//! Why steady drives the decoders itself instead of letting reqwest decompress:
//! a decompression bomb (a few kilobytes that inflate to gigabytes) must be stopped
//! by the *decoded* size while it streams, stacked codings (`gzip, gzip, gzip, ...`)
//! must be bounded (curl CVE-2022-32206, urllib3 CVE-2025-66471), and a coding steady
//! cannot decode must be an error, not a compressed body handed over as if it were
//! the data. reqwest's automatic decompression decodes one coding and offers no
//! limit on its output, so steady asks for identity from reqwest and runs the
//! well-kept decoders (flate2, brotli, zstd) in a chain whose last stage counts
//! bytes and refuses the one past [`ClientBuilder::max_body`](crate::ClientBuilder::max_body).
//! Memory stays near the limit plus one decoder buffer per coding.
//!
//! A redirect's body is never read, so it is never decoded.
//!
//! `Accept-Encoding` names only the codings this build decodes: without the `brotli`
//! or `zstd` feature a server is not asked for them, and one that sends them anyway
//! gets an error that names the feature, never the compressed bytes as the body.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING};

/// The most codings applied one over another that steady decodes.
pub const MAX_STACKED_CODINGS: usize = 3;

/// What steady asks for when the request does not say: the codings this build decodes.
pub(crate) const ACCEPT: HeaderValue =
    HeaderValue::from_static(match (cfg!(feature = "brotli"), cfg!(feature = "zstd")) {
        (true, true) => "gzip, deflate, br, zstd",
        (true, false) => "gzip, deflate, br",
        (false, true) => "gzip, deflate, zstd",
        (false, false) => "gzip, deflate",
    });

/// One content coding steady can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    #[cfg(feature = "brotli")]
    Brotli,
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    /// Its name in `Content-Encoding`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }
}

/// `gzip, br`: the codings as a header lists them.
pub(crate) fn names(codings: &[Coding]) -> String {
    codings
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `Accept-Encoding` unless the request set its own.
pub(crate) fn accept(headers: &mut HeaderMap) {
    if !headers.contains_key(ACCEPT_ENCODING) {
        headers.insert(ACCEPT_ENCODING, ACCEPT);
    }
}

/// The codings of a response, in the order they were applied (decode from the last).
///
/// # Errors
/// A coding steady cannot decode, or more than [`MAX_STACKED_CODINGS`] of them.
pub(crate) fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, String> {
    let mut out = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| "a Content-Encoding that is not text".to_owned())?;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let coding = match name.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                #[cfg(feature = "brotli")]
                "br" => Coding::Brotli,
                #[cfg(feature = "zstd")]
                "zstd" => Coding::Zstd,
                #[cfg(not(feature = "brotli"))]
                "br" => return Err(not_built("br", "brotli")),
                #[cfg(not(feature = "zstd"))]
                "zstd" => return Err(not_built("zstd", "zstd")),
                _ => {
                    let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
                    return Err(format!("unsupported Content-Encoding '{shown}'"));
                }
            };
            out.push(coding);
            if out.len() > MAX_STACKED_CODINGS {
                return Err(format!(
                    "more than {MAX_STACKED_CODINGS} stacked Content-Encodings"
                ));
            }
        }
    }
    Ok(out)
}

/// A coding steady knows but this build leaves out.
#[cfg(not(all(feature = "brotli", feature = "zstd")))]
fn not_built(coding: &str, feature: &str) -> String {
    format!(
        "a Content-Encoding '{coding}' body, which this build of steady cannot decode \
         (it does not offer it in Accept-Encoding unless asked to; the `{feature}` feature \
         adds the decoder)"
    )
}

/// Why decoding stopped.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The decoded body passed the limit.
    TooLarge,
    /// The data is not valid for its coding.
    Corrupt(io::Error),
    /// The file being downloaded could not be written.
    Write(io::Error),
}

/// Where decoded bytes go: memory, or a file being downloaded.
pub(crate) enum Output {
    Memory(Vec<u8>),
    /// A file or another writer (standard output, for a streamed body).
    File(Box<dyn Write + Send>),
}

/// What a finished decoder produced.
pub(crate) enum Decoded {
    Memory(Vec<u8>),
    /// Bytes written to the file.
    File(u64),
}

/// A chain of decoders feeding a counting sink.
pub(crate) struct Decoder {
    stage: Stage,
    stopped: Stopped,
}

impl Decoder {
    /// A decoder for `codings` (in applied order) whose output may not pass `max` bytes.
    pub(crate) fn new(codings: &[Coding], max: u64, output: Output) -> Self {
        let stopped = Stopped::default();
        let mut stage = Stage::Sink(Sink {
            output,
            written: 0,
            max,
            stopped: stopped.clone(),
        });
        // The first coding applied is the last one undone: it wraps the sink.
        for coding in codings {
            stage = match coding {
                Coding::Gzip => Stage::Gzip(Box::new(flate2::write::GzDecoder::new(stage))),
                Coding::Deflate => Stage::Zlib(Box::new(flate2::write::ZlibDecoder::new(stage))),
                #[cfg(feature = "brotli")]
                Coding::Brotli => {
                    Stage::Brotli(Box::new(brotli::DecompressorWriter::new(stage, 8 * 1024)))
                }
                #[cfg(feature = "zstd")]
                Coding::Zstd => match zstd::stream::raw::Decoder::new() {
                    Ok(raw) => Stage::Zstd(Box::new(ZstdStage {
                        raw,
                        out: vec![0; 32 * 1024],
                        frame_done: false,
                        inner: stage,
                    })),
                    // Only fails when zstd cannot allocate its context.
                    Err(_) => stage,
                },
            };
        }
        Decoder { stage, stopped }
    }

    /// Decodes one chunk of the encoded body.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        self.stage
            .write_all(chunk)
            .map_err(|e| self.stopped.error(e))
    }

    /// Ends the body: the decoded bytes, or why they are not valid.
    pub(crate) fn finish(self) -> Result<Decoded, DecodeError> {
        let stopped = self.stopped.clone();
        self.stage.finish().map_err(|e| stopped.error(e))
    }
}

/// The end of the chain: keeps or writes the decoded bytes and refuses the one past `max`.
struct Sink {
    output: Output,
    written: u64,
    max: u64,
    stopped: Stopped,
}

/// Why the sink refused bytes. Kept beside the chain because the decoders wrap or
/// replace the errors their inner writer returns.
enum SinkStop {
    TooLarge,
    Write(io::Error),
}

#[derive(Clone, Default)]
struct Stopped(Arc<Mutex<Option<SinkStop>>>);

impl Stopped {
    /// Records why and returns the error handed up the chain.
    fn stop(&self, why: SinkStop) -> io::Error {
        *self.0.lock().expect("sink state") = Some(why);
        io::Error::other("the body sink stopped")
    }

    /// The error for `e` from the chain: the sink's own reason first.
    fn error(&self, e: io::Error) -> DecodeError {
        match self.0.lock().expect("sink state").take() {
            Some(SinkStop::TooLarge) => DecodeError::TooLarge,
            Some(SinkStop::Write(e)) => DecodeError::Write(e),
            None => DecodeError::Corrupt(e),
        }
    }
}

impl Sink {
    fn finish(self) -> io::Result<Decoded> {
        match self.output {
            Output::Memory(buf) => Ok(Decoded::Memory(buf)),
            Output::File(mut file) => {
                if let Err(e) = file.flush() {
                    return Err(self.stopped.stop(SinkStop::Write(e)));
                }
                Ok(Decoded::File(self.written))
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.written + data.len() as u64 > self.max {
            return Err(self.stopped.stop(SinkStop::TooLarge));
        }
        match &mut self.output {
            Output::Memory(buf) => buf.extend_from_slice(data),
            Output::File(file) => {
                if let Err(e) = file.write_all(data) {
                    return Err(self.stopped.stop(SinkStop::Write(e)));
                }
            }
        }
        self.written += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "zstd")]
/// zstd through its streaming API, which says when a frame is complete (its
/// `Write` adapter does not, so a cut-short frame would pass as a short body).
struct ZstdStage {
    raw: zstd::stream::raw::Decoder<'static>,
    out: Vec<u8>,
    frame_done: bool,
    inner: Stage,
}

#[cfg(feature = "zstd")]
impl ZstdStage {
    fn decode(&mut self, data: &[u8]) -> io::Result<()> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let mut input = InBuffer::around(data);
        loop {
            let mut output = OutBuffer::around(&mut self.out[..]);
            let hint = self.raw.run(&mut input, &mut output)?;
            let produced = output.pos();
            let full = produced == self.out.len();
            self.inner.write_all(&self.out[..produced])?;
            if hint == 0 {
                self.frame_done = true;
                // A new frame may follow; zstd resets itself for it.
            } else if produced > 0 || input.pos() > 0 {
                self.frame_done = false;
            }
            if input.pos() == data.len() && !full {
                return Ok(());
            }
        }
    }
}

enum Stage {
    Sink(Sink),
    Gzip(Box<flate2::write::GzDecoder<Stage>>),
    Zlib(Box<flate2::write::ZlibDecoder<Stage>>),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::DecompressorWriter<Stage>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<ZstdStage>),
}

impl Stage {
    /// Flushes every stage and checks that each coding's data was complete.
    fn finish(self) -> io::Result<Decoded> {
        match self {
            Stage::Sink(s) => s.finish(),
            Stage::Gzip(d) => d.finish()?.finish(),
            Stage::Zlib(d) => d.finish()?.finish(),
            #[cfg(feature = "brotli")]
            Stage::Brotli(mut d) => {
                d.close()?;
                d.into_inner()
                    .map_err(|_| io::Error::other("truncated brotli data"))?
                    .finish()
            }
            #[cfg(feature = "zstd")]
            Stage::Zstd(mut z) => {
                z.decode(&[])?;
                if !z.frame_done {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the zstd data ends mid-frame",
                    ));
                }
                z.inner.finish()
            }
        }
    }
}

impl Write for Stage {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stage::Sink(s) => s.write(data),
            Stage::Gzip(d) => d.write(data),
            Stage::Zlib(d) => d.write(data),
            #[cfg(feature = "brotli")]
            Stage::Brotli(d) => d.write(data),
            #[cfg(feature = "zstd")]
            Stage::Zstd(z) => {
                z.decode(data)?;
                Ok(data.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stage::Sink(s) => s.flush(),
            Stage::Gzip(d) => d.flush(),
            Stage::Zlib(d) => d.flush(),
            #[cfg(feature = "brotli")]
            Stage::Brotli(d) => d.flush(),
            #[cfg(feature = "zstd")]
            Stage::Zstd(z) => z.inner.flush(),
        }
    }
}

/// Decodes `body` sent with `Content-Encoding: content_encoding`, exactly as a call
/// does: the same codings, the same limit of [`MAX_STACKED_CODINGS`], and at most
/// `max` decoded bytes.
///
/// # Errors
/// Why the body cannot be decoded, in the words a call's error uses.
///
/// ```
/// use std::io::Write;
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// gz.write_all(b"hello").unwrap();
/// let body = gz.finish().unwrap();
/// assert_eq!(steady::decode::decode("gzip", &body, 1024).unwrap(), b"hello");
/// assert!(steady::decode::decode("gzip", &body, 3).is_err());
/// assert!(steady::decode::decode("gzip, br, zstd, gzip", &body, 1024).is_err());
/// ```
pub fn decode(content_encoding: &str, body: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(content_encoding)
        .map_err(|_| "a Content-Encoding that is not a header value".to_owned())?;
    headers.insert(CONTENT_ENCODING, value);
    let codings = codings(&headers)?;
    if codings.is_empty() || body.is_empty() {
        return if body.len() as u64 > max {
            Err("the body is larger than the limit".into())
        } else {
            Ok(body.to_vec())
        };
    }
    let mut decoder = Decoder::new(&codings, max, Output::Memory(Vec::new()));
    let failed = |e: DecodeError| match e {
        DecodeError::TooLarge => "the decoded body is larger than the limit".to_owned(),
        DecodeError::Corrupt(e) | DecodeError::Write(e) => {
            format!("the {} body cannot be decoded: {e}", names(&codings))
        }
    };
    decoder.write(body).map_err(failed)?;
    match decoder.finish().map_err(failed)? {
        Decoded::Memory(bytes) => Ok(bytes),
        Decoded::File(_) => unreachable!("decoded into memory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Accept-Encoding` offers exactly what this build decodes, and a coding left
    /// out of the build is an error that names its feature, never a body passed on.
    #[test]
    fn the_codings_asked_for_are_the_codings_built_in() {
        let accept = ACCEPT;
        let offered: Vec<&str> = accept.to_str().unwrap().split(", ").collect();
        for (coding, feature) in [
            ("br", cfg!(feature = "brotli")),
            ("zstd", cfg!(feature = "zstd")),
        ] {
            assert_eq!(
                offered.contains(&coding),
                feature,
                "{coding} in {offered:?}"
            );
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
            match codings(&headers) {
                Ok(found) => {
                    assert!(feature, "{coding} decoded without its feature");
                    assert_eq!(names(&found), coding);
                }
                Err(e) => {
                    assert!(!feature, "{coding} refused with its feature: {e}");
                    assert!(e.contains("feature adds the decoder"), "{e}");
                }
            }
        }
        assert!(offered.starts_with(&["gzip", "deflate"]));
    }
}
