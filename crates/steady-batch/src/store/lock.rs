//! One live run per database: `DB.lock`, an advisory lock held for the whole run.
//!
//! Why a lock file and not a row in the database: two processes resuming the same run
//! both see "running" in the `runs` table, and a row cannot tell a live run from one
//! left by `kill -9`. The operating system can: an advisory lock (`flock`) is released
//! the moment its process dies, however it dies, so a stale run resumes at once and a
//! live one is refused at once. The file holds who took the lock (process id, host,
//! since when, the command), for the message that refuses the second run; it is left
//! in place after the run (removing it would race with a run starting meanwhile).
//!
//! The lock is on a file of its own, never on the database: SQLite's own locks are
//! POSIX record locks, which a process loses when it closes *any* descriptor of the
//! file, so a second descriptor on the database must not exist.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held while a run is live; released when dropped, or when the process dies.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// The lock file of the database `db`: `DB.lock` beside it.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the run lock of `db`, or says who holds it.
    ///
    /// # Errors
    /// When another live process holds it (the message names the process, its host and
    /// since when), or the lock file cannot be created.
    pub fn acquire(db: &Path) -> Result<RunLock, String> {
        let path = Self::path_for(db);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot create the run lock {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    holder.to_owned()
                };
                return Err(format!(
                    "refused: a run on {} is live: {holder}. Two runs on one database would send items twice; wait for it to end or stop it (Ctrl-C). A run killed with kill -9 holds no lock, and --resume continues it at once",
                    db.display()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        let holder = format!(
            "process {} on {} since {} ({})\n",
            std::process::id(),
            hostname(),
            super::now_rfc3339(),
            command_line()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(|e| format!("cannot write the run lock {}: {e}", path.display()))?;
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this host".to_owned())
}

/// The command, with nothing that could be a secret: the program and its subcommand only.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().take(2).collect();
    let program = args
        .first()
        .and_then(|a| {
            Path::new(a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    match args.get(1) {
        Some(sub) if sub.chars().all(|c| c.is_ascii_lowercase()) => format!("{program} {sub}"),
        _ => program,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let first = RunLock::acquire(&db).unwrap();
        let refused = RunLock::acquire(&db).unwrap_err();
        assert!(
            refused.contains(&format!("process {} on ", std::process::id())),
            "{refused}"
        );
        assert!(refused.contains("r.db is live"), "{refused}");
        drop(first);
        let again = RunLock::acquire(&db).unwrap();
        assert_eq!(again.path(), RunLock::path_for(&db));
    }
}
