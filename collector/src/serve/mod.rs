//! The HTTP server loop: HTTP/1.1 connections with bounded patience for slow or silent clients,
//! a bounded number of connections, and a shutdown with a deadline.
//!
//! axum's own `serve` sets no timeouts: a client that sent half a request and stopped held its
//! connection forever, and a graceful shutdown waited for it until the orchestrator killed the
//! process. Here:
//!
//! * the request head must arrive within [`HEADER_READ_TIMEOUT`] of the connection being ready
//!   for it (hyper times it; an idle keep-alive connection is closed the same way);
//! * the body must arrive whole within [`BODY_READ_TIMEOUT`] ([`DeadlineBody`]; a handler reading
//!   it answers 408);
//! * at most [`MAX_CONNECTIONS`] connections are open; more wait in the listen backlog;
//! * on shutdown, no new connection is accepted, idle ones close at once, requests in flight may
//!   finish for [`SHUTDOWN_GRACE`], then every connection still open is closed. Events a request
//!   acknowledged are already with the writer, which drains after this returns.
//!
//! HTTP/1.1 only: HTTP/2 and TLS belong to the proxy or CDN in front, and hyper's protocol
//! detection for cleartext HTTP/2 reads the first bytes with no timeout at all.

mod body_deadline;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

pub use body_deadline::{body_deadline_in, BodyDeadlineExceeded, DeadlineBody};

/// How long a client may take to send a request's head (request line and headers), from the
/// moment the connection is ready for it: after connecting, or after the previous answer on a
/// keep-alive connection (so this is also how long an idle connection stays open).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request's body may take to arrive whole (a 1 MB body needs about 35 KB/s; a beacon
/// is a few hundred bytes).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most connections open at once. The process's open-file limit (`ulimit -n`) must be above it.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long requests in flight may finish after the shutdown signal before their connections are
/// closed. Short enough that the writer's drain after it fits in an orchestrator's stop timeout
/// (Docker waits 10 s, Kubernetes 30 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors, mostly) before the next one, so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The server's patience and bounds; [`Default`] is the named constants above. Tests shorten them.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then shuts down as described above.
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>, limits: ServeLimits) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stopping, stop) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let (stream, peer, permit) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // Finished connections' results, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(stream, peer, router.clone(), limits, stop.clone(), permit));
    }
    drop(listener);
    let _ = stopping.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            still_open = connections.len(),
            of = open,
            grace = ?limits.shutdown_grace,
            "closing the connections still open after the shutdown grace"
        );
        connections.shutdown().await;
    }
}

/// The next connection, once there is room for one.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> std::io::Result<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, permit))
}

/// Serves one connection until it closes, it times out, or shutdown asks it to finish.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // Beacons are small: send each answer at once rather than wait to fill a segment.
    let _ = stream.set_nodelay(true);
    let service = router.map_request(move |request: Request<Incoming>| {
        let mut request = request.map(|body| {
            axum::body::Body::new(DeadlineBody::new(axum::body::Body::new(body), limits.body_read_timeout))
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
            connection.as_mut().graceful_shutdown();
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error while shutting down");
            }
        }
    }
}
