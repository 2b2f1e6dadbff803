//! The accept loop of the health/metrics listener, bounded so that its clients can never take
//! the file descriptors the syncs need: at most `Limits::connections` connections at once (one
//! more is closed as soon as it is accepted), a request head must arrive within
//! `Limits::head_timeout` (this also closes a keep-alive connection idle that long between
//! requests), and no connection lives longer than `Limits::lifetime`. Serves HTTP/1.1 only;
//! what is served is the caller's `Router`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// How far the listener lets its clients go.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; well under the process's descriptor limit.
    pub connections: usize,
    /// Time to send a whole request head, and the longest idle time between two requests.
    pub head_timeout: Duration,
    /// The longest a connection stays open, however busy (a client that never reads its
    /// answer cannot hold it).
    pub lifetime: Duration,
}

impl Limits {
    /// What the daemon uses (see README, "Health and metrics").
    pub const DAEMON: Limits = Limits {
        connections: 64,
        head_timeout: Duration::from_secs(5),
        lifetime: Duration::from_secs(60),
    };
}

/// How long the loop waits before accepting again after accept failed (e.g. the process is
/// out of descriptors), so a failing accept does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` within `limits` until `stop` is cancelled, then lets the open
/// connections finish the request they are serving.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: CancellationToken) {
    let permits = Arc::new(Semaphore::new(limits.connections));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn!(error = %e, "health/metrics endpoint: cannot accept a connection");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            debug!(
                limit = limits.connections,
                "health/metrics endpoint: connection closed, too many open"
            );
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::time::timeout(limits.lifetime, async {
                tokio::select! {
                    served = connection.as_mut() => served,
                    _ = stop.cancelled() => {
                        connection.as_mut().graceful_shutdown();
                        connection.as_mut().await
                    }
                }
            })
            .await;
            match served {
                Ok(Err(e)) => debug!(error = %e, "health/metrics connection ended"),
                Err(_) => debug!("health/metrics connection closed at its lifetime"),
                Ok(Ok(())) => {}
            }
        });
    }
    while connections.join_next().await.is_some() {}
}
