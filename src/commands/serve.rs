//! `shopmirror serve`: the read-only web pages (and /healthz) over a database, without the
//! scheduler, until SIGTERM or SIGINT. Refuses a non-loopback address without `web.auth`.

use std::net::SocketAddr;

use axum::routing::get;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

use super::Failure;
use crate::config::Config;
use crate::message::one_line;

/// Where `serve` listens unless told: loopback, one port above the daemon's default, so both
/// can run on one machine.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9188";

pub fn run(config: &Config, listen: Option<SocketAddr>) -> Result<(), Failure> {
    let addr = listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid address"));
    config
        .web
        .check_exposure(addr)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if !config.db_path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist yet: run `shopmirror sync` first",
            config.db_path.display()
        )));
    }
    let pages = crate::web::pages(&config.db_path, &config.web, addr)
        .map_err(|e| Failure::Failed(one_line(&e)))?;
    let app = pages.route("/healthz", get(|| async { "ok\n" }));
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::Failed(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::Failed(format!("cannot listen on {addr}: {e}")))?;
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Failure::Failed(format!("cannot install signal handlers: {e}")))?;
        info!(addr = %bound, db = %config.db_path.display(), "serving the web pages on http://{bound}/ (read-only)");
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            })
            .await
            .map_err(|e| Failure::Failed(format!("web server on {bound}: {e}")))
    })
}
