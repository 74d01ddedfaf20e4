//! SQLite files, opened one way: the guard state (`--state`), the response cache,
//! batch results and sync tables all go through here.
//!
//! Why one layer: four files opened four ways had four busy timeouts, two read-only
//! fallbacks and two run locks, each with its own gaps. Here, once:
//!
//! - [`open`]: read-write with a [`Profile`]: WAL (readers go on during a write),
//!   `synchronous = NORMAL` (durable at each checkpoint, fast), a busy timeout (a
//!   writer queues behind another process instead of failing), an application id that
//!   marks the file as steady's, and a clear refusal of a folder that does not exist;
//! - [`read_only`]: nothing created or written, for another user's file or read-only
//!   media; a WAL file whose folder cannot hold SQLite's shared memory is read as
//!   immutable when no writer is live (no `-wal` file);
//! - [`RunLock`]: one run at a time on a file, an advisory lock (`flock`) that the
//!   operating system releases when the process dies, however it dies;
//! - [`describe`]: SQLite's errors in words that name the file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// How long a writer waits for another process's write before it fails, unless a
/// profile says otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a file is opened for writing.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Profile {
    /// What the file is, for messages: `state file`, `cache`, `database`.
    pub what: &'static str,
    /// How long a write waits for another process's (default [`BUSY_TIMEOUT`]).
    pub busy_timeout: Duration,
    /// `PRAGMA application_id` set on the file, when it is steady's own format.
    pub application_id: Option<i32>,
    /// Create the file's folder when missing (a cache in `~/.cache`); otherwise a
    /// missing folder is refused (a typo more often than a wish).
    pub create_folder: bool,
}

impl Profile {
    /// A profile with the defaults: [`BUSY_TIMEOUT`], no application id, no folder
    /// created.
    pub const fn new(what: &'static str) -> Profile {
        Profile {
            what,
            busy_timeout: BUSY_TIMEOUT,
            application_id: None,
            create_folder: false,
        }
    }

    /// The busy timeout.
    pub const fn busy_timeout(mut self, timeout: Duration) -> Profile {
        self.busy_timeout = timeout;
        self
    }

    /// The application id.
    pub const fn application_id(mut self, id: i32) -> Profile {
        self.application_id = Some(id);
        self
    }

    /// Create the folder when missing.
    pub const fn create_folder(mut self) -> Profile {
        self.create_folder = true;
        self
    }
}

/// Opens (or creates) `path` for reading and writing with `profile`: WAL,
/// `synchronous = NORMAL`, the busy timeout. The application id is set only by
/// [`set_application_id`], once the caller has checked the file is its own.
///
/// # Errors
/// A message naming the file: its folder missing, not a database, locked, read-only.
pub fn open(path: &Path, profile: &Profile) -> Result<Connection, String> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            if profile.create_folder {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            } else {
                return Err(format!(
                    "cannot create the {} {shown}: the folder {} does not exist (create it first: mkdir -p {})",
                    profile.what,
                    dir.display(),
                    dir.display()
                ));
            }
        }
    }
    let conn = Connection::open(path)
        .map_err(|e| format!("cannot open the {} {shown}: {e}", profile.what))?;
    let said = |e: rusqlite::Error| describe_as(path, profile.what, &e);
    conn.busy_timeout(profile.busy_timeout).map_err(said)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(said)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(said)?;
    Ok(conn)
}

/// Marks the file as the format `id` (`PRAGMA application_id`).
///
/// # Errors
/// When the file cannot be written.
pub fn set_application_id(conn: &Connection, path: &Path, id: i32) -> Result<(), String> {
    conn.pragma_update(None, "application_id", id)
        .map_err(|e| describe(path, &e))
}

/// Opens `path` for reading only: nothing is created or written. `probe` is a query
/// that reads the file (a table of its format); when it fails because SQLite cannot
/// set up the WAL shared memory beside the file (a folder the reader cannot write)
/// and no writer is live (no `-wal` file), the file is read as immutable, which is
/// safe only then.
///
/// # Errors
/// A message naming the file when it cannot be read at all.
pub fn read_only(path: &Path, probe: &str) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let probed = |conn: &Connection| conn.query_row(probe, [], |_| Ok(()));
    let conn = Connection::open_with_flags(path, flags).map_err(|e| describe(path, &e))?;
    match probed(&conn) {
        Ok(()) => Ok(conn),
        Err(e) if cannot_share(&e) && !wal_file(path).exists() => {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                .map_err(|e| describe(path, &e))?;
            probed(&conn).map_err(|e| describe(path, &e))?;
            Ok(conn)
        }
        Err(e) => Err(describe(path, &e)),
    }
}

