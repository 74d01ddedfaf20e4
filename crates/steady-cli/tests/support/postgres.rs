//! A PostgreSQL server of the test's own: initdb into a temporary folder, started on
//! a free loopback port, stopped and removed on drop. PostgreSQL refuses to run as
//! root, so as root the server runs as the `postgres` user (Debian's package makes
//! it); `.ci/run` installs the package.

use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
    /// The `postgres` user's password, when connections over TCP need one.
    password: Option<String>,
}

/// The folder of PostgreSQL's programs (the highest version installed).
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// A running server, or `None` (with a note) when PostgreSQL is not installed
    /// outside CI; under CI a missing PostgreSQL fails the test.
    pub fn start() -> Option<Postgres> {
        Self::start_with(None)
    }

    /// A running server whose connections over TCP need `password` (SCRAM).
    pub fn start_with_password(password: &str) -> Option<Postgres> {
        Self::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed (.ci/run installs the postgresql package)"
            );
            eprintln!("skipped: PostgreSQL is not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("steady-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown to postgres");
        }
        let server = Postgres {
            dir,
            bin,
            port,
            as_postgres,
            password: password.map(str::to_owned),
        };
        let data = server.dir.join("data");
        let mut initdb = vec![
            "-D".to_owned(),
            data.to_str().unwrap().to_owned(),
            "-U".into(),
            "postgres".into(),
            "-E".into(),
            "UTF8".into(),
            "--no-sync".into(),
        ];
        match password {
            None => initdb.push("--auth=trust".into()),
            Some(password) => {
                let file = server.dir.join("pwfile");
                std::fs::write(&file, password).unwrap();
                if as_postgres {
                    Command::new("chown")
                        .args(["postgres:postgres"])
                        .arg(&file)
                        .status()
                        .unwrap();
                }
                initdb.extend([
                    "--auth-local=trust".to_owned(),
                    "--auth-host=scram-sha-256".into(),
                    format!("--pwfile={}", file.display()),
                ]);
            }
        }
        server.run(
            "initdb",
            &initdb.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            server.dir.display()
        );
        let log = server.dir.join("log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Some(server)
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&path);
            cmd
        } else {
            Command::new(&path)
        };
        cmd.args(args).current_dir(&self.dir);
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", password);
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`, the database created first.
    pub fn database(&self, db: &str) -> String {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                db,
            ],
        );
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The rows of `sql`, `|`-separated, one line each.
    pub fn query(&self, db: &str, sql: &str) -> String {
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-c",
                sql,
            ],
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let path = self.bin.join("pg_ctl");
        let args = [
            "-D",
            data.to_str().unwrap_or(""),
            "-m",
            "immediate",
            "-w",
            "stop",
        ];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
