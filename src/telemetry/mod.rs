//! The metrics catalogue: every series shopmirror exports, with its HELP text, the labelled
//! counters set to 0 for each store before anything happens (so alerts and rate() see the
//! series from the first scrape), `shopmirror_build_info`, and the process metrics (memory,
//! open file descriptors, CPU) collected at scrape time. Values are recorded by the functions in
//! `events`, one per notable event, so metric names appear only in this module.

pub mod alerts;
pub mod events;

use crate::change::ProductEvent;
use crate::endpoint::Endpoint;
use crate::outcome::RunStatus;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// The git commit the binary was built from, or "unknown".
pub const COMMIT: &str = env!("SHOPMIRROR_COMMIT");

/// HTTP answer classes of `shopmirror_http_requests_total`.
const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "error"];

/// Product changes of `shopmirror_products_total`: the product events' words (restored is
/// not counted there) and quarantined.
const CHANGES: [&str; 4] = [
    ProductEvent::Added.as_str(),
    ProductEvent::Changed.as_str(),
    ProductEvent::Deleted.as_str(),
    "quarantined",
];

/// Each histogram and its buckets (seconds): runs from 1 s to 4 h, requests from 10 ms to
/// 2 minutes.
pub const HISTOGRAMS: [(&str, &[f64]); 2] = [
    (
        "shopmirror_run_duration_seconds",
        &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4.0 * 3600.0],
    ),
    (
        "shopmirror_http_request_duration_seconds",
        &[
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
        ],
    ),
];

/// Describes every series and sets the process-wide ones (build info, zero counters).
pub fn describe() {
    describe_counter!("shopmirror_pages_total", "Listing pages written.");
    describe_counter!(
        "shopmirror_page_size_fallbacks_total",
        "Feed pages larger than http.max_body_bytes, asked again in smaller pages."
    );
    describe_counter!(
        "shopmirror_products_total",
        "Products written by change: added, changed, deleted, quarantined."
    );
    describe_counter!(
        "shopmirror_runs_total",
        "Runs ended, by status: complete, capped, failed, interrupted."
    );
    describe_histogram!(
        "shopmirror_run_duration_seconds",
        Unit::Seconds,
        "Duration of runs."
    );
    describe_gauge!(
        "shopmirror_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the store's last successful run (restored from the database at start)."
    );
    describe_gauge!(
        "shopmirror_next_sync_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the store's next planned run."
    );
    describe_gauge!("shopmirror_running_syncs", "Syncs in progress.");
    describe_counter!(
        "shopmirror_skipped_busy_total",
        "Planned runs skipped because another process was crawling the store."
    );
    describe_counter!(
        "shopmirror_config_reloads_total",
        "Config reloads by result: applied, invalid."
    );
    describe_gauge!(
        "shopmirror_database_bytes",
        Unit::Bytes,
        "Size of the SQLite database file, measured at scrape time."
    );
    describe_gauge!(
        "shopmirror_wal_bytes",
        Unit::Bytes,
        "Size of the SQLite write-ahead log, measured at scrape time."
    );
    describe_counter!(
        "shopmirror_http_requests_total",
        "HTTP requests to stores by answer class (2xx, 4xx, ..., error: no answer)."
    );
    describe_counter!(
        "shopmirror_http_retries_total",
        "Requests retried after a transient failure."
    );
    describe_counter!(
        "shopmirror_http_429_total",
        "Answers 429 Too Many Requests."
    );
    describe_gauge!(
        "shopmirror_breaker_open",
        "1 while the store's circuit breaker is open, else 0."
    );
    describe_histogram!(
        "shopmirror_http_request_duration_seconds",
        Unit::Seconds,
        "Latency of single HTTP requests to stores (answer fully read), by endpoint kind: \
         listing, collection, sitemap, single."
    );
    describe_gauge!(
        "shopmirror_http_requests_in_flight",
        "HTTP requests to stores waiting for their answer."
    );
    describe_gauge!(
        "shopmirror_build_info",
        "Always 1; the labels name the version and git commit of the running binary."
    );
    metrics::gauge!("shopmirror_build_info",
                    "version" => env!("CARGO_PKG_VERSION"), "commit" => COMMIT)
    .set(1.0);
    alerts::describe();
    metrics::gauge!("shopmirror_running_syncs").set(0.0);
    for result in ["applied", "invalid"] {
        metrics::counter!("shopmirror_config_reloads_total", "result" => result).absolute(0);
    }
}

/// Creates the per-store series at 0 (counters, gauges, in-flight) so they exist before the
/// store's first request. Adding 0 leaves an existing value alone.
pub fn register_store(store: &str) {
    let s = || store.to_string();
    metrics::counter!("shopmirror_pages_total", "store" => s()).increment(0);
    metrics::counter!("shopmirror_page_size_fallbacks_total", "store" => s()).increment(0);
    for change in CHANGES {
        metrics::counter!("shopmirror_products_total", "store" => s(), "change" => change)
            .increment(0);
    }
    for status in RunStatus::REACHED {
        metrics::counter!("shopmirror_runs_total", "store" => s(), "status" => status.as_str())
            .increment(0);
    }
    for class in STATUS_CLASSES {
        metrics::counter!("shopmirror_http_requests_total", "store" => s(), "status" => class)
            .increment(0);
    }
    metrics::counter!("shopmirror_http_retries_total", "store" => s()).increment(0);
    metrics::counter!("shopmirror_skipped_busy_total", "store" => s()).increment(0);
    metrics::counter!("shopmirror_http_429_total", "store" => s()).increment(0);
    metrics::gauge!("shopmirror_http_requests_in_flight", "store" => s()).increment(0.0);
    metrics::gauge!("shopmirror_breaker_open", "store" => s()).increment(0.0);
    // 0 until the store's first success (restored from the database at start): a store that
    // never synced is as stale as can be.
    metrics::gauge!("shopmirror_last_success_timestamp_seconds", "store" => s()).increment(0.0);
    metrics::gauge!("shopmirror_next_sync_timestamp_seconds", "store" => s()).increment(0.0);
    // Registering a histogram's handle is enough for it to be rendered, with count 0.
    let _ = metrics::histogram!("shopmirror_run_duration_seconds", "store" => s());
    for endpoint in Endpoint::ALL {
        let _ = metrics::histogram!("shopmirror_http_request_duration_seconds",
                                    "store" => s(), "endpoint" => endpoint.as_str());
    }
}

/// One request in `shopmirror_http_requests_in_flight`, until dropped (also when the request
/// is abandoned because its run was cancelled).
pub struct InFlight(metrics::Gauge);

impl InFlight {
    pub fn start(store: &str) -> InFlight {
        let gauge =
            metrics::gauge!("shopmirror_http_requests_in_flight", "store" => store.to_string());
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
