//! The daemon: keeps every configured store fresh on its schedule. Owns the live loop
//! (hearing cron jobs fire, dispatching runs, planning the next ones, reloading the config,
//! stopping gracefully), signal handling, systemd notifications and the health/metrics
//! endpoint. Syncing itself
//! lives in `sync`, SQL in `store`.

mod exposition;
pub mod http;
pub mod listener;
mod live;
pub mod notify;
pub mod schedule;
pub mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::store::{self, Writer};
use http::Health;
use live::Live;
use notify::Notifier;
use schedule::Clock;

/// What the outside asks of a running daemon (signals in production, tests directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Re-read the config file; keep the running config if the new one is invalid.
    Reload,
    /// Stop dispatching, interrupt running syncs, exit within the grace period.
    Shutdown,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Client(#[from] crate::storefront::BuildError),
    #[error(transparent)]
    Recorder(#[from] http::RecorderError),
    #[error(transparent)]
    Cron(#[from] schedule::jobs::Error),
}

/// Where the daemon's inputs come from.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file re-read on reload (None: defaults and environment only).
    pub config_file: Option<PathBuf>,
    /// A database path from the command line, which overrides the config on every reload.
    pub db: Option<PathBuf>,
    /// Where /healthz, /readyz and /metrics are served (port 0: any free port).
    pub listen: SocketAddr,
    pub clock: Clock,
}

/// Runs the daemon until `controls` says Shutdown (or closes): opens the database, serves
/// health and metrics, plans and dispatches syncs, and stops within the grace period.
pub async fn run(
    options: Options,
    config: Config,
    controls: mpsc::Receiver<Control>,
) -> Result<(), Error> {
    let metrics = http::install_recorder()?;
    crate::telemetry::describe();
    let writer = Writer::open(&config.db_path)?;
    let health = Arc::new(Health::new(
        config.db_path.clone(),
        config.daemon.liveness_timeout,
    ));
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: options.listen,
        source,
    })?;
    let pages = crate::web::pages(&config.db_path, &config.web, addr)
        .inspect_err(|e| tracing::warn!("web pages not served: {e}"))
        .ok();
    let stop_http = CancellationToken::new();
    let http_task = tokio::spawn(http::serve(
        listener,
        health.clone(),
        metrics,
        pages,
        stop_http.clone(),
    ));
    let notifier = Notifier::from_env();
    let mut live = Live::new(options, config, writer, notifier.clone(), health.clone()).await?;
    live.register_stores().await?;
    live.restore_last_successes().await?;
    live.start_alerts().await;
    health.scheduling.store(true, Ordering::Relaxed);
    let stores = live.store_count();
    if stores == 0 {
        tracing::warn!(
            "no stores configured: the daemon crawls nothing until [stores.NAME] \
                        tables are added to the config (then reload with SIGHUP)"
        );
    }
    info!(%addr, stores, "daemon ready: health and metrics on http://{addr}/");
    notifier.ready(&format!("ready: {stores} stores scheduled; http {addr}"));
    live.run(controls).await;
    live.stop_alerts().await;
    stop_http.cancel();
    let _ = http_task.await;
    notifier.status("stopped");
    info!("daemon stopped");
    notifier.flush();
    Ok(())
}
