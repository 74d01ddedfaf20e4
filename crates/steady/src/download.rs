//! Downloads: a successful body streamed to a file, which appears whole or not at all.
//!
//! Why this exists: a body read into memory is bounded by
//! [`ClientBuilder::max_body`](crate::ClientBuilder::max_body) (100 MiB), which is right
//! for API answers and wrong for a 1 GiB export. [`RequestBuilder::save_to`]
//! (`steady get URL -o FILE`) streams the body of the final successful response,
//! decoded, into a temporary file beside the destination and renames it into place
//! only when the call succeeds, so a reader of the destination never sees half a
//! download, and a download cut by a reset or a timeout is retried from the start
//! under the same deadline, backoff and guards as any call. Memory stays at one
//! write buffer plus one decoder buffer per coding, whatever the size.
//!
//! Error answers (4xx, 5xx) are never written to the file: their bodies go to memory,
//! bounded as usual, so the error can say what the server said.
//!
//! The temporary file comes from `tempfile` (created in the destination's folder so
//! the final rename stays on one file system, removed when the call fails or the
//! process unwinds). A process killed with SIGKILL leaves a `.steady-*.part` file
//! beside the destination, never a truncated destination. A new destination gets the
//! mode the umask gives (`0666 & !umask`, as curl's), an existing one keeps its mode.
//!
//! [`RequestBuilder::save_to`]: crate::RequestBuilder::save_to

use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Kind};

/// How much is buffered before each write to the file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Where one call's successful body goes, reused by every attempt: a temporary file
/// renamed into place at the end, or a writer it streams to.
pub(crate) enum Part {
    File {
        file: tempfile::NamedTempFile,
        destination: PathBuf,
    },
    Stream {
        out: Shared,
        written: Arc<AtomicU64>,
    },
    /// A destination that is not a regular file (`/dev/null`, a FIFO, a terminal):
    /// written as it is, never replaced by a rename (which would put a regular file
    /// where the device was). Like a stream, a body cut short is not retried once
    /// bytes are out, and the checks that read the body back do not run.
    Device {
        out: Shared,
        written: Arc<AtomicU64>,
        destination: PathBuf,
    },
}

/// A writer shared by the attempts of a call ([`crate::RequestBuilder::stream_to`]).
#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<Box<dyn Write + Send>>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared(writer)")
    }
}

impl Shared {
    pub(crate) fn new(writer: Box<dyn Write + Send>) -> Self {
        Shared(Arc::new(Mutex::new(writer)))
    }
}

/// The writer of one attempt of a streamed body: flushed after every chunk, counted.
struct Tee {
    out: Shared,
    written: Arc<AtomicU64>,
}

impl Write for Tee {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut out = self
            .out
            .0
            .lock()
            .map_err(|_| io::Error::other("writer lock poisoned"))?;
        out.write_all(data)?;
        out.flush()?;
        self.written.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Part {
    /// Creates the temporary file beside `destination`: fails before anything is sent
    /// when the folder is missing or not writable, or the destination is a folder.
    pub(crate) fn create(destination: &Path) -> Result<Part, Error> {
        if destination.is_dir() {
            return Err(save_error(destination, "it is a folder"));
        }
        if std::fs::metadata(destination).is_ok_and(|m| !m.is_file()) {
            let device = std::fs::OpenOptions::new()
                .write(true)
                .open(destination)
                .map_err(|e| save_error(destination, &reason(&e)))?;
            return Ok(Part::Device {
                out: Shared::new(Box::new(device)),
                written: Arc::default(),
                destination: destination.to_owned(),
            });
        }
        let folder = match destination.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".steady-").suffix(".part");
        // The mode a new file gets from the umask (0666 & !umask, as curl's), or the one
        // the destination already has: tempfile's own 0600 would hide a public export.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let file = builder
            .tempfile_in(folder)
            .map_err(|e| save_error(destination, &reason(&e)))?;
        if let Ok(existing) = std::fs::metadata(destination) {
            // Set, not created with: the umask would narrow it.
            file.as_file()
                .set_permissions(existing.permissions())
                .map_err(|e| save_error(destination, &reason(&e)))?;
        }
        Ok(Part::File {
            file,
            destination: destination.to_owned(),
        })
    }

    /// A body streamed to `out` as it arrives.
    pub(crate) fn stream(out: Shared) -> Part {
        Part::Stream {
            out,
            written: Arc::default(),
        }
    }

    /// Whether the body goes to a writer rather than a file.
    pub(crate) fn is_stream(&self) -> bool {
        matches!(self, Part::Stream { .. })
    }

    /// Bytes already written to the stream (none can be taken back).
    pub(crate) fn streamed(&self) -> u64 {
        match self {
            Part::Stream { written, .. } | Part::Device { written, .. } => {
                written.load(Ordering::Relaxed)
            }
            Part::File { .. } => 0,
        }
    }

    /// A writer for a new attempt's body: the file emptied, buffered; or the stream.
    pub(crate) fn writer(&mut self) -> io::Result<Box<dyn Write + Send>> {
        match self {
            Part::File { file, .. } => {
                let handle = file.as_file_mut();
                handle.set_len(0)?;
                handle.seek(SeekFrom::Start(0))?;
                Ok(Box::new(BufWriter::with_capacity(
                    WRITE_BUFFER,
                    file.as_file().try_clone()?,
                )))
            }
            Part::Stream { out, written } | Part::Device { out, written, .. } => {
                Ok(Box::new(Tee {
                    out: out.clone(),
                    written: Arc::clone(written),
                }))
            }
        }
    }

    /// The temporary file's path (for reading a small body back for its checks).
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Part::File { file, .. } => Some(file.path()),
            Part::Stream { .. } | Part::Device { .. } => None,
        }
    }

    /// The destination (`-` for a stream).
    pub(crate) fn destination(&self) -> &Path {
        match self {
            Part::File { destination, .. } | Part::Device { destination, .. } => destination,
            Part::Stream { .. } => Path::new("-"),
        }
    }

    /// Moves the complete body into place: synced to disk, then renamed over the
    /// destination in one step. A stream has nothing to move.
    pub(crate) fn persist(self) -> Result<Option<PathBuf>, Error> {
        let (file, destination) = match self {
            Part::File { file, destination } => (file, destination),
            Part::Device { destination, .. } => return Ok(Some(destination)),
            Part::Stream { .. } => return Ok(None),
        };
        file.as_file()
            .sync_all()
            .map_err(|e| save_error(&destination, &reason(&e)))?;
        file.persist(&destination)
            .map_err(|e| save_error(&destination, &reason(&e.error)))?;
        Ok(Some(destination))
    }
}

/// Why a streamed body stopped when its reader went away (`steady get URL | head`).
pub const BROKEN_PIPE: &str = "the reader closed the pipe";

/// The error for a download that cannot be written.
pub(crate) fn save_error(destination: &Path, why: &str) -> Error {
    Error::new(Kind::Save(format!(
        "cannot write the body to {}: {why}",
        destination.display()
    )))
}

/// An I/O error in words, without the OS error number.
pub(crate) fn reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "the folder does not exist".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::StorageFull => "the disk is full".into(),
        io::ErrorKind::BrokenPipe => BROKEN_PIPE.into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    }
}
