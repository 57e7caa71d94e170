//! A MongoDB-wire server for tests (feature `testing`): one per test process, started on first use.
//!
//! ```ignore
//! let store = MongoStore::connect(TestServer::shared().uri(), Some(&fresh_db_name())).await?;
//! ```
//!
//! * `METRICS_TEST_MONGODB_URI` set: that server is used (run the suite against a real `mongod`).
//! * Otherwise SecantusDB is started on a free loopback port with a temporary storage folder. The
//!   binary is `$SECANTUSD_BIN`, else the one `scripts/install-tools.sh` builds
//!   (`$METRICS_TOOLS_DIR` or `~/.cache/metrics-tools`, `secantus/bin/secantusd-rs`), else
//!   `secantusd-rs` or `secantusd-py` on `PATH`. None found: the test panics with how to install
//!   one. Tests must fail rather than skip, or a missing server would look like a green suite.
//!
//! The server must not outlive the tests, and a test process can end any way (pass, panic, ^C,
//! SIGKILL): statics are never dropped, so no destructor can be relied on. On Linux the child
//! gets `PR_SET_PDEATHSIG = SIGKILL`, i.e. the kernel kills it when its parent goes. "Parent"
//! there is the *thread* that forked it, and the test harness runs each test on its own
//! short-lived thread, so the server is spawned from a dedicated thread that lives (blocked in
//! `wait`) as long as the process. Leftover storage folders of dead test processes are removed
//! at the next start.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};

use crate::MongoStore;

/// Env var naming an existing server to test against instead of starting one.
pub const URI_ENV: &str = "METRICS_TEST_MONGODB_URI";
/// Env var naming the server binary.
pub const BIN_ENV: &str = "SECANTUSD_BIN";

/// Prefix of the temporary folders, so stale ones can be recognised and swept.
const DIR_PREFIX: &str = "metrics-secantus-";
/// The Python build takes a few seconds to import on a busy machine; the Rust one ~0.2 s.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The test process's server.
pub struct TestServer {
    uri: String,
    /// The exit status, once the server died (it should not while tests run).
    exited: Arc<Mutex<Option<String>>>,
    log: Option<PathBuf>,
}

impl TestServer {
    /// The process-wide server, started (and waited for) on first call.
    pub fn shared() -> &'static TestServer {
        static SERVER: OnceLock<TestServer> = OnceLock::new();
        SERVER.get_or_init(|| match std::env::var(URI_ENV) {
            Ok(uri) if !uri.trim().is_empty() => TestServer {
                uri,
                exited: Arc::default(),
                log: None,
            },
            _ => start(),
        })
    }

    /// `mongodb://…` without a database: pass one to [`MongoStore::connect`].
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// A store on a fresh, empty database of this server.
    pub async fn fresh_store(&self) -> MongoStore {
        self.check_alive();
        MongoStore::connect(&self.uri, Some(&fresh_db_name()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to the test server at {}: {e}{}",
                    self.uri,
                    self.log_tail()
                )
            })
    }

    /// Panics, with the server's log, if the server has died.
    pub fn check_alive(&self) {
        if let Some(status) = self.exited.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            panic!("the test MongoDB server exited ({status}){}", self.log_tail());
        }
    }

    fn log_tail(&self) -> String {
        let Some(path) = &self.log else { return String::new() };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("\n--- {} (last lines) ---\n{}", path.display(), tail.join("\n"))
    }
}

/// A database name no other test (of this or a concurrent process) uses.
pub fn fresh_db_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // pid + counter is unique per machine; the random part covers a shared remote server.
    format!("t_{}_{}_{:08x}", std::process::id(), n, rand::random::<u32>())
}