/// A database error in words, naming the file.
pub fn describe(path: &Path, err: &rusqlite::Error) -> String {
    describe_as(path, "database", err)
}

/// A database error in words, naming the file as `what` (`state file`, `cache`).
pub fn describe_as(path: &Path, what: &str, err: &rusqlite::Error) -> String {
    let shown = path.display();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => format!("the {what} {shown} is not a SQLite database"),
        Some(ErrorCode::DatabaseCorrupt) => format!("the {what} {shown} is corrupt ({err})"),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            format!("the {what} {shown} is locked by another process ({err})")
        }
        Some(ErrorCode::DiskFull) => format!("the disk holding {shown} is full ({err})"),
        Some(ErrorCode::ReadOnly) => format!("the {what} {shown} is read-only ({err})"),
        Some(ErrorCode::CannotOpen) => format!("cannot open the {what} {shown} ({err})"),
        Some(ErrorCode::SystemIoFailure) => format!("an I/O error on {shown} ({err})"),
        _ => format!("the {what} {shown}: {err}"),
    }
}

/// Whether a read-only open failed only because SQLite could not set up the WAL
/// shared memory (a folder the reader cannot write).
fn cannot_share(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

fn wal_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// `path` for a `file:` URI: `%`, `?` and `#` percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// One run at a time on a file: an advisory lock on a lock file beside it, held while
/// the value lives and released when the process dies, however it dies.
///
/// Why a lock file and not a row: two processes resuming the same run both see
/// "running" in a table, and a row cannot tell a live run from one left by `kill -9`.
/// The operating system can. The lock is on a file of its own, never on the database:
/// SQLite's own locks are POSIX record locks, which a process loses when it closes
/// *any* descriptor of the file, so a second descriptor on the database must not
/// exist. The file holds who took the lock (process id, host, since when, the
/// command), for the message that refuses a second run; it is left in place after
/// the run (removing it would race with a run starting meanwhile).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

/// Why a [`RunLock`] was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it; what it wrote in the lock file.
    Held(String),
    /// The lock file cannot be created or locked.
    Io(String),
}

impl RunLock {
    /// Takes the lock file at `path`, writing `holder` in it.
    ///
    /// # Errors
    /// [`LockError::Held`] with what the holder wrote, or [`LockError::Io`].
    pub fn acquire(path: &Path, holder: &str) -> Result<RunLock, LockError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                LockError::Io(format!(
                    "cannot create the lock file {}: {e}",
                    path.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held(text.trim().to_owned()));
            }
            Err(TryLockError::Error(e)) => {
                return Err(LockError::Io(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )))
            }
        }
        // Who holds it, for the next process's message (best effort).
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = file.write_all(holder.as_bytes());
        let _ = file.flush();
        Ok(RunLock {
            _file: file,
            path: path.to_owned(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("steady-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_missing_folder_is_refused_unless_the_profile_creates_it() {
        let d = dir("folder");
        let nested = d.join("a/b/x.db");
        let err = open(&nested, &Profile::new("database")).unwrap_err();
        assert!(
            err.contains("the folder") && err.contains("mkdir -p"),
            "{err}"
        );
        assert!(!d.join("a").exists());
        open(&nested, &Profile::new("cache").create_folder()).unwrap();
        assert!(nested.exists());
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_taken_once_released() {
        let d = dir("lock");
        let path = d.join("x.lock");
        let first = RunLock::acquire(&path, "pid 1").unwrap();
        match RunLock::acquire(&path, "pid 2") {
            Err(LockError::Held(holder)) => assert_eq!(holder, "pid 1"),
            other => panic!("{other:?}"),
        }
        drop(first);
        RunLock::acquire(&path, "pid 2").unwrap();
    }

    #[test]
    fn read_only_reads_and_refuses_what_is_not_sqlite() {
        let d = dir("ro");
        let path = d.join("x.db");
        let conn = open(&path, &Profile::new("database")).unwrap();
        conn.execute_batch("CREATE TABLE t (a); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(conn);
        let ro = read_only(&path, "SELECT count(*) FROM t").unwrap();
        assert!(ro.execute_batch("INSERT INTO t VALUES (2)").is_err());
        std::fs::write(d.join("junk.db"), vec![7u8; 4096]).unwrap();
        let err = read_only(&d.join("junk.db"), "SELECT count(*) FROM sqlite_master").unwrap_err();
        assert!(
            err.contains("the database") && err.contains("is not a SQLite database"),
            "{err}"
        );
    }
}
