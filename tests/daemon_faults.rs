//! The daemon against its own faults, as a real child process: a storage error in the middle of
//! a listing (an unwritable WAL: needs root for `chattr +i`), stores whose breaker is open while
//! others are healthy, and a store whose URL changes while a run of the old URL is unfinished.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fakeshop::{Catalog, FakeShop, Fault, Faults};
use support::daemon::*;
use support::fakeshop;
use support::http::{get, metric_sum, wait_status};

/// A file made immutable with `chattr +i` until dropped.
struct Immutable(PathBuf);

impl Immutable {
    /// None when this machine cannot do it (not root, or a filesystem without the flag).
    fn set(path: &Path) -> Option<Immutable> {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status();
        match status {
            Ok(s) if s.success() => Some(Immutable(path.to_path_buf())),
            other => {
                eprintln!(
                    "SKIPPED: `chattr +i {}` failed ({other:?}); this test needs root and a \
                     filesystem with the immutable flag (CI runs it as root)",
                    path.display()
                );
                None
            }
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

fn runs_with(status: &str, store: &str) -> impl Fn(&str) -> f64 {
    let (status, store) = (format!("status=\"{status}\""), format!("store=\"{store}\""));
    move |text| metric_sum(text, "shopmirror_runs_total", &[&store, &status])
}

/// Needs root (`chattr +i` on the WAL); CI runs as root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_error_mid_listing_fails_the_run_which_backs_off_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(2000, 5)).await;
    config(dir.path(), "", &[("a", &shop)]);
    let gate = shop.pause_nth("/products.json", 5);
    let env = [
        ("SHOPMIRROR_DAEMON__RETRY_BASE", "1s"),
        ("SHOPMIRROR_DAEMON__RETRY_CAP", "2s"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    wait_db(dir.path(), "SELECT next_page FROM sync_cursor", |n| n == 5).await;
    let Some(lock) = Immutable::set(&dir.path().join("mirror.db-wal")) else {
        return;
    };
    gate.release();
    // The run ends (the database cannot record it, the metrics can) and readiness drops.
    let failed = runs_with("failed", "a");
    wait_metrics(&daemon, |m| failed(m) >= 1.0).await;
    assert_eq!(get(&daemon.url("/readyz")).await.0, 503);
    // The issue asks for the level: the storage failure is logged at ERROR, naming the store.
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(" ERROR ") && l.contains("store=a") && l.contains("mirror.db")),
        "{log}"
    );
    drop(lock);
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    let db = open_db(dir.path());
    let (runs, resumes, products): (i64, i64, i64) = db
        .query_row(
            "SELECT count(*), sum(resumes), (SELECT count(*) FROM products WHERE deleted_at IS NULL)
             FROM sync_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((runs, products), (1, 2000));
    assert!(resumes >= 1, "the failed run was resumed from its cursor");
    // Resumed, not restarted: the first page was asked for once.
    assert_eq!(listing_pages(&shop).iter().filter(|&&p| p == 1).count(), 1);
    // Ready again once the database works.
    wait_status(&daemon.url("/readyz"), 200).await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    let stopping = daemon.wait_message("STOPPING=1").await;
    assert!(
        stopping.contains("interrupting 0 running syncs"),
        "no run holds the shutdown: {stopping}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_stores_end_their_runs_at_once_and_never_starve_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let dead = || Faults::always(Fault::Status(503));
    let dead_a = FakeShop::start_with(Catalog::generate(10, 1), any, dead()).await;
    let dead_b = FakeShop::start_with(Catalog::generate(10, 2), any, dead()).await;
    let live_c = FakeShop::start(Catalog::generate(120, 3)).await;
    let live_d = FakeShop::start(Catalog::generate(120, 4)).await;
    let stores = [
        ("a-dead", &dead_a),
        ("b-dead", &dead_b),
        ("c-live", &live_c),
        ("d-live", &live_d),
    ];
    config(dir.path(), "", &stores);
    let env = [
        ("SHOPMIRROR_SYNC__CONCURRENT_STORES", "2"),
        ("SHOPMIRROR_DAEMON__SCHEDULE", "* * * * * *"),
        ("SHOPMIRROR_DAEMON__RETRY_BASE", "1s"),
        ("SHOPMIRROR_HTTP__BREAKER_THRESHOLD", "1"),
        ("SHOPMIRROR_HTTP__BREAKER_COOLDOWN", "1h"),
        ("SHOPMIRROR_HTTP__MAX_RETRY_AFTER", "1m"),
        ("SHOPMIRROR_HTTP__BACKOFF_BASE", "10ms"),
        ("SHOPMIRROR_HTTP__BACKOFF_CAP", "50ms"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    // The event: three runs of each live store (one-second schedule) while the dead stores'
    // breakers are still open (an hour's cool-down), i.e. before either dead store is due
    // again. Checked below: each dead store made its one request and no other, and its next
    // attempt is still ahead, later than every live run's end. WAIT only guards a hang, as
    // when dead runs held both slots (two concurrent stores) through their cool-down.
    for live in ["c-live", "d-live"] {
        wait_db(dir.path(), &complete_runs(live), |n| n >= 3).await;
    }
    let db = open_db(dir.path());
    let dead_runs: Vec<(String, String, String)> = db
        .prepare(
            "SELECT s.name, r.status, coalesce(r.error, '') FROM sync_runs r
             JOIN stores s USING (store_id) WHERE s.name LIKE '%-dead' ORDER BY r.run_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: BTreeSet<&str> = dead_runs.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{dead_runs:?}");
    assert_eq!(dead_runs.len(), 2, "one attempt each: {dead_runs:?}");
    for (_, status, error) in &dead_runs {
        assert_eq!(status, "failed");
        assert!(error.contains("breaker"), "{error}");
    }
    // One request each opened the breaker; nothing more was sent.
    assert_eq!((dead_a.request_count(), dead_b.request_count()), (1, 1));
    // While they wait, their next sync is the breaker's end, not a time in the past nor the
    // one-second retry backoff...
    let waiting: i64 = db
        .query_row(
            "SELECT count(*) FROM stores WHERE name LIKE '%-dead'
               AND next_sync_at > datetime('now', '+30 minutes')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waiting, 2);
    // ...and every live run ended before it: the live stores were not held until then.
    let served_first: i64 = db
        .query_row(
            "SELECT count(*) FROM stores WHERE name LIKE '%-dead'
               AND next_sync_at > (SELECT max(r.finished_at) FROM sync_runs r
                                   JOIN stores s USING (store_id)
                                   WHERE s.name LIKE '%-live' AND r.status = 'complete')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(served_first, 2);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

/// Live product ids of store `x`, and the statuses of its runs in order.
fn mirror_of_x(dir: &Path) -> (BTreeSet<u64>, Vec<String>) {
    let db = open_db(dir);
    let live = db
        .prepare("SELECT product_id FROM products WHERE deleted_at IS NULL")
        .unwrap()
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|id| id.unwrap() as u64)
        .collect();
    let runs = db
        .prepare("SELECT status FROM sync_runs ORDER BY run_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (live, runs)
}

/// Starts a daemon syncing `x` at `a` and returns once pages 1-3 are committed and page 4 is
/// held at the gate.
async fn half_synced(dir: &Path, a: &FakeShop) -> (Daemon, fakeshop::Gate) {
    config(dir, "", &[("x", a)]);
    let gate = a.pause_nth("/products.json", 4);
    let daemon = Daemon::start(dir, &[]).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    wait_db(dir, "SELECT next_page FROM sync_cursor", |n| n == 4).await;
    (daemon, gate)
}

/// After a URL change the store holds exactly the new shop's products; the old run is
/// abandoned and the new one enumerated from page 1.
fn assert_fresh_on(dir: &Path, b: &FakeShop) {
    let (live, runs) = mirror_of_x(dir);
    assert_eq!(runs, ["abandoned", "complete"]);
    let expected: BTreeSet<u64> = b.product_ids().into_iter().collect();
    assert_eq!(live, expected);
    assert_eq!(listing_pages(b)[0], 1, "a fresh enumeration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_url_abandons_the_unfinished_run_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = FakeShop::start(Catalog::generate(600, 11)).await;
    let b = FakeShop::start(Catalog::generate(150, 12)).await;
    let (mut daemon, gate) = half_synced(dir.path(), &a).await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    drop(gate);
    config(dir.path(), "", &[("x", &b)]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("x"), |n| n == 1).await;
    assert_fresh_on(dir.path(), &b);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighup_changing_a_running_store_url_stops_that_run_and_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let a = FakeShop::start(Catalog::generate(600, 13)).await;
    let b = FakeShop::start(Catalog::generate(150, 14)).await;
    let (mut daemon, _gate) = half_synced(dir.path(), &a).await;
    config(dir.path(), "", &[("x", &b)]);
    daemon.signal("HUP");
    wait_db(dir.path(), &complete_runs("x"), |n| n == 1).await;
    assert_fresh_on(dir.path(), &b);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}
