//! The health and metrics endpoint: /healthz (the scheduler loop's heartbeat is recent, else
//! 503), /readyz (database working and scheduler running, else 503) and /metrics (Prometheus
//! text, with process memory, open file descriptors and CPU collected at each render, without
//! the series of stores a reload removed; one render shared by concurrent scrapes, see
//! `exposition`). Serves until cancelled, on the bounded accept loop of `listener`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::{HeaderName, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::exposition::{self, Exposition};

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
    /// When the scheduler loop last beat, and how old that may get before /healthz says 503.
    heartbeat: Mutex<Instant>,
    liveness_timeout: Duration,
}

impl Health {
    pub fn new(db_path: PathBuf, liveness_timeout: Duration) -> Health {
        Health {
            db_open: AtomicBool::new(true),
            scheduling: AtomicBool::new(false),
            db_path,
            removed_stores: Mutex::new(BTreeSet::new()),
            heartbeat: Mutex::new(Instant::now()),
            liveness_timeout,
        }
    }

    /// The scheduler loop is alive (called from the loop itself).
    pub fn beat(&self) {
        *self.heartbeat.lock().expect("health lock") = Instant::now();
    }

    /// How long ago the loop last beat, when that is past the liveness timeout.
    pub fn stalled(&self) -> Option<Duration> {
        let age = self.heartbeat.lock().expect("health lock").elapsed();
        (age > self.liveness_timeout).then_some(age)
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
    exposition: Arc<Exposition>,
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

/// Serves the endpoints on `listener`, within the listener's limits, until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    metrics: PrometheusHandle,
    stop: CancellationToken,
) {
    let process = metrics_process::Collector::default();
    process.describe();
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(Shared {
            health,
            metrics,
            process: Arc::new(process),
            exposition: Arc::default(),
        });
    super::listener::serve(listener, app, super::listener::Limits::DAEMON, stop).await;
}

async fn healthz(State(shared): State<Shared>) -> (StatusCode, String) {
    match shared.health.stalled() {
        None => (StatusCode::OK, "ok\n".into()),
        Some(age) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("scheduler stalled: no heartbeat for {}s\n", age.as_secs()),
        ),
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

/// One render at a time, shared by the scrapes that ask within `exposition::FRESH_FOR`.
async fn render_metrics(State(shared): State<Shared>) -> ([(HeaderName, &'static str); 1], Bytes) {
    let body = shared
        .exposition
        .body(|| {
            record_file_sizes(&shared.health.db_path);
            shared.process.collect();
            shared.metrics.run_upkeep();
            let text = shared.metrics.render();
            let removed = shared.health.removed_stores.lock().expect("health lock");
            exposition::without_stores(&text, removed.iter())
        })
        .await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
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
