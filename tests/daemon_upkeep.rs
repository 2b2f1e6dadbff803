//! What the daemon keeps straight around runs, as a real child process: circuit breakers across
//! SIGHUP reloads, a store's last error across interruptions, readiness when the database file
//! goes away, the waiting of interrupted runs, and a one-shot sync leaving a self-contained
//! database file.

use crate::support;

use std::time::Duration;

use fakeshop::{Catalog, FakeShop, Fault, Faults, RetryAfter};
use support::daemon::*;
use support::fakeshop;
use support::http::{get, metric, metric_sum};
use support::until;

/// Runs of `store` that ended `failed`, from /metrics (a failed run resumed by the next
/// attempt keeps its row).
fn failed(store: &str, n: f64) -> impl Fn(&str) -> bool {
    let store = format!("store=\"{store}\"");
    move |m| metric_sum(m, "shopmirror_runs_total", &[&store, r#"status="failed""#]) == n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakers_survive_a_reload_and_a_removed_store_loses_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let dead = Faults::always(Fault::Status(503));
    let dead = FakeShop::start_with(Catalog::generate(10, 1), any, dead).await;
    let live = FakeShop::start(Catalog::generate(50, 2)).await;
    config(dir.path(), "", &[("dead", &dead), ("live", &live)]);
    let env = [
        ("SHOPMIRROR_DAEMON__RETRY_BASE", "1s"),
        ("SHOPMIRROR_HTTP__BREAKER_THRESHOLD", "3"),
        ("SHOPMIRROR_HTTP__BREAKER_COOLDOWN", "3s"),
        ("SHOPMIRROR_HTTP__MAX_ATTEMPTS", "5"),
        ("SHOPMIRROR_HTTP__BACKOFF_BASE", "10ms"),
        ("SHOPMIRROR_HTTP__BACKOFF_CAP", "50ms"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    wait_metrics(&daemon, failed("dead", 1.0)).await;
    wait_db(dir.path(), &complete_runs("live"), |n| n == 1).await;
    // Three failures opened the breaker; the run ended there.
    assert_eq!(dead.request_count(), 3, "{:#?}", dead.request_log());
    let open = r#"shopmirror_breaker_open{store="dead"}"#;
    let text = wait_metrics(&daemon, |m| metric(m, open) == Some(1.0)).await;
    assert!(text.contains(r#"store="live""#));

    // The same stores, then without `live`: two reloads.
    daemon.signal("HUP");
    let applied = |n: f64| {
        move |m: &str| {
            metric_sum(
                m,
                "shopmirror_config_reloads_total",
                &[r#"result="applied""#],
            ) == n
        }
    };
    wait_metrics(&daemon, applied(1.0)).await;
    config(dir.path(), "", &[("dead", &dead)]);
    daemon.signal("HUP");
    let text = wait_metrics(&daemon, applied(2.0)).await;
    assert_eq!(metric(&text, open), Some(1.0), "the gauge survives");
    assert!(!text.contains(r#"store="live""#), "{text}");

    // The next attempt, at the breaker's end, is a single half-open probe: the breaker
    // kept its state through the reloads.
    wait_metrics(&daemon, failed("dead", 2.0)).await;
    assert_eq!(dead.request_count(), 4, "{:#?}", dead.request_log());
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_resumed_run_keeps_its_error_and_its_wait() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(600, 3)).await;
    shop.script_fault("/products.json", 1, Fault::Status(418));
    // Page 2 of the resumed run asks the client to wait 30 s.
    let gate = shop.pause_nth("/products.json", 3);
    config(dir.path(), "", &[("a", &shop)]);
    let env = [
        ("SHOPMIRROR_DAEMON__RETRY_BASE", "1s"),
        ("SHOPMIRROR_HTTP__MAX_RETRY_AFTER", "1m"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::Seconds(30)),
    );
    gate.release();
    until("the 429 to be served", async || {
        shop.request_log().iter().any(|r| r.status == 429)
    })
    .await;
    // The measured quantity: the run waits out the Retry-After for at least this long.
    tokio::time::sleep(Duration::from_secs(1)).await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    let db = open_db(dir.path());
    let (status, error, wait_ms, last_error): (String, Option<String>, i64, Option<String>) = db
        .query_row(
            "SELECT r.status, r.error, r.wait_ms, s.last_error
             FROM sync_runs r JOIN stores s USING (store_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(status, "interrupted");
    assert!(
        error.is_some_and(|e| e.contains("418")),
        "the run keeps its error"
    );
    assert!(
        last_error.is_some_and(|e| e.contains("418")),
        "the store too"
    );
    assert!(wait_ms >= 900, "wait_ms {wait_ms}");
}

/// Polls /readyz until it answers `status`.
async fn wait_ready(daemon: &Daemon, status: u16) {
    support::http::wait_status(&daemon.url("/readyz"), status).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_replaced_database_file_is_not_ready_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(50, 4)).await;
    config(dir.path(), "", &[("a", &shop)]);
    let env = [
        ("SHOPMIRROR_DAEMON__SCHEDULE", "* * * * * *"),
        ("SHOPMIRROR_DAEMON__RETRY_BASE", "1s"),
        ("SHOPMIRROR_DAEMON__RETRY_CAP", "1s"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n >= 1).await;
    wait_ready(&daemon, 200).await;

    // Replaced: a copy (a new inode) moves over the file the daemon has open.
    let db = dir.path().join("mirror.db");
    let copy = dir.path().join("copy.db");
    let backup = rusqlite::Connection::open(&db).unwrap();
    backup
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    drop(backup);
    let bytes = std::fs::read(&copy).unwrap();
    std::fs::rename(&copy, &db).unwrap();
    wait_ready(&daemon, 503).await;
    let refused = |n: f64| {
        move |m: &str| {
            metric_sum(
                m,
                "shopmirror_runs_total",
                &[r#"store="a""#, r#"status="failed""#],
            ) >= n
        }
    };
    wait_metrics(&daemon, refused(2.0)).await;
    let asked = shop.request_count();
    wait_metrics(&daemon, refused(4.0)).await;
    assert_eq!(
        shop.request_count(),
        asked,
        "refused before asking the store"
    );
    assert!(
        std::fs::read(&db).unwrap() == bytes,
        "the new file is not written"
    );

    // Deleted: still not ready, nothing recreated.
    std::fs::remove_file(&db).unwrap();
    wait_metrics(&daemon, refused(6.0)).await;
    assert_eq!(get(&daemon.url("/readyz")).await.0, 503);
    assert!(!db.exists());
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_sync_leaves_the_whole_mirror_in_the_db_file() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(300, 5)).await;
    let db = dir.path().join("mirror.db");
    let out = support::sync(&db, &shop.url()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Copy the .db alone, as a backup script would.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("mirror.db");
    std::fs::copy(&db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let products: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .unwrap();
    assert_eq!(products, 300);
}
