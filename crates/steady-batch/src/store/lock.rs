//! One live run per database: `DB.lock`, steady's run lock
//! ([`steady::store::RunLock`]: an advisory lock the operating system releases when
//! the process dies) held for the whole run, naming who holds it.

use std::path::{Path, PathBuf};

use steady::store::LockError;

/// Held while a run is live; released when dropped, or when the process dies.
#[derive(Debug)]
pub struct RunLock(steady::store::RunLock);

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
        let holder = format!(
            "process {} on {} since {} ({})\n",
            std::process::id(),
            hostname(),
            super::now_rfc3339(),
            command_line()
        );
        match steady::store::RunLock::acquire(&Self::path_for(db), &holder) {
            Ok(lock) => Ok(RunLock(lock)),
            Err(LockError::Held(holder)) => {
                let holder = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    holder
                };
                Err(format!(
                    "refused: a run on {} is live: {holder}. Two runs on one database would send items twice; wait for it to end or stop it (Ctrl-C). A run killed with kill -9 holds no lock, and --resume continues it at once",
                    db.display()
                ))
            }
            Err(LockError::Io(why)) => Err(why),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        self.0.path()
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
