//! The daemon as a real child process: graceful SIGTERM mid-sync and resume, SIGHUP reloads,
//! systemd notifications on a test-owned NOTIFY_SOCKET, health and metrics over HTTP, `status`,
//! outside read-only readers during a sync, and shard selection.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use fakeshop::{Catalog, FakeShop};
use rusqlite::Connection;
use shopmirror::config::Shard;
use support::daemon::*;
use support::fakeshop;
use support::http::{get, metric};
use support::{binary, configured, run, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_sync_exits_in_grace_notifies_systemd_and_resumes_without_refetching() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(1000, 3)).await;
    config(dir.path(), "", &[("a", &shop)]);
    let gate = shop.pause_nth("/products.json", 4);
    let mut daemon = Daemon::start(dir.path(), &[("WATCHDOG_USEC", "100000")]).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    daemon.wait_message("WATCHDOG=1").await;
    assert!(daemon
        .messages
        .iter()
        .any(|m| m.contains("STATUS=syncing a")));

    daemon.signal("TERM");
    let status = daemon.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(0));
    let stopping = daemon.wait_message("STOPPING=1").await;
    assert!(stopping.contains("STATUS=stopping"), "{stopping}");
    assert!(
        stopping.contains("interrupting 1 running syncs"),
        "{stopping}"
    );
    // Within the grace period: the run was not abandoned at its end but ended `interrupted`,
    // its cursor committed with its pages (below).

    // Pages 1-3 are committed with their cursor; the run is marked interrupted.
    let db = open_db(dir.path());
    let (status, pages, next_page, products): (String, i64, i64, i64) = db
        .query_row(
            "SELECT r.status, r.pages, c.next_page, (SELECT count(*) FROM products)
             FROM sync_runs r JOIN sync_cursor c USING (run_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), pages, next_page, products),
        ("interrupted", 3, 4, 300)
    );
    drop(db);

    drop(gate);
    let before = listing_pages(&shop).len();
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    let after: Vec<i64> = listing_pages(&shop)[before..].to_vec();
    // The resumed run starts at page 4 and asks for every later page once.
    assert_eq!(after, (4..=11).collect::<Vec<_>>());
    let db = open_db(dir.path());
    let (runs, products): (i64, i64) = db
        .query_row(
            "SELECT (SELECT count(*) FROM sync_runs), (SELECT count(*) FROM products)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((runs, products), (1, 1000));
    daemon.signal("INT");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_and_removes_stores_and_keeps_the_old_config_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let a = FakeShop::start(Catalog::generate(150, 1)).await;
    let b = FakeShop::start(Catalog::generate(120, 2)).await;
    config(dir.path(), "", &[("a", &a)]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    assert!(next_sync(dir.path(), "a").is_some());
    assert_eq!(b.request_count(), 0);

    // Swap a for b.
    config(dir.path(), "", &[("b", &b)]);
    daemon.signal("HUP");
    wait_db(dir.path(), &complete_runs("b"), |n| n == 1).await;
    assert_eq!(next_sync(dir.path(), "a"), None, "a is no longer planned");
    assert!(next_sync(dir.path(), "b").is_some());

    // An invalid file is refused; the next valid one (a and b) applies.
    std::fs::write(
        dir.path().join("config.toml"),
        "[daemon]\nno_such_key = 1\n",
    )
    .unwrap();
    daemon.signal("HUP");
    let (a_requests, b_requests) = (a.request_count(), b.request_count());
    config(dir.path(), "", &[("a", &a), ("b", &b)]);
    daemon.signal("HUP");
    wait_db(
        dir.path(),
        "SELECT count(*) FROM stores WHERE next_sync_at IS NOT NULL",
        |n| n == 2,
    )
    .await;
    // b kept its plan throughout: no second run, no new requests; a was merely re-planned.
    assert_eq!(b.request_count(), b_requests);
    assert_eq!(a.request_count(), a_requests);
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_status_after_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(250, 4)).await;
    config(dir.path(), "", &[("a", &shop)]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    assert_eq!(get(&daemon.url("/healthz")).await.0, 200);
    assert_eq!(get(&daemon.url("/readyz")).await.0, 200);
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    // The run's end (metrics, next plan) is recorded right after its row completes.
    wait_db(
        dir.path(),
        "SELECT count(*) FROM stores WHERE next_sync_at > datetime('now', '+1 hour')",
        |n| n == 1,
    )
    .await;
    let (code, text) = get(&daemon.url("/metrics")).await;
    assert_eq!(code, 200);
    assert_eq!(
        metric(&text, "shopmirror_pages_total{store=\"a\"}"),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &text,
            "shopmirror_products_total{store=\"a\",change=\"added\"}"
        ),
        Some(250.0)
    );
    assert_eq!(
        metric(
            &text,
            "shopmirror_runs_total{store=\"a\",status=\"complete\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "shopmirror_run_duration_seconds_count{store=\"a\"}"),
        Some(1.0)
    );
    let last = metric(
        &text,
        "shopmirror_last_success_timestamp_seconds{store=\"a\"}",
    )
    .unwrap();
    assert!((last - chrono::Utc::now().timestamp() as f64).abs() < 120.0);
    assert!(metric(&text, "shopmirror_database_bytes").unwrap() > 0.0);
    assert!(metric(&text, "shopmirror_wal_bytes").is_some());

    let out = run(configured(dir.path(), &["status", "--json"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let a = &status[0];
    assert_eq!(a["store"], "a");
    assert_eq!(a["live_products"], 250);
    assert_eq!(a["deleted_products"], 0);
    assert_eq!(a["last_run_status"], "complete");
    assert_eq!(a["last_run_new"], 250);
    assert_eq!(a["breaker_state"], "closed");
    assert!(a["last_error"].is_null());
    assert!(a["next_sync_at"].as_str().unwrap() > a["last_run_finished_at"].as_str().unwrap());
    let text = run(configured(dir.path(), &["status"])).await.stdout;
    assert!(text.starts_with("a: 250 live, 0 deleted"), "{text}");
    assert!(text.contains("last run complete"), "{text}");

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));

    // After a restart the last success is still exported (from the database).
    let finished: i64 = open_db(dir.path())
        .query_row(
            "SELECT CAST(strftime('%s', finished_at) AS INTEGER) FROM sync_runs",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    let text = get(&daemon.url("/metrics")).await.1;
    assert_eq!(
        metric(
            &text,
            "shopmirror_last_success_timestamp_seconds{store=\"a\"}"
        ),
        Some(finished as f64)
    );
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_readonly_readers_never_fail_nor_see_the_cursor_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(3000, 5)).await;
    config(dir.path(), "", &[("a", &shop)]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    let db = dir.path().join("mirror.db");
    let reader = tokio::task::spawn_blocking(move || {
        // One statement = one snapshot: the cursor, the run's pages and the products.
        let query =
            "SELECT coalesce((SELECT next_page FROM sync_cursor WHERE phase = 'products'), -1),
                        coalesce((SELECT pages FROM sync_runs), 0),
                        (SELECT count(*) FROM products),
                        coalesce((SELECT status FROM sync_runs), 'none');";
        let wal = db.with_extension("db-wal");
        let (mut reads, mut max_wal) = (0, 0);
        loop {
            max_wal = max_wal.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            let out = std::process::Command::new("sqlite3")
                .args(["-readonly", "-separator", " "])
                .arg(&db)
                .arg(query)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.is_empty(),
                "reader failed: {stderr}"
            );
            let line = String::from_utf8(out.stdout).unwrap();
            let f: Vec<&str> = line.split_whitespace().collect();
            let (next_page, pages, products): (i64, i64, i64) = (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            );
            if next_page > 0 {
                assert_eq!(pages, next_page - 1, "{line}");
                assert!(products >= pages * 100, "cursor ahead of rows: {line}");
            }
            reads += 1;
            if f[3] == "complete" {
                assert_eq!(products, 3000);
                return (reads, max_wal);
            }
        }
    });
    let (reads, max_wal) = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();
    assert!(reads > 1);
    // Under reader load the WAL stays within journal_size_limit (64 MiB)...
    assert!(max_wal <= 64 << 20, "WAL reached {max_wal} bytes");
    // ...and the checkpoint after the run truncates it once no reader needs it.
    let wal = dir.path().join("mirror.db-wal");
    until("the WAL to be truncated after the run", async || {
        std::fs::metadata(&wal).map_or(0, |m| m.len()) <= 1 << 20
    })
    .await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_syncs_only_its_stores() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(10, 6)).await;
    let names: Vec<String> = (0..12).map(|i| format!("store-{i}")).collect();
    let stores: Vec<(&str, &FakeShop)> = names.iter().map(|n| (n.as_str(), &shop)).collect();
    let log_file = dir.path().join("json.log");
    let extra = format!("shard = \"2/3\"\n[log]\nformat = \"json\"\nfile = {log_file:?}\n");
    config(dir.path(), &extra, &stores);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    let mine: BTreeSet<String> = names
        .iter()
        .filter(|n| Shard::of(n, 3) == 2)
        .cloned()
        .collect();
    assert!(!mine.is_empty() && mine.len() < names.len());
    let registered: BTreeSet<String> = open_db(dir.path())
        .prepare("SELECT name FROM stores")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(registered, mine);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    // log.format = "json" with log.file: every line of the file is one JSON object.
    let lines = std::fs::read_to_string(&log_file).unwrap();
    assert!(lines.lines().count() > 1);
    for line in lines.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(event["fields"].is_object(), "{line}");
    }
}