/// The server binary to run, or a panic explaining how to get one.
pub fn server_binary() -> PathBuf {
    let mut tried = Vec::new();
    if let Some(bin) = std::env::var_os(BIN_ENV) {
        let bin = PathBuf::from(bin);
        // scripts/tools-env.sh exports this path whether or not the tool is installed yet, so a
        // missing file falls through to the other places instead of failing here.
        if bin.is_file() {
            return bin;
        }
        tried.push(format!("${BIN_ENV} = {}", bin.display()));
    }
    let tools = std::env::var_os("METRICS_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/metrics-tools")));
    if let Some(tools) = tools {
        let bin = tools.join("secantus/bin/secantusd-rs");
        if bin.is_file() {
            return bin;
        }
        tried.push(bin.display().to_string());
    }
    for name in ["secantusd-rs", "secantusd-py"] {
        if let Some(bin) = on_path(name) {
            return bin;
        }
        tried.push(format!("{name} on PATH"));
    }
    panic!(
        "no MongoDB-wire server for the tests (tried: {}).\n\
         Install SecantusDB with `bash scripts/install-tools.sh` (builds secantusd-rs into \
         ~/.cache/metrics-tools/secantus/bin; quicker, slower to run: `pip install SecantusDB==0.7.0b3` \
         for secantusd-py), point ${BIN_ENV} at a binary, or set ${URI_ENV} to a running mongod.",
        tried.join(", ")
    );
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn start() -> TestServer {
    let bin = server_binary();
    sweep_stale_dirs();
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut last_error = String::new();
    // The free port is found by binding port 0 and letting go of it; another process can take it
    // before the server binds, so a failed start is retried on a new port.
    for attempt in 0..3 {
        let data = dir.join(format!("data{attempt}"));
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("cannot create {}: {e}", data.display()));
        let log = dir.join(format!("server{attempt}.log"));
        let port = free_port();
        let exited = Arc::new(Mutex::new(None));
        let pid = spawn_keeper(&bin, port, &data, &log, exited.clone());
        let server = TestServer {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            exited,
            log: Some(log),
        };
        match wait_until_ready(port, &server) {
            Ok(()) => return server,
            Err(e) => {
                last_error = format!("{e}{}", server.log_tail());
                kill(pid);
            }
        }
    }
    panic!("the test MongoDB server {} did not start: {last_error}", bin.display());
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// Starts the server from a thread that stays alive, waiting on it, for the rest of the process
/// (see the module documentation for why). Returns the server's pid once it is spawned.
fn spawn_keeper(bin: &Path, port: u16, data: &Path, log: &Path, exited: Arc<Mutex<Option<String>>>) -> u32 {
    let mut cmd = Command::new(bin);
    cmd.arg("--host")
        .arg("127.0.0.1")
        .arg("--port")
        .arg(port.to_string())
        .arg("--storage-path")
        .arg(data);
    let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let err = out.try_clone().expect("clone log file handle");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    die_with_parent(&mut cmd);
    let (tx, rx) = mpsc::channel::<std::io::Result<u32>>();
    let description = bin.display().to_string();
    std::thread::Builder::new()
        .name("test-mongodb-server".into())
        .spawn(move || {
            let mut child: Child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(child.id()));
            let status = child
                .wait()
                .map_or_else(|e| format!("wait failed: {e}"), |s| s.to_string());
            *exited.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
            // Stay alive anyway: the thread's exit must never be what kills a server.
            loop {
                std::thread::park();
            }
        })
        .expect("spawn the server keeper thread");
    match rx.recv() {
        Ok(Ok(pid)) => pid,
        Ok(Err(e)) => panic!("cannot run {description}: {e}"),
        Err(_) => panic!("the server keeper thread died"),
    }
}

/// Stops a server that started but never answered, before trying another port. Only our own
/// child, by its pid: its keeper thread is still waiting on it, so the pid cannot be reused yet.
#[cfg(unix)]
fn kill(pid: u32) {
    // SAFETY: plain syscall on a pid we own.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill(_pid: u32) {}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid) are made.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect: then no signal would come.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("test process exited during spawn"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {
    // No PDEATHSIG elsewhere: the server can outlive a killed test process there.
}

/// Polls with a real `ping` command (not just a TCP connect: a server can accept connections
/// before it answers commands).
fn wait_until_ready(port: u16, server: &TestServer) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last = String::from("never tried");
    while Instant::now() < deadline {
        if let Some(status) = server.exited.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(format!("server exited during start-up ({status})"));
        }
        match ping(addr) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("no answer to ping on {addr} within {START_TIMEOUT:?}: {last}"))
}

/// One `{ping: 1}` as an OP_MSG over a blocking socket. Done by hand because the caller may be
/// inside an async test, where neither blocking on the driver nor starting a runtime is allowed.
fn ping(addr: SocketAddr) -> Result<(), String> {
    const OP_MSG: i32 = 2013;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    doc! { "ping": 1, "$db": "admin" }
        .to_writer(&mut body)
        .map_err(|e| e.to_string())?;
    let len = 16 + 4 + 1 + body.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as i32).to_le_bytes());
    msg.extend_from_slice(&1i32.to_le_bytes()); // requestID
    msg.extend_from_slice(&0i32.to_le_bytes()); // responseTo
    msg.extend_from_slice(&OP_MSG.to_le_bytes());
    msg.extend_from_slice(&0u32.to_le_bytes()); // flagBits
    msg.push(0); // section kind 0: the command document
    msg.extend_from_slice(&body);
    stream.write_all(&msg).map_err(|e| e.to_string())?;
    let mut header = [0u8; 16];
    stream.read_exact(&mut header).map_err(|e| e.to_string())?;
    let total = i32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let opcode = i32::from_le_bytes(header[12..].try_into().expect("4 bytes"));
    if opcode != OP_MSG || !(21..=48_000_000).contains(&total) {
        return Err(format!("unexpected reply (opcode {opcode}, length {total})"));
    }
    let mut rest = vec![0u8; total as usize - 16];
    stream.read_exact(&mut rest).map_err(|e| e.to_string())?;
    let reply = Document::from_reader(&mut &rest[5..]).map_err(|e| e.to_string())?;
    let ok = match reply.get("ok") {
        Some(mongodb::bson::Bson::Double(x)) => *x == 1.0,
        Some(mongodb::bson::Bson::Int32(x)) => *x == 1,
        Some(mongodb::bson::Bson::Int64(x)) => *x == 1,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("ping answered {reply}"))
    }
}

/// Removes the storage folders of test processes that no longer run (they were SIGKILLed or
/// exited without cleaning up, which is every run: statics are never dropped).
fn sweep_stale_dirs() {
    if !Path::new("/proc/self").exists() {
        return; // no cheap liveness check: leave them
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
