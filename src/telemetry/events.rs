//! Notable events, each one function that logs it and counts it: a request answered, a retry,
//! the breaker opening, a page written, products changed, a run started or ended, a reload.
//! Callers say what happened; the metric names and log wording live here and nowhere else.

use std::fmt::Display;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use crate::catalog::Unusable;
use crate::change::ProductEvent;
use crate::endpoint::Endpoint;
use crate::outcome::RunStatus;

/// A store's answer to one request for `endpoint` (`status` None when no answer came).
pub fn request_answered(store: &str, endpoint: Endpoint, status: Option<u16>, elapsed: Duration) {
    metrics::histogram!("shopmirror_http_request_duration_seconds", "store" => store.to_string(),
                        "endpoint" => endpoint.as_str())
    .record(elapsed.as_secs_f64());
    let class = match status {
        Some(s) => format!("{}xx", s / 100),
        None => "error".to_string(),
    };
    metrics::counter!("shopmirror_http_requests_total",
                      "store" => store.to_string(), "status" => class)
    .increment(1);
    if status == Some(429) {
        metrics::counter!("shopmirror_http_429_total", "store" => store.to_string()).increment(1);
    }
}

/// A request is repeated after `wait`: one warning per retry (a 429, a Retry-After wait and a
/// 5xx are each worth one).
pub fn retrying(store: &str, attempt: u32, wait: Duration, retry_after: bool, error: &dyn Display) {
    metrics::counter!("shopmirror_http_retries_total", "store" => store.to_string()).increment(1);
    warn!(store = %store, attempt, wait_ms = wait.as_millis() as u64, retry_after,
          error = %error, "retrying");
}

/// A Retry-After longer than `http.max_retry_after`: the store is left alone instead.
pub fn retry_after_too_long(store: &str, asked: Duration) {
    warn!(store = %store, seconds = asked.as_secs(),
          "Retry-After longer than http.max_retry_after: backing off");
}

/// The breaker opened for `hold`.
pub fn breaker_opened(store: &str, hold: Duration) {
    warn!(store = %store, seconds = hold.as_secs(),
          "circuit breaker open: no requests to this store until it cools down");
    breaker_state(store, 1.0);
}

/// The breaker's state as `shopmirror_breaker_open`: 1 open, 0.5 half-open, 0 closed.
pub fn breaker_state(store: &str, open: f64) {
    metrics::gauge!("shopmirror_breaker_open", "store" => store.to_string()).set(open);
}

/// Which page was written, and what it wrote.
pub struct PageWritten {
    /// A listing page (counted in `shopmirror_pages_total`); otherwise a collection page.
    pub listing: bool,
    pub number: i64,
    /// Products on the page (for a collection page: those this run had not met before).
    pub products: u64,
    pub new: u64,
    pub changed: u64,
}

/// A page and its cursor were committed.
pub fn page_written(store: &str, page: PageWritten) {
    let PageWritten {
        listing,
        number,
        products: on_page,
        new,
        changed,
    } = page;
    debug!(store = %store, listing, page = number, products = on_page, new, changed,
           "page written");
    if listing {
        metrics::counter!("shopmirror_pages_total", "store" => store.to_string()).increment(1);
    }
    products(store, ProductEvent::Added.as_str(), new);
    products(store, ProductEvent::Changed.as_str(), changed);
}

/// The listing has written `pages` pages and `products` products so far, at `per_s`.
pub fn listing_progress(store: &str, pages: u64, products: u64, per_s: u64) {
    info!(store = %store, pages, products, products_per_s = per_s, "listing progress");
}

/// Unusable products of the page at `url` were put in quarantine: one warning each (the
/// store sends something shopmirror cannot mirror), and counted.
pub fn quarantined(store: &str, url: &str, unusable: &[Unusable]) {
    for u in unusable {
        warn!(store = %store, url, product_id = u.id, reason = %u.reason, "product quarantined");
    }
    products(store, "quarantined", unusable.len() as u64);
}

/// A feed page of `from` items was larger than `http.max_body_bytes`: its items are asked
/// again in pages of `to`.
pub fn page_size_fallback(store: &str, url: &str, from: i64, to: i64) {
    warn!(store = %store, url, from, to,
          "page larger than http.max_body_bytes: asking for its items in smaller pages");
    metrics::counter!("shopmirror_page_size_fallbacks_total", "store" => store.to_string())
        .increment(1);
}