#[test]
fn bad_daemon_settings_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let log_file = dir.path().join("missing").join("x.log");
    let unopenable_log = format!("[log]\nfile = {log_file:?}\n");
    for bad in [
        unopenable_log.as_str(),
        "[daemon]\nschedule = \"0 */6 * *\"\n",
        "[daemon]\ntimezone = \"Europe/Berlln\"\n",
        "[daemon]\nlisten = \"localhost\"\n",
        "[daemon]\nretry_cap = \"1s\"\nretry_base = \"1m\"\n",
        "[log]\nformat = \"xml\"\n",
        "shard = \"3/2\"\n",
        "[stores.a]\nurl = \"https://a.example\"\nschedule = \"often\"\n",
    ] {
        std::fs::write(&config, bad).unwrap();
        let out = binary()
            .arg("--config")
            .arg(&config)
            .arg("check-config")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        if bad == unopenable_log {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let named = format!("cannot open log file {}: ", log_file.display());
            assert!(stderr.contains(&named), "{stderr}");
        }
    }
    std::fs::write(
        &config,
        "shard = \"1/2\"\n[daemon]\nschedule = \"0 30 3 * * *\"\njitter = \"10m\"\n\
         [log]\nformat = \"journald\"\n\
         [stores.a]\nurl = \"https://a.example\"\nschedule = \"0 0 * * * *\"\n",
    )
    .unwrap();
    let out = binary()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Holds the database's write lock, so the daemon's writer waits (up to its busy timeout).
