//! Running the real daemon as a child process in tests: its config, its NOTIFY_SOCKET, signals,
//! its HTTP endpoints, and polling its database with a read-only connection.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::net::UnixDatagram;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::fakeshop::FakeShop;
use super::http::try_get;
pub use super::WAIT;

/// A daemon child process with its own NOTIFY_SOCKET.
pub struct Daemon {
    pub dir: PathBuf,
    pub child: Child,
    notify: mpsc::UnboundedReceiver<String>,
    pub messages: Vec<String>,
    pub http: Option<String>,
}

/// Writes the test config. The cron schedule is yearly, so within a test a store syncs only
/// because it is new, resumes, or retries, never because the clock says so.
pub fn config(dir: &Path, extra: &str, stores: &[(&str, &FakeShop)]) -> PathBuf {
    let sections = format!(
        "{extra}\n[http]\nallow_private = true\nmin_delay = \"0s\"\n\
         [sync]\npage_size = 100\n[daemon]\nlisten = \"127.0.0.1:0\"\ngrace = \"3s\"\n\
         jitter = \"0s\"\nschedule = \"0 0 0 1 1 *\"\n"
    );
    let urls: Vec<(&str, String)> = stores.iter().map(|(n, s)| (*n, s.url())).collect();
    let stores: Vec<(&str, &str)> = urls.iter().map(|(n, u)| (*n, u.as_str())).collect();
    super::write_config(dir, &dir.join("mirror.db"), &sections, &stores)
}

impl Daemon {
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_as(dir, env, Command::from(super::binary())).await
    }

    /// Like `start`, with the child's descriptor limit (RLIMIT_NOFILE) set to `nofile` by the
    /// shell's `ulimit -n` before it execs the binary.
    pub async fn start_limited(dir: &Path, env: &[(&str, &str)], nofile: u32) -> Daemon {
        let mut cmd = Command::from(super::clean("sh"));
        cmd.arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_shopmirror"));
        Daemon::start_as(dir, env, cmd).await
    }

    /// Starts `cmd` (the binary, or a wrapper that execs it with the arguments it is given)
    /// as the daemon.
    async fn start_as(dir: &Path, env: &[(&str, &str)], mut cmd: Command) -> Daemon {
        let socket = dir.join("notify.sock");
        let _ = std::fs::remove_file(&socket);
        // Drained continuously, as systemd does: a full socket would block the sender.
        let socket_rx = UnixDatagram::bind(&socket).unwrap();
        let (notify_tx, notify) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf = vec![0; 4096];
            while let Ok(n) = socket_rx.recv(&mut buf).await {
                let message = String::from_utf8_lossy(&buf[..n]).to_string();
                if notify_tx.send(message).is_err() {
                    return;
                }
            }
        });
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("daemon.log"))
            .unwrap();
        cmd.arg("--config")
            .arg(dir.join("config.toml"))
            .arg("daemon")
            .env("NOTIFY_SOCKET", &socket)
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env("RUST_LOG", "shopmirror=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut daemon = Daemon {
            dir: dir.to_path_buf(),
            child: cmd.spawn().unwrap(),
            notify,
            messages: Vec::new(),
            http: None,
        };
        let ready = daemon.wait_message("READY=1").await;
        let status = ready
            .lines()
            .find_map(|l| l.strip_prefix("STATUS="))
            .unwrap();
        daemon.http = status.split(" http ").nth(1).map(str::to_string);
        daemon
    }

    /// Waits for a notification containing `needle` (a line such as "READY=1").
    pub async fn wait_message(&mut self, needle: &str) -> String {
        if let Some(m) = self
            .messages
            .iter()
            .find(|m| m.lines().any(|l| l == needle))
        {
            return m.clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::select! {
                biased;
                m = self.notify.recv() => m.expect("notify reader runs"),
                status = self.child.wait() => {
                    // Messages sent just before exiting may still be on their way.
                    match tokio::time::timeout(Duration::from_secs(2), self.notify.recv()).await {
                        Ok(Some(m)) => m,
                        _ => panic!("daemon exited ({status:?}) before {needle}: {:?}",
                                    self.messages),
                    }
                }
                _ = tokio::time::sleep(left) => {
                    panic!("no {needle} within {WAIT:?}: {:?}", self.messages)
                }
            };
            self.messages.push(message.clone());
            if message.lines().any(|l| l == needle) {
                return message;
            }
        }
    }

    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("daemon still running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("daemon exits in time")
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.http.as_deref().expect("http address")
        )
    }
}

impl Drop for Daemon {
    /// A failing test shows what the daemon logged.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
            eprintln!("--- daemon log ---\n{log}--- end of daemon log ---");
        }
    }
}

pub fn open_db(dir: &Path) -> Connection {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(dir.join("mirror.db"), flags).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

/// Polls the database until `query` (one integer) gives a value `done` accepts.
pub async fn wait_db(dir: &Path, query: &str, done: impl Fn(i64) -> bool) -> i64 {
    let conn = open_db(dir);
    let deadline = Instant::now() + WAIT;
    loop {
        let value: i64 = conn.query_row(query, [], |r| r.get(0)).unwrap_or(-1);
        if done(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{query} stuck at {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn complete_runs(store: &str) -> String {
    format!(
        "SELECT count(*) FROM sync_runs r JOIN stores s USING (store_id)
         WHERE s.name = '{store}' AND r.status = 'complete'"
    )
}

pub fn next_sync(dir: &Path, store: &str) -> Option<String> {
    open_db(dir)
        .query_row(
            "SELECT next_sync_at FROM stores WHERE name = ?1",
            [store],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
        .flatten()
}

/// Listing page numbers requested from `shop`, in order.
pub fn listing_pages(shop: &FakeShop) -> Vec<i64> {
    shop.request_log()
        .iter()
        .filter(|r| r.path.starts_with("/products.json"))
        .filter_map(|r| {
            r.path
                .split("page=")
                .nth(1)?
                .split('&')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// Polls /metrics until `done` accepts it; returns the last text.
pub async fn wait_metrics(daemon: &Daemon, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        // A poll that gets no answer (a loaded machine, a connection closed under it) is
        // polled again; only the deadline fails the test.
        let text = match try_get(&daemon.url("/metrics")).await {
            Some((_, text)) => text,
            None => String::from("(no answer)"),
        };
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "metrics never matched:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
