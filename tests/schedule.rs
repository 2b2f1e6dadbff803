//! The daemon's schedules end to end (real binary, fake storefront, real SQLite): cron jobs
//! added, changed and removed by SIGHUP; a restart that neither skips nor doubles a due run;
//! /healthz following the scheduler loop's heartbeat.

use crate::support;

use std::path::Path;
use std::time::Duration;

use chrono::Datelike;
use chrono_tz::America::New_York;
use fakeshop::{Catalog, FakeShop};
use rusqlite::Connection;
use support::daemon::*;
use support::fakeshop;
use support::http::get;
use support::{configured, run, until};

/// The test config (yearly default schedule, no jitter) with `(name, shop, schedule)` stores.
fn config_with(dir: &Path, extra: &str, stores: &[(&str, &FakeShop, &str)]) {
    let path = config(dir, extra, &[]);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (name, shop, schedule) in stores {
        let url = shop.url();
        text.push_str(&format!(
            "[stores.{name}]\nurl = {url:?}\nschedule = {schedule:?}\n"
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn runs(dir: &Path, store: &str) -> i64 {
    open_db(dir)
        .query_row(&complete_runs(store), [], |r| r.get(0))
        .unwrap()
}

/// When a yearly schedule (UTC) fires next, as `next_sync_at` says it.
fn yearly_next() -> String {
    format!("{}-01-01 00:00:00", chrono::Utc::now().year() + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_changes_and_removes_cron_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(20, 1)).await;
    let every_second = "* * * * * *";
    config_with(
        dir.path(),
        "",
        &[
            ("a", &shop, every_second),
            ("b", &shop, "@yearly"),
            ("d", &shop, every_second),
        ],
    );
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    // Each syncs at once (never synced); a and d again on their every-second cron jobs.
    wait_db(dir.path(), &complete_runs("a"), |n| n >= 3).await;
    wait_db(dir.path(), &complete_runs("d"), |n| n >= 3).await;
    assert_eq!(runs(dir.path(), "b"), 1);
    assert_eq!(
        next_sync(dir.path(), "b").as_deref(),
        Some(yearly_next().as_str())
    );

    // a becomes yearly, b every second, c comes (every second), d goes.
    config_with(
        dir.path(),
        "",
        &[
            ("a", &shop, "@yearly"),
            ("b", &shop, every_second),
            ("c", &shop, every_second),
        ],
    );
    daemon.signal("HUP");
    wait_db(dir.path(), &complete_runs("c"), |n| n >= 1).await;
    let (a_then, d_then) = (runs(dir.path(), "a"), runs(dir.path(), "d"));
    // b's new job fires every second; c's too, after its first (new store) run.
    wait_db(dir.path(), &complete_runs("b"), |n| n >= 4).await;
    wait_db(dir.path(), &complete_runs("c"), |n| n >= 3).await;
    // a's and d's jobs are gone: at most the run that was under way at the reload ended since.
    assert!(runs(dir.path(), "a") <= a_then + 1);
    assert!(runs(dir.path(), "d") <= d_then + 1);
    until("a planned yearly", async || {
        next_sync(dir.path(), "a").as_deref() == Some(yearly_next().as_str())
    })
    .await;
    assert_eq!(next_sync(dir.path(), "d"), None, "d is no longer planned");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

/// Sets `store`'s planned next sync, as the daemon writes it (UTC).
fn plan(dir: &Path, store: &str, at: chrono::DateTime<chrono::Utc>) {
    let conn = Connection::open(dir.join("mirror.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    conn.execute(
        "UPDATE stores SET next_sync_at = ?2 WHERE name = ?1",
        [store, text.as_str()],
    )
    .unwrap();
}

fn last_run_started(dir: &Path, store: &str) -> String {
    open_db(dir)
        .query_row(
            "SELECT max(r.started_at) FROM sync_runs r JOIN stores s USING (store_id)
             WHERE s.name = ?1",
            [store],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_neither_skips_nor_doubles_a_due_run() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(20, 1)).await;
    config_with(dir.path(), "", &[("a", &shop, "@yearly")]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));

    // The planned run came due while the daemon was down: it runs at the start, once.
    plan(
        dir.path(),
        "a",
        chrono::Utc::now() - chrono::Duration::hours(1),
    );
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 2).await;
    until("a planned yearly", async || {
        next_sync(dir.path(), "a").as_deref() == Some(yearly_next().as_str())
    })
    .await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));

    // A run planned for a few seconds after the restart: not at the start, not skipped for
    // the yearly firing, and once.
    let planned = chrono::Utc::now() + chrono::Duration::seconds(4);
    plan(dir.path(), "a", planned);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 3).await;
    let started = last_run_started(dir.path(), "a");
    let planned_text = planned.format("%Y-%m-%d %H:%M:%S").to_string();
    assert!(
        started >= planned_text,
        "ran at {started}, planned {planned_text}"
    );
    until("a planned yearly", async || {
        next_sync(dir.path(), "a").as_deref() == Some(yearly_next().as_str())
    })
    .await;
    assert_eq!(runs(dir.path(), "a"), 3);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_503_while_the_scheduler_loop_stalls_and_200_once_it_ticks_again() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(20, 1)).await;
    config_with(dir.path(), "", &[("a", &shop, "@yearly")]);
    let env = [
        ("SHOPMIRROR_DAEMON__LIVENESS_TIMEOUT", "2s"),
        ("SHOPMIRROR_DAEMON__TIMEZONE", "America/New_York"),
    ];
    let mut daemon = Daemon::start(dir.path(), &env).await;
    wait_db(dir.path(), &complete_runs("a"), |n| n == 1).await;
    assert_eq!(get(&daemon.url("/healthz")).await.0, 200);
    // New Year in New York is 05:00 UTC; `status` shows it in the store's zone.
    let year = chrono::Utc::now().with_timezone(&New_York).year() + 1;
    until("a planned", async || next_sync(dir.path(), "a").is_some()).await;
    assert_eq!(
        next_sync(dir.path(), "a"),
        Some(format!("{year}-01-01 05:00:00"))
    );
    let mut status = configured(dir.path(), &["status"]);
    status.envs(env);
    let status = run(status).await;
    let shown =
        format!("schedule \"@yearly\" (America/New_York), next sync {year}-01-01 00:00:00 EST");
    assert!(status.stdout.contains(&shown), "{}", status.stdout);
    let mut json = configured(dir.path(), &["status", "--json"]);
    json.envs(env);
    let json: serde_json::Value = serde_json::from_str(&run(json).await.stdout).unwrap();
    assert_eq!(json[0]["timezone"], "America/New_York");
    let local = format!("{year}-01-01 00:00:00 EST");
    assert_eq!(json[0]["next_sync_local"], local.as_str());

    // An outside writer holds the database: the reload's first write waits in the loop (up
    // to the writer's 5 s busy timeout), so the loop stops ticking.
    let lock = Connection::open(dir.path().join("mirror.db")).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    daemon.signal("HUP");
    until("/healthz 503", async || {
        get(&daemon.url("/healthz")).await.0 == 503
    })
    .await;
    // Still answering: it is the loop that is stuck, not the process.
    assert_eq!(get(&daemon.url("/readyz")).await.0, 200);
    drop(lock);
    until("/healthz 200", async || {
        get(&daemon.url("/healthz")).await.0 == 200
    })
    .await;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT).await.code(), Some(0));
}

