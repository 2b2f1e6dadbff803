//! The health and metrics endpoint: /healthz (the process answers), /readyz (database working
//! and scheduler running, else 503) and /metrics (Prometheus text, with process memory, open
//! file descriptors and CPU collected at each scrape, without the series of stores a reload
//! removed). Serves until cancelled.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// What /readyz reports, set by the live loop, and the stores whose series /metrics leaves
/// out (removed by a reload; the recorder itself cannot forget a series).
#[derive(Debug)]
pub struct Health {
    /// False while the database fails (a run ended on a storage error, or the file was
    /// deleted or replaced); true again once a run gets through.
    pub db_open: AtomicBool,
    pub scheduling: AtomicBool,
    pub db_path: PathBuf,
    pub removed_stores: Mutex<BTreeSet<String>>,
}

impl Health {
    pub fn new(db_path: PathBuf) -> Health {
        Health {
            db_open: AtomicBool::new(true),
            scheduling: AtomicBool::new(false),
            db_path,
            removed_stores: Mutex::new(BTreeSet::new()),
        }
    }

    /// Leaves the series of `store` out of /metrics (true) or shows them again (false).
    pub fn set_removed(&self, store: &str, removed: bool) {
        let mut stores = self.removed_stores.lock().expect("health lock");
        if removed {
            stores.insert(store.to_string());
        } else {
            stores.remove(store);
        }
    }
}

#[derive(Clone)]
struct Shared {
    health: Arc<Health>,
    metrics: PrometheusHandle,
    process: Arc<metrics_process::Collector>,
}

/// Why the metrics recorder could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// A histogram's buckets were refused.
    #[error("histogram buckets of {metric}: {source}")]
    Buckets {
        metric: &'static str,
        #[source]
        source: BuildError,
    },
    /// Another recorder is installed in this process.
    #[error("cannot install the metrics recorder: {0}")]
    Install(#[source] BuildError),
}

/// Installs the process-wide Prometheus recorder (once per process).
pub fn install_recorder() -> Result<PrometheusHandle, RecorderError> {
    let mut builder = PrometheusBuilder::new();
    for (metric, buckets) in crate::telemetry::HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(metric.into()), buckets)
            .map_err(|source| RecorderError::Buckets { metric, source })?;
    }
    builder.install_recorder().map_err(RecorderError::Install)
}

/// Serves the endpoints, and the web `pages` when given, on `listener` until `stop` is
/// cancelled.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    metrics: PrometheusHandle,
    pages: Option<Router>,
    stop: CancellationToken,
) {
    let process = metrics_process::Collector::default();
    process.describe();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(Shared {
            health,
            metrics,
            process: Arc::new(process),
        })
        .merge(pages.unwrap_or_default());
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        warn!(error = %e, "health/metrics endpoint stopped");
    }
}

async fn readyz(State(shared): State<Shared>) -> (StatusCode, &'static str) {
    let h = &shared.health;
    if h.db_open.load(Ordering::Relaxed) && h.scheduling.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn render_metrics(State(shared): State<Shared>) -> String {
    record_file_sizes(&shared.health.db_path);
    shared.process.collect();
    shared.metrics.run_upkeep();
    let text = shared.metrics.render();
    let removed = shared.health.removed_stores.lock().expect("health lock");
    if removed.is_empty() {
        return text;
    }
    let labels: Vec<String> = removed.iter().map(|s| store_label(s)).collect();
    text.lines()
        .filter(|line| !labels.iter().any(|label| line.contains(label.as_str())))
        .flat_map(|line| [line, "\n"])
        .collect()
}

/// The `store` label as the exporter renders it (backslash, quote and newline escaped).
fn store_label(store: &str) -> String {
    let escaped = store
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("store=\"{escaped}\"")
}

/// Database and WAL file sizes, measured at scrape time.
fn record_file_sizes(db: &Path) {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    crate::telemetry::events::file_sizes(size(db), size(Path::new(&wal)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_recorder_in_one_process_is_refused() {
        // The only test of this binary that installs the global recorder.
        let handle = install_recorder().unwrap();
        let e = install_recorder().unwrap_err();
        assert!(matches!(e, RecorderError::Install(_)), "{e:?}");
        let message = e.to_string();
        assert!(
            message.starts_with("cannot install the metrics recorder: "),
            "{message}"
        );
        drop(handle);
    }
}
