//! One crawl per store across processes, through the real binary: a second `sync` of a store
//! another process is crawling refuses at once (exit 1, one line naming the store and the
//! holder's pid, nothing written); a daemon skips a store held elsewhere and retries it later
//! without counting a failure; `status` shows a run as running only while its holder lives.
//! The fake store never sees two requests at once, each product is counted once, and the
//! mirror is exact.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use support::daemon::Daemon;
use support::fakeshop::{Catalog, FakeShop};
use support::http::{get, metric};
use support::{assert_mirror_equals, configured, scalar, until, WAIT};
use tokio::process::Child;

const PRODUCTS: i64 = 600;

/// A config naming the store `a` at `shop`, pages of 100, a yearly schedule (so the daemon
/// runs a store only because it is new, resumes or retries) and retries after 1 s.
fn config(dir: &Path, shop: &FakeShop) -> PathBuf {
    let sections = "[sync]\npage_size = 100\n[daemon]\nlisten = \"127.0.0.1:0\"\ngrace = \"3s\"\n\
                    jitter = \"0s\"\nretry_base = \"1s\"\nschedule = \"0 0 0 1 1 *\"\n";
    support::write_config(dir, &dir.join("mirror.db"), sections, &[("a", &shop.url())])
}

fn spawn_sync(dir: &Path) -> Child {
    configured(dir, &["sync", "a"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts the daemon (support::daemon) on this test's config, loopback allowed, no pacing.
async fn start_daemon(dir: &Path) -> Daemon {
    Daemon::start(dir, &support::LOOPBACK).await
}

async fn status_json(dir: &Path) -> serde_json::Value {
    let done = support::run(configured(dir, &["status", "--json"])).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    serde_json::from_str(&done.stdout).unwrap()
}

/// Products counted by every run of the database, summed: new + changed + unchanged.
fn counted(db: &Path) -> i64 {
    scalar(
        db,
        "SELECT sum(products_new + products_changed + products_unchanged) FROM sync_runs",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_of_a_store_being_crawled_refuses_naming_the_holder() {
    let shop = FakeShop::start(Catalog::generate(PRODUCTS as usize, 5)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop);
    let db = dir.path().join("mirror.db");
    let gate = shop.pause_nth("/products.json", 2);
    let first = spawn_sync(dir.path());
    let holder = first.id().unwrap();
    gate.reached().await;

    let second = support::run(configured(dir.path(), &["sync", "a"])).await;
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    let line = second.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("store a") && line.contains(&format!("pid {holder}")),
        "{line}"
    );
    let status = status_json(dir.path()).await;
    assert_eq!(status[0]["last_run_status"], "running", "{status}");

    gate.release();
    let first = first.wait_with_output().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        shop.max_in_flight(),
        1,
        "two requests reached the store at once"
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 1);
    assert_eq!(scalar(&db, "SELECT products_new FROM sync_runs"), PRODUCTS);
    assert_eq!(counted(&db), PRODUCTS);
    // Every request the store answered belongs to the one run, and was counted once.
    let requests = scalar(&db, "SELECT requests FROM sync_runs");
    assert_eq!(requests, shop.request_count() as i64);
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_started_together_crawl_the_store_once_at_a_time() {
    let shop = FakeShop::start(Catalog::generate(PRODUCTS as usize, 6)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop);
    let db = dir.path().join("mirror.db");
    // The first listing request waits: whichever process sent it is mid-crawl, and the other
    // one runs while it waits.
    let gate = shop.pause_nth("/products.json", 1);
    let (a, b) = (spawn_sync(dir.path()), spawn_sync(dir.path()));
    gate.reached().await;
    let (a_pid, b_pid) = (a.id().unwrap(), b.id().unwrap());
    let (a, b) = (a.wait_with_output(), b.wait_with_output());
    tokio::pin!(a, b);
    // The other process ends while the first is held (refused, or crawling on its own).
    let (other, holder, a_ended) = tokio::time::timeout(WAIT, async {
        tokio::select! {
            out = &mut a => (out.unwrap(), b_pid, true),
            out = &mut b => (out.unwrap(), a_pid, false),
        }
    })
    .await
    .expect("one process ends while the other waits");
    gate.release();
    assert_eq!(
        other.status.code(),
        Some(1),
        "the second process must refuse"
    );
    let line = String::from_utf8_lossy(&other.stderr);
    assert!(line.contains(&format!("pid {holder}")), "{line}");
    let held = if a_ended { b.await } else { a.await }.unwrap();
    assert!(
        held.status.success(),
        "{}",
        String::from_utf8_lossy(&held.stderr)
    );
    assert_eq!(
        shop.max_in_flight(),
        1,
        "two requests reached the store at once"
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 1);
    assert_eq!(scalar(&db, "SELECT products_new FROM sync_runs"), PRODUCTS);
    assert_eq!(counted(&db), PRODUCTS);
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_leaves_an_interrupted_run_that_the_next_sync_resumes() {
    let shop = FakeShop::start(Catalog::generate(PRODUCTS as usize, 7)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop);
    let db = dir.path().join("mirror.db");
    let gate = shop.pause_nth("/products.json", 3);
    let mut first = spawn_sync(dir.path());
    gate.reached().await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    gate.release();

    let status = status_json(dir.path()).await;
    assert_eq!(status[0]["last_run_status"], "interrupted", "{status}");
    let done = support::run(configured(dir.path(), &["sync", "a"])).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 1);
    assert_eq!(scalar(&db, "SELECT resumes FROM sync_runs"), 1);
    assert_eq!(counted(&db), PRODUCTS);
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_sync_is_refused_while_the_daemon_crawls_the_store() {
    let shop = FakeShop::start(Catalog::generate(PRODUCTS as usize, 8)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop);
    let db = dir.path().join("mirror.db");
    let gate = shop.pause_nth("/products.json", 2);
    let mut daemon = start_daemon(dir.path()).await;
    gate.reached().await;

    let manual = support::run(configured(dir.path(), &["sync", "a"])).await;
    assert_eq!(manual.code, Some(1), "{}", manual.stderr);
    let pid = daemon.child.id().unwrap();
    assert!(
        manual.stderr.contains(&format!("pid {pid}")),
        "{}",
        manual.stderr
    );

    gate.release();
    let complete = "SELECT count(*) FROM sync_runs WHERE status = 'complete'";
    until("the daemon's run", async || scalar(&db, complete) == 1).await;
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();
    assert_eq!(
        shop.max_in_flight(),
        1,
        "two requests reached the store at once"
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 1);
    assert_eq!(counted(&db), PRODUCTS);
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_skips_a_store_a_manual_sync_holds_and_retries_without_a_failure() {
    let shop = FakeShop::start(Catalog::generate(PRODUCTS as usize, 9)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop);
    let db = dir.path().join("mirror.db");
    let gate = shop.pause_nth("/products.json", 2);
    let manual = spawn_sync(dir.path());
    gate.reached().await;
    let mut daemon = start_daemon(dir.path()).await;
    let skipped = "shopmirror_skipped_busy_total{store=\"a\"}";
    let mut text = String::new();
    until("the daemon to skip the held store", async || {
        text = get(&daemon.url("/metrics")).await.1;
        metric(&text, skipped).is_some_and(|n| n >= 1.0)
    })
    .await;

    gate.release();
    let manual = manual.wait_with_output().await.unwrap();
    assert!(
        manual.status.success(),
        "{}",
        String::from_utf8_lossy(&manual.stderr)
    );
    // The daemon retries after retry_base and completes a second, fresh run.
    let complete = "SELECT count(*) FROM sync_runs WHERE status = 'complete'";
    until("the daemon's retry", async || scalar(&db, complete) == 2).await;
    let text = get(&daemon.url("/metrics")).await.1;
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();
    // Counters exist at 0 from the start; a skip must not have counted as a failure.
    assert_eq!(
        metric(
            &text,
            "shopmirror_runs_total{store=\"a\",status=\"failed\"}"
        )
        .unwrap_or(0.0),
        0.0
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 2);
    assert_eq!(
        shop.max_in_flight(),
        1,
        "two requests reached the store at once"
    );
    assert_eq!(
        scalar(&db, "SELECT sum(products_new) FROM sync_runs"),
        PRODUCTS
    );
    assert_eq!(counted(&db), 2 * PRODUCTS);
    assert_mirror_equals(&shop, &db);
}
