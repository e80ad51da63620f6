//! Servers of a test's own, which it may stop and start: the shared
//! PostgreSQL and Redis must stay up for every other test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a missing server program is a failure here (CI) rather than a
/// reason to skip.
fn required(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|v| v == "1")
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster of the test's own: `initdb` in a temporary
/// directory, the server on a free port. Stopped and removed when the value
/// goes.
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    /// The server refuses to run as root: then every program runs as the
    /// `postgres` user.
    as_postgres: bool,
}

impl PrivatePostgres {
    /// `None` (after saying so) without PostgreSQL's server programs,
    /// unless `MONETRO_REQUIRE_POSTGRES=1`.
    pub fn start() -> Option<Self> {
        let Some(bin) = postgres_programs() else {
            assert!(
                !required("MONETRO_REQUIRE_POSTGRES"),
                "PostgreSQL is required (MONETRO_REQUIRE_POSTGRES=1) but initdb was not found \
                 (set MONETRO_PG_BINDIR)"
            );
            eprintln!("SKIPPED: this test needs PostgreSQL's initdb and pg_ctl");
            return None;
        };
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
        let port = free_port();
        let postgres = Self {
            port,
            dir: std::env::temp_dir().join(format!("monetro-pg-{port}")),
            bin,
            as_postgres,
        };
        std::fs::create_dir_all(&postgres.dir).unwrap();
        if as_postgres {
            let owned = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&postgres.dir)
                .status()
                .unwrap();
            assert!(owned.success(), "chown postgres {}", postgres.dir.display());
        }
        postgres.run("initdb", |c| {
            c.arg("-D").arg(postgres.data()).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ])
        });
        postgres.launch();
        Some(postgres)
    }

    /// The server's URL, without a database name.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it accepts connections. `fsync`
    /// is off: the tests kill the server's processes, not the machine, and a
    /// commit is still written to the WAL before it is acknowledged.
    pub fn launch(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        self.run("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"])
        });
    }

    /// Stops the server as a crash would (`-m immediate`): every backend
    /// dies at once, open transactions are lost, and the next start
    /// recovers from the WAL.
    pub fn crash(&self) {
        self.run("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
        });
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: impl FnOnce(&mut Command) -> &mut Command) {
        let mut command = self.command(program);
        let out = args(&mut command).output().unwrap();
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of `initdb` and `pg_ctl`: `MONETRO_PG_BINDIR`, else the
/// newest `/usr/lib/postgresql/*/bin` (Debian keeps them off the `PATH`).
fn postgres_programs() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("MONETRO_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_initdb(&bin).then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

fn has_initdb(bin: &Path) -> bool {
    bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()
}

/// A redis-server of the test's own on a free port (the shared one must
/// stay up for everyone else), killed when the value goes.
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl PrivateRedis {
    /// `None` (after saying so) without a `redis-server` binary, unless
    /// `MONETRO_REQUIRE_REDIS=1`.
    pub fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                !required("MONETRO_REQUIRE_REDIS"),
                "Redis is required (MONETRO_REQUIRE_REDIS=1) but there is no redis-server"
            );
            eprintln!("SKIPPED: the Redis outage test needs redis-server");
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("monetro-redis-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            port,
            dir,
            process: None,
        };
        redis.launch();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (empty: nothing is saved) and waits until it answers.
    pub fn launch(&mut self) {
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut connection) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut reply = [0; 7];
        connection
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        connection.write_all(b"PING\r\n").is_ok()
            && connection.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// The server stops answering but keeps its connections open, and new
    /// ones are accepted (by the kernel) but never answered.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.as_ref().unwrap().id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// The server is gone: connections are closed and refused.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
