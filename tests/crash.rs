//! Crash safety: a real `shopmirror sync` child is killed with SIGKILL at random moments, again
//! and again, and restarted each time. After every kill an outside reader (the sqlite3 CLI)
//! finds an intact database whose cursor is never ahead of its rows; at the end the mirror
//! equals the store's catalogue exactly.

use crate::support;

use std::path::Path;

use rand::{Rng, SeedableRng};
use support::fakeshop::{Catalog, FakeShop};
use support::{assert_mirror_equals, scalar, spawn_sync, sqlite3};

const KILLS: usize = 24;

fn assert_consistent(db: &Path) {
    if !db.exists() {
        return;
    }
    assert_eq!(sqlite3(db, "PRAGMA integrity_check"), "ok");
    // The cursor commits with its page: a run in the listing phase has written exactly the
    // pages before its cursor.
    let ahead = sqlite3(
        db,
        "SELECT count(*) FROM sync_cursor c JOIN sync_runs r USING (run_id)
         WHERE c.phase = 'products' AND r.pages != c.next_page - 1",
    );
    assert!(ahead == "0" || ahead.is_empty(), "cursor ahead of its rows");
    let duplicates = sqlite3(
        db,
        "SELECT count(*) FROM (SELECT variant_id FROM variants GROUP BY store_id, variant_id
         HAVING count(*) > 1)",
    );
    assert!(duplicates == "0" || duplicates.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_sync_resumes_and_ends_with_an_exact_mirror() {
    let seed: u64 = std::env::var("SHOPMIRROR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set SHOPMIRROR_CRASH_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let shop = FakeShop::start(Catalog::generate(4_000, 21)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");

    // Time a whole first sync and a whole re-sync, so the kills spread over the run being
    // killed, startup to finish: a run that resumes a mirror is much shorter than the first
    // (unchanged products are not even parsed), and moments drawn from the first run's length
    // would mostly fall after a re-sync has ended.
    let timing_db = dir.path().join("timing.db");
    let mut timed = Vec::new();
    for _ in 0..2 {
        let started = std::time::Instant::now();
        assert_eq!(support::sync(&timing_db, &shop.url()).await.code, Some(0));
        timed.push(started.elapsed());
    }
    let (first_run, resync) = (timed[0], timed[1]);

    let mut removed = Vec::new();
    let mut killed = 0;
    for attempt in 0..KILLS * 3 {
        if killed == KILLS {
            break;
        }
        if attempt == KILLS / 2 {
            // The catalogue changes between crashes: some products go, some prices move.
            let ids = shop.product_ids();
            for &id in &ids[100..103] {
                shop.remove_product(id);
                removed.push(id);
            }
            for &id in &ids[2000..2003] {
                shop.set_price(id, 0, "4.56");
            }
        }
        let mut child = spawn_sync(&db, &shop.url());
        // Until the mirror is complete once, a run is (part of) a first sync; after that, a
        // resumed or fresh re-sync.
        let complete =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|c| {
                    c.query_row(
                        "SELECT count(*) FROM sync_runs WHERE status = 'complete'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .is_ok_and(|n| n > 0);
        let length = if complete { resync } else { first_run };
        let moment = length.mul_f64(rng.random_range(0.0..1.1));
        tokio::select! {
            status = child.wait() => {
                assert!(status.unwrap().success(), "a run that was not killed failed");
            }
            _ = tokio::time::sleep(moment) => {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                killed += 1;
            }
        }
        assert_consistent(&db);
    }
    assert_eq!(killed, KILLS, "not enough runs were killed");

    // Two complete runs: the first finishes whatever was resumed, the second is a fresh
    // complete enumeration that confirms every deletion.
    for _ in 0..2 {
        let done = support::sync(&db, &shop.url()).await;
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }
    assert_consistent(&db);
    assert_mirror_equals(&shop, &db);
    for id in removed {
        let sql = format!(
            "SELECT count(*) FROM products WHERE product_id = {id} AND deleted_at IS NOT NULL"
        );
        assert_eq!(
            scalar(&db, &sql),
            1,
            "removed product {id} is not tombstoned"
        );
    }
    let resumed = scalar(&db, "SELECT coalesce(sum(resumes), 0) FROM sync_runs");
    assert!(resumed > 0, "no run was ever resumed from its cursor");
    let versions = scalar(
        &db,
        "SELECT count(*) FROM (SELECT product_id FROM product_versions
         GROUP BY store_id, product_id, content_hash HAVING count(*) > 1)",
    );
    assert_eq!(versions, 0, "a content version was recorded twice");
}

/// Starts `shopmirror --db DB sync URL` as a child, waits until the fake holds the request
/// `gate` stops, and kills the child with SIGKILL there.
async fn kill_at(db: &Path, shop: &FakeShop, gate: support::fakeshop::Gate) {
    let mut child = spawn_sync(db, &shop.url());
    tokio::select! {
        _ = gate.reached() => {}
        status = child.wait() => panic!("the run ended before the gate: {status:?}"),
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    drop(gate);
    assert_consistent(db);
}

/// Paths (without query) the fake was asked for since its log was cleared.
fn asked(shop: &FakeShop) -> Vec<String> {
    shop.request_log().into_iter().map(|r| r.path).collect()
}

/// A capped store whose collections cover only part of it: listing, collections and sitemap
/// all have work to do.
async fn capped_store(percent: usize) -> FakeShop {
    let mut catalog = Catalog::generate(3_000, 41);
    catalog.cover_with_collections(250, percent);
    let shop = FakeShop::start(catalog).await;
    shop.set_cap(1_000);
    shop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_collections_phase_of_a_capped_store_the_next_run_resumes_there() {
    let shop = capped_store(100).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // The second page of the fourth collection: its first page is committed by then.
    let gate = shop.pause_nth("/collections/part-4/products.json", 2);
    kill_at(&db, &shop, gate).await;
    let cursor = sqlite3(
        &db,
        "SELECT c.phase || ' ' || c.next_page || ' ' || k.handle
         FROM sync_cursor c JOIN collections k ON k.collection_id = c.position",
    );
    assert_eq!(cursor, "collection_products 2 part-4");

    shop.clear_request_log();
    let done = support::sync(&db, &shop.url()).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let paths = asked(&shop);
    let first = paths
        .iter()
        .find(|p| p.starts_with("/collections"))
        .unwrap();
    assert_eq!(first, "/collections/part-4/products.json?limit=250&page=2");
    for done_before in [
        "/products.json",
        "/collections.json",
        "/collections/part-1/",
    ] {
        assert!(
            !paths.iter().any(|p| p.starts_with(done_before)),
            "{done_before} fetched again"
        );
    }
    assert_eq!(
        scalar(&db, "SELECT resumes FROM sync_runs WHERE run_id = 1"),
        1
    );
    assert_eq!(
        sqlite3(&db, "SELECT status FROM sync_runs WHERE run_id = 1"),
        "complete"
    );
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_sitemap_phase_of_a_capped_store_the_next_run_resumes_there() {
    // The oldest 40% (1,200 products) are in no collection: the sitemap fetches them singly.
    let shop = capped_store(60).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let gate = shop.pause_nth("/products/*", 120);
    kill_at(&db, &shop, gate).await;
    assert_eq!(
        sqlite3(&db, "SELECT phase FROM sync_cursor"),
        "sitemap",
        "killed in the sitemap phase"
    );
    let committed = sqlite3(
        &db,
        "SELECT p.handle FROM products p JOIN product_seen s USING (store_id, product_id)
         WHERE p.source = 'single' AND s.last_seen_run = 1",
    );
    let committed: Vec<&str> = committed.lines().collect();
    assert!(committed.len() >= 50, "{} committed", committed.len());

    shop.clear_request_log();
    let done = support::sync(&db, &shop.url()).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let paths = asked(&shop);
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/products.json") || p.starts_with("/collections")),
        "listing or collections fetched again"
    );
    for handle in committed {
        let path = format!("/products/{handle}.json");
        assert!(!paths.contains(&path), "{path} fetched again");
    }
    let singles = paths.iter().filter(|p| p.starts_with("/products/")).count();
    assert!(
        singles <= 1_200 - 50,
        "{singles} single requests after the resume"
    );
    assert_eq!(
        sqlite3(&db, "SELECT status FROM sync_runs WHERE run_id = 1"),
        "complete"
    );
    assert_mirror_equals(&shop, &db);
}
