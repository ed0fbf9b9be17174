//! A real `redis-server` for one test: started on a free loopback port with persistence off,
//! stopped when dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    password: Option<String>,
    _dir: tempfile::TempDir,
}

fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("LLMGW_REDIS_SERVER") {
        // An explicit path is the only one tried.
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts a server, or returns `None` (printing why) when `redis-server` is not installed
    /// and `LLMGW_REQUIRE_REDIS` is unset. With `LLMGW_REQUIRE_REDIS` set, a missing binary
    /// fails the test.
    pub fn start() -> Option<RedisServer> {
        Self::start_with(None)
    }

    /// Like [`RedisServer::start`], with `requirepass`.
    pub fn start_with_password(password: &str) -> Option<RedisServer> {
        Self::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> Option<RedisServer> {
        let Some(bin) = binary() else {
            if std::env::var_os("LLMGW_REQUIRE_REDIS").is_some() {
                panic!("redis-server is not installed, and LLMGW_REQUIRE_REDIS is set (scripts/test.sh installs it: apt-get install redis-server)");
            }
            eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server, or set LLMGW_REDIS_SERVER); set LLMGW_REQUIRE_REDIS=1 to make this a failure");
            return None;
        };
        let mut last_error = String::new();
        for _ in 0..5 {
            let mut server = RedisServer {
                child: None,
                port: free_port(),
                password: password.map(str::to_string),
                _dir: tempfile::tempdir().unwrap(),
            };
            let dir = server._dir.path().to_path_buf();
            match server.spawn(&bin, &dir) {
                Ok(()) => return Some(server),
                Err(e) => last_error = e,
            }
        }
        panic!("could not start {}: {last_error}", bin.display());
    }

    fn spawn(&mut self, bin: &std::path::Path, dir: &std::path::Path) -> Result<(), String> {
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd.spawn().map_err(|e| e.to_string())?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("redis-server exited: {status}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err("redis-server did not answer PING within 10 s".into())
    }

    /// Whether the server answers `PING` (authenticating first when it has a password).
    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut cmd = String::new();
        if let Some(p) = &self.password {
            cmd.push_str(&format!("AUTH {p}\r\n"));
        }
        cmd.push_str("PING\r\n");
        if s.write_all(cmd.as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("PONG") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        true
    }

    /// `redis://127.0.0.1:<port>/0` (with the password when there is one).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server again on the same port (empty: persistence is off).
    pub fn restart(&mut self) {
        self.stop();
        let bin = binary().expect("redis-server was found before");
        let dir = self._dir.path().to_path_buf();
        self.spawn(&bin, &dir).unwrap();
    }

    /// Kills the server (as a crash would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
