//! Slow and silent clients against the real server on a loopback port, with a raw TCP client: a
//! half-sent head is closed after the header timeout, a stalled body gets a 408, a declared body
//! over the limit a 413 before any of it is sent, connections are bounded, and shutdown finishes
//! within its grace while such a client holds a connection open. The real binary is stopped with
//! SIGTERM under the same conditions, with its built-in limits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use collector::config::ConfigArgs;
use collector::serve::ServeLimits;
use collector::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const PEPPER: &str = "a pepper of at least thirty-two bytes!!";

struct Server {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    running: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(limits: ServeLimits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigArgs {
            data_dir: Some(dir.path().into()),
            key_pepper: Some(PEPPER.into()),
            ..Default::default()
        }
        .resolve(Some("127.0.0.1:0".into()))
        .unwrap();
        let app = Application::build(config).await.unwrap().with_limits(limits);
        let port = app.port();
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            port,
            stop: Some(stop),
            running,
            _dir: dir,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(("127.0.0.1", self.port)).await.unwrap()
    }

    /// Sends the shutdown signal and returns how long the server took to stop.
    async fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.stop.take().unwrap().send(()).unwrap();
        self.running.await.unwrap().unwrap();
        started.elapsed()
    }
}

/// Reads until the server closes the connection (or `patience` passes): what it sent, and when.
async fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + patience).into(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after {patience:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

fn limits(header: u64, body: u64, grace: u64) -> ServeLimits {
    ServeLimits {
        header_read_timeout: Duration::from_millis(header),
        body_read_timeout: Duration::from_millis(body),
        shutdown_grace: Duration::from_millis(grace),
        ..ServeLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_and_a_silent_client_are_closed_after_the_header_timeout() {
    let server = Server::start(limits(600, 10_000, 1000)).await;
    let mut half = server.connect().await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: collector\r\nUser-Ag")
        .await
        .unwrap();
    let mut silent = server.connect().await;
    let (_, half_after) = read_until_closed(&mut half, Duration::from_secs(5)).await;
    let (_, silent_after) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(half_after >= Duration::from_millis(500), "closed early: {half_after:?}");
    assert!(silent_after <= Duration::from_secs(3), "{silent_after:?}");

    // A keep-alive connection answered once is closed when idle as long.
    let mut idle = server.connect().await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: collector\r\n\r\n")
        .await
        .unwrap();
    let (answer, idle_after) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(idle_after >= Duration::from_millis(500), "{idle_after:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408() {
    let server = Server::start(limits(10_000, 700, 1000)).await;
    for (path, content_type) in [("/api/v1/login", "application/json"), ("/api/event", "text/plain")] {
        let mut client = server.connect().await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: collector\r\nContent-Type: {content_type}\r\nContent-Length: 100\r\n\r\n{{\"email\":"
        );
        client.write_all(head.as_bytes()).await.unwrap();
        let (answer, after) = read_until_closed(&mut client, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            answer.contains("application/json") && answer.contains("\"code\":\"request_timeout\""),
            "{answer}"
        );
        assert!(after >= Duration::from_millis(600), "{path}: {after:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let server = Server::start(limits(10_000, 10_000, 1000)).await;
    for path in ["/api/event", "/api/v1/login", "/internal/v1/ingest", "/api/v1/nope"] {
        let mut client = server.connect().await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            contract::limits::MAX_BODY_BYTES + 1
        );
        client.write_all(head.as_bytes()).await.unwrap();
        // Not one byte of the body was sent: the answer comes anyway, long before any timeout.
        let (answer, after) = read_until_closed(&mut client, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("\"code\":\"payload_too_large\""), "{path}: {answer}");
        assert!(after < Duration::from_secs(2), "{path}: {after:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_bounded_and_wait_their_turn() {
    let server = Server::start(ServeLimits {
        max_connections: 2,
        ..limits(800, 10_000, 1000)
    })
    .await;
    let _silent = [server.connect().await, server.connect().await];
    // The third is accepted by the kernel but not served until a silent one times out.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut third = server.connect().await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "served before a connection was free: {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_within_its_grace_while_a_client_holds_a_half_request() {
    // The header timeout is far away: only the shutdown grace can end the connection.
    let server = Server::start(limits(60_000, 60_000, 800)).await;
    let mut half = server.connect().await;
    half.write_all(b"POST /api/event HTTP/1.1\r\nHost: coll").await.unwrap();
    let mut stalled_body = server.connect().await;
    stalled_body
        .write_all(
            b"POST /api/event HTTP/1.1\r\nHost: collector\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\n{",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = server.stop().await;
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    assert!(took >= Duration::from_millis(700), "the grace was not waited: {took:?}");
    read_until_closed(&mut half, Duration::from_secs(1)).await;
    read_until_closed(&mut stalled_body, Duration::from_secs(1)).await;
}

/// The real binary, its built-in limits and SIGTERM: it stops within
/// [`collector::serve::SHUTDOWN_GRACE`] (and a margin for draining) while a client holds half a
/// request, and no new connection is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_within_its_grace_on_sigterm_while_a_client_holds_a_half_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("COLLECTOR_DATA_DIR", dir.path())
        .env("RUST_LOG", "info")
        .env_remove("MONGODB_URI")
        .env_remove("COLLECTOR_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut child = KillOnDrop(Some(child));
    let port: u16 = loop {
        let mut line = String::new();
        assert!(log.read_line(&mut line).unwrap() > 0, "the collector exited");
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    let mut half = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: coll").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut process = child.0.take().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || process.wait().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(exited.success(), "{exited:?}");
    assert!(
        took < collector::serve::SHUTDOWN_GRACE + Duration::from_secs(3),
        "stopping took {took:?}"
    );
    read_until_closed(&mut half, Duration::from_secs(1)).await;
    let rest: Vec<String> = log.lines().map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("closing the connections still open")),
        "{rest:?}"
    );
}

/// Kills the process if a failed assertion leaves it running.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