fn lock_db(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("mirror.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_period_bounds_a_stuck_shutdown_and_a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(1000, 7)).await;
    config(dir.path(), "", &[("a", &shop)]);

    // A run whose writes are stuck (the daemon's writer waits up to 5 s for the lock, and again
    // for each later write): the daemon still exits 0 once its 1 s grace period is over.
    let gate = shop.pause_nth("/products.json", 4);
    let mut daemon = Daemon::start(dir.path(), &[("SHOPMIRROR_DAEMON__GRACE", "1s")]).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    let lock = lock_db(dir.path());
    let signalled = Instant::now();
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
    let took = signalled.elapsed();
    let grace = Duration::from_secs(1);
    assert!(took >= grace, "exited before the grace period: {took:?}");
    // This upper bound is no stand-in for an event: how long the exit takes IS what is
    // checked (the grace period bounds it; the stuck writes alone would hold it for longer).
    assert!(
        took < grace + Duration::from_secs(3),
        "waited for the stuck run: {took:?}"
    );
    drop((lock, gate));

    // With a long grace period, a second stop signal ends the wait at once.
    let gate = shop.pause_nth("/products.json", 2);
    let mut daemon = Daemon::start(dir.path(), &[("SHOPMIRROR_DAEMON__GRACE", "5m")]).await;
    tokio::time::timeout(WAIT, gate.reached()).await.unwrap();
    let lock = lock_db(dir.path());
    daemon.signal("TERM");
    daemon.wait_message("STOPPING=1").await;
    // Stopping: alive, but no longer ready.
    assert_eq!(get(&daemon.url("/readyz")).await.0, 503);
    assert_eq!(get(&daemon.url("/healthz")).await.0, 200);
    daemon.signal("TERM");
    // The event is the exit with 130 (a graceful end gives 0); WAIT, far under the 5 m grace,
    // only guards a hang.
    let status = daemon.wait_exit(WAIT).await;
    assert_eq!(status.code(), Some(130));
    drop((lock, gate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_retried_with_growing_backoff_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(250, 8)).await;
    shop.script_fault("/products.json", 2, fakeshop::Fault::Status(418));
    config(dir.path(), "", &[("a", &shop)]);
    let mut daemon = Daemon::start(dir.path(), &[("SHOPMIRROR_DAEMON__RETRY_BASE", "1s")]).await;
    // The failure is recorded while the store waits for its retry.
    wait_db(
        dir.path(),
        "SELECT count(*) FROM stores WHERE last_error LIKE '%418%'",
        |n| n == 1,
    )
    .await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    let firsts: Vec<_> = shop
        .request_log()
        .into_iter()
        .filter(|r| r.path.starts_with("/products.json") && r.path.ends_with("&page=1"))
        .collect();
    assert_eq!(firsts.len(), 3, "two failures, then success");
    assert_eq!(
        firsts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [418, 418, 200]
    );
    // Backoff: at least 1 s, then at least 2 s between attempts.
    assert!(firsts[1].received - firsts[0].received >= Duration::from_secs(1));
    assert!(firsts[2].received - firsts[1].received >= Duration::from_secs(2));
    let db = open_db(dir.path());
    let error: Option<String> = db
        .query_row("SELECT last_error FROM stores", [], |r| r.get(0))
        .unwrap();
    assert_eq!(error, None, "a success clears the error");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}