#[tokio::test]
async fn check_config_shows_the_next_three_firings_in_each_zone_and_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(1, 1)).await;
    config_with(
        dir.path(),
        "",
        &[("a", &shop, "30 2 * * *"), ("b", &shop, "@monthly")],
    );
    let mut text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    text.push_str("timezone = \"Europe/Berlin\"\n");
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    let out = run(configured(dir.path(), &["check-config"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let b = &shown["next_firings"]["stores.b"];
    assert_eq!(b["schedule"], "@monthly");
    assert_eq!(b["timezone"], "Europe/Berlin");
    let next = b["next"].as_array().unwrap();
    assert_eq!(next.len(), 3);
    for firing in next {
        // Midnight on the 1st in Berlin is 23:00 or 22:00 UTC the day before.
        let local = firing["local"].as_str().unwrap();
        let utc = firing["utc"].as_str().unwrap();
        assert!(local.contains("-01 00:00:00 CE"), "{local}");
        assert!(
            utc.ends_with(":00:00 UTC") && !utc.contains("-01 "),
            "{utc}"
        );
    }
    let a = &shown["next_firings"]["stores.a"];
    assert_eq!(a["timezone"], "UTC");
    assert!(a["next"][0]["local"]
        .as_str()
        .unwrap()
        .ends_with("02:30:00 UTC"));
    assert_eq!(
        shown["next_firings"]["daemon.schedule"]["schedule"],
        "0 0 0 1 1 *"
    );

    // A wrong expression: exit 2, naming the key, the file and what is wrong.
    let mut text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    text = text.replace("30 2 * * *", "30 2 * *");
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    let out = run(configured(dir.path(), &["check-config"])).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("key `stores.a.schedule`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("config.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("it has 4 fields"), "{}", out.stderr);
}
