//! Whole syncs through the resilient client, checked on the database.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::expected_hashes;
use crate::support::mirror::{context, named_store};
use rusqlite::Connection;
use shopmirror::sync::sync_store;

use super::*;

/// (status, retries, wait_ms, breaker_state) of every run, oldest first.
fn runs(db: &Path) -> Vec<(String, i64, i64, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT status, retries, wait_ms, breaker_state FROM sync_runs ORDER BY run_id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_exhausts_its_retries_is_resumed_next_run() {
    let shop = fake(100, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let mut s = settings();
    s.retry.max_attempts = 3;
    let ctx = context(&db, s, 25);
    // Faults are chosen by path alone: the hook scripts one for each request of page 2.
    let (hooked, left) = (shop.clone(), Arc::new(AtomicUsize::new(3)));
    shop.on_request(move |path, _| {
        let take = |n: usize| n.checked_sub(1);
        if path.ends_with("page=2")
            && left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
                .is_ok()
        {
            hooked.script_fault("/products.json", 1, Fault::Status(503));
        }
    });
    let e = sync_store(&ctx, &named_store(STORE, &shop, true))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("HTTP 503") && e.to_string().contains("page=2"),
        "{e}"
    );
    assert_eq!(
        support::mirrored_hashes(&db).len(),
        25,
        "only page 1 was written"
    );
    assert_eq!(runs(&db)[0].0, "failed");
    assert_eq!(runs(&db)[0].1, 2, "two retries recorded");
    let conn = Connection::open(&db).unwrap();
    let next: i64 = conn
        .query_row("SELECT next_page FROM sync_cursor", [], |r| r.get(0))
        .unwrap();
    assert_eq!(next, 2);
    shop.clear_on_request();
    shop.clear_request_log();
    sync_store(&ctx, &named_store(STORE, &shop, true))
        .await
        .unwrap();
    assert!(
        shop.request_log()[0].path.ends_with("page=2"),
        "resumed at page 2"
    );
    assert_eq!(
        support::mirrored_hashes(&db),
        expected_hashes(shop.expected_products())
    );
    let last = runs(&db).pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.3.as_deref()),
        ("complete", Some("closed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_under_mixed_faults_mirrors_the_whole_catalogue() {
    let faults = Faults::seeded(1)
        .with(0.10, Fault::TooManyRequests(RetryAfter::Seconds(1)))
        .with(0.05, Fault::Status(503))
        .with(0.02, Fault::TruncatedClose)
        .with(0.01, Fault::Hang)
        .only_paths(&["/products.json"]);
    let shop = fake(1500, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let mut s = settings();
    s.retry.max_attempts = 8;
    s.request_timeout = Duration::from_secs(2);
    s.read_timeout = Duration::from_secs(1);
    s.breaker_cooldown = Duration::from_secs(2);
    let ctx = context(&db, s, 25);
    let started = std::time::Instant::now();
    let counts = sync_store(&ctx, &named_store(STORE, &shop, true))
        .await
        .unwrap();
    let log = shop.request_log();
    let faulted = log.iter().filter(|r| r.fault.is_some()).count();
    let mut kinds = BTreeMap::new();
    for fault in log.iter().filter_map(|r| r.fault.as_deref()) {
        *kinds.entry(fault).or_insert(0) += 1;
    }
    let (status, retries, wait_ms, breaker) = runs(&db).pop().unwrap();
    println!(
        "mixed faults: {} requests ({faulted} faulted), {retries} retries, {wait_ms} ms waited, \
         {:.1} s total, {} products, breaker {breaker:?}; faults {kinds:?}",
        log.len(),
        started.elapsed().as_secs_f64(),
        counts.new
    );
    assert_eq!(
        kinds.len(),
        4,
        "every kind of fault was injected: {kinds:?}"
    );
    assert_eq!(status, "complete");
    assert_eq!(
        retries as usize, faulted,
        "every faulted request was retried once"
    );
    assert!(wait_ms >= 1000 * log.iter().filter(|r| r.status == 429).count() as i64);
    let (mirror, expected) = (
        support::mirrored_hashes(&db),
        expected_hashes(shop.expected_products()),
    );
    assert_eq!(mirror.len(), 1500);
    assert_eq!(
        mirror, expected,
        "mirror equals the catalogue (ids and content hashes)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_fail_the_run_without_writing_anything() {
    let shop = fake(100, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let mut s = settings();
    s.max_body_bytes = 1 << 20;
    let ctx = context(&db, s, 25);
    let cases = [
        (Fault::TruncatedShort, "invalid JSON"),
        (Fault::InvalidUtf8, "invalid JSON"),
        (Fault::Html200, "not a Shopify storefront"),
        (Fault::GzipBomb(64 << 20), "larger than"),
        (Fault::Status(404), "not found"),
    ];
    for (fault, expect) in cases {
        let (hooked, once) = (shop.clone(), Arc::new(AtomicUsize::new(1)));
        let take = |n: usize| n.checked_sub(1);
        // A page over the body cap is asked again in pages of 5, then 1: only a bomb at every
        // size fails it.
        let count = if matches!(fault, Fault::GzipBomb(_)) {
            3
        } else {
            1
        };
        shop.on_request(move |path, _| {
            let due = || once.fetch_update(Ordering::SeqCst, Ordering::SeqCst, take);
            if path.ends_with("page=2") && due().is_ok() {
                hooked.script_fault("/products.json", count, fault.clone());
            }
        });
        let e = sync_store(&ctx, &named_store(STORE, &shop, true))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(expect) && e.contains("page=2") && e.contains(STORE),
            "{e}"
        );
        assert_eq!(
            support::mirrored_hashes(&db).len(),
            25,
            "nothing of page 2 was written: {e}"
        );
    }
    shop.clear_on_request();
    sync_store(&ctx, &named_store(STORE, &shop, true))
        .await
        .unwrap();
    assert_eq!(
        support::mirrored_hashes(&db),
        expected_hashes(shop.expected_products())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_whose_domain_answers_404_is_mirrored_through_its_myshopify_domain() {
    let custom = fake(60, Faults::always(Fault::NotFound404)).await;
    let myshopify = fake(60, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (db, file) = (dir.path().join("m.db"), dir.path().join("c.toml"));
    let text = format!(
        "[stores.{STORE}]\nurl = \"{}\"\nmyshopify_domain = \"{}\"\n",
        custom.url(),
        myshopify.url()
    );
    std::fs::write(&file, text).unwrap();
    let config = Config::load(Some(&file), None).unwrap();
    let ctx = context(&db, settings(), 25);
    sync_store(&ctx, &config.stores[0]).await.unwrap();
    assert_eq!(
        support::mirrored_hashes(&db),
        expected_hashes(myshopify.expected_products())
    );
    assert_eq!(
        custom.request_count(),
        1,
        "after the first 404 every request goes to the myshopify.com domain first"
    );
    assert!(myshopify.request_count() > 3, "listing pages and more");
    assert_eq!(runs(&db)[0].0, "complete");
}