/// Unusable collections of the /collections.json page at `url` were put in quarantine: one
/// warning each; the run goes on with the others.
pub fn collections_quarantined(store: &str, url: &str, unusable: &[Unusable]) {
    for u in unusable {
        warn!(store = %store, url, collection_id = u.id, reason = %u.reason,
              "collection quarantined");
    }
}

/// `n` products were confirmed deleted (their tombstones committed).
pub fn products_deleted(store: &str, n: u64) {
    if n > 0 {
        info!(store = %store, deleted = n, "products confirmed deleted");
        products(store, ProductEvent::Deleted.as_str(), n);
    }
}

/// `n` products were `change` (a product event's word: added, changed, deleted; or
/// quarantined) by a write.
fn products(store: &str, change: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!("shopmirror_products_total", "store" => store.to_string(),
                          "change" => change)
        .increment(n);
    }
}

/// A run of `store` starts; `running` runs are now in progress.
pub fn run_started(store: &str, running: usize) {
    info!(store = %store, "sync starting");
    metrics::gauge!("shopmirror_running_syncs").set(running as f64);
}

/// What a failed run reports: its one-line error, and whether the database failed.
pub struct Failure<'a> {
    pub error: &'a str,
    pub storage: bool,
}

/// A run of `store` ended with `status` after `seconds` (`failure` says why when it failed;
/// `at` is the unix time); `running` runs are still in progress.
pub fn run_ended(
    store: &str,
    status: RunStatus,
    failure: Option<Failure<'_>>,
    (seconds, at): (f64, f64),
    running: usize,
) {
    metrics::gauge!("shopmirror_running_syncs").set(running as f64);
    metrics::counter!("shopmirror_runs_total", "store" => store.to_string(),
                      "status" => status.as_str())
    .increment(1);
    metrics::histogram!("shopmirror_run_duration_seconds", "store" => store.to_string())
        .record(seconds);
    match failure {
        Some(Failure {
            error,
            storage: true,
        }) => error!(store = %store, seconds, error = %error, "run failed: the database failed"),
        Some(Failure { error, .. }) => {
            warn!(store = %store, seconds, error = %error, "run failed")
        }
        // The run's own "sync finished" line (with its totals) already said it at info.
        None if status.finished() => {
            last_success(store, at);
            debug!(store = %store, status = %status, seconds, "run ended");
        }
        None => info!(store = %store, status = %status, seconds, "run ended"),
    }
}

/// `store` was not run: another process (`holder`) holds its lock. Not a run; `running` runs
/// are in progress.
pub fn skipped_busy(store: &str, holder: &str, running: usize) {
    metrics::gauge!("shopmirror_running_syncs").set(running as f64);
    metrics::counter!("shopmirror_skipped_busy_total", "store" => store.to_string()).increment(1);
    info!(store = %store, holder = %holder, "store is being synced by another process; skipped");
}

/// The store's last successful run, as a unix time (also restored from the database at start).
pub fn last_success(store: &str, at: f64) {
    metrics::gauge!("shopmirror_last_success_timestamp_seconds", "store" => store.to_string())
        .set(at);
}

/// The store's next planned run, as a unix time.
pub fn next_sync(store: &str, at: f64) {
    metrics::gauge!("shopmirror_next_sync_timestamp_seconds", "store" => store.to_string()).set(at);
}

/// How a SIGHUP reload ended.
pub enum Reload<'a> {
    /// The new config runs: `stores` stores, `removed` of the old ones dropped.
    Applied { stores: usize, removed: usize },
    /// The new config could not be used; the running one stays.
    Refused(&'a dyn Display),
}

/// A SIGHUP reload was applied or refused.
pub fn config_reloaded(reload: Reload<'_>) {
    let result = match reload {
        Reload::Applied { stores, removed } => {
            info!(stores, removed, "config reloaded");
            "applied"
        }
        Reload::Refused(e) => {
            error!(error = %e, "config reload refused; the running config stays");
            "invalid"
        }
    };
    metrics::counter!("shopmirror_config_reloads_total", "result" => result).increment(1);
}

/// The database and WAL file sizes, measured at scrape time.
pub fn file_sizes(database: u64, wal: u64) {
    metrics::gauge!("shopmirror_database_bytes").set(database as f64);
    metrics::gauge!("shopmirror_wal_bytes").set(wal as f64);
}
