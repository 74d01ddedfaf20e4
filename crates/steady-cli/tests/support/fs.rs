//! File systems for the data-safety tests: a small tmpfs (a disk that fills up), a
//! read-only view of a folder, and running steady as another user. Each needs root
//! (CI runs as root); elsewhere the test says why it skipped, and fails under CI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the privileged setups can run here; `false` prints why the test skips.
/// Under CI (`CI` set) a missing privilege fails the test instead.
pub fn privileged(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} needs root (mount, another user) and CI runs as root"
        );
        eprintln!("{test}: skipped, needs root (mount, another user)");
    }
    root
}

/// A mounted file system that is unmounted when dropped.
pub struct Mount {
    pub path: PathBuf,
}

impl Mount {
    /// A tmpfs of `size` (as mount takes it: `1536k`) at `path`.
    pub fn tmpfs(path: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(path).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                path.to_str().unwrap(),
            ],
        );
        Mount {
            path: path.to_owned(),
        }
    }

    /// Grows (or shrinks) a tmpfs.
    pub fn resize(&self, size: &str) {
        run(
            "mount",
            &[
                "-o",
                &format!("remount,size={size}"),
                self.path.to_str().unwrap(),
            ],
        );
    }

    /// `source` seen read-only at `path`.
    pub fn read_only(source: &Path, path: &Path) -> Mount {
        std::fs::create_dir_all(path).unwrap();
        run(
            "mount",
            &["--bind", source.to_str().unwrap(), path.to_str().unwrap()],
        );
        run("mount", &["-o", "remount,ro,bind", path.to_str().unwrap()]);
        Mount {
            path: path.to_owned(),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

/// The SHA-256 of a file, to prove that nothing was written to it.
pub fn digest(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A fresh folder for one test, under the system's temporary folder.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("steady-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
