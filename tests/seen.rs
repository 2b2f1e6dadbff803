//! The seen-marker lives in the narrow product_seen table: an unchanged re-sync writes no page
//! of the product tables (only seen rows move), and a re-sync killed half-way keeps what its
//! committed pages saw, resumes, and confirms no deletion it should not; an unusable copy of a
//! stored product is parsed and quarantined every time, never taken as unchanged.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use support::fakeshop::faults::{Edit, Fault};
use support::fakeshop::{Catalog, FakeShop};
use support::{assert_mirror_equals, scalar, spawn_sync, sync, until};

/// Every page (number -> bytes) of the tables and indexes named, read from the database file
/// (the WAL is checkpointed into it when shopmirror closes).
fn pages_of(db: &Path, names: &[&str]) -> BTreeMap<i64, Vec<u8>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let list = names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    let numbers: Vec<i64> = conn
        .prepare(&format!(
            "SELECT pageno FROM dbstat WHERE name IN ({list}) ORDER BY pageno"
        ))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    let file = std::fs::read(db).unwrap();
    numbers
        .into_iter()
        .map(|n| {
            let at = ((n - 1) * size) as usize;
            (n, file[at..at + size as usize].to_vec())
        })
        .collect()
}

const PRODUCT_TABLES: &[&str] = &[
    "products",
    "sqlite_autoindex_products_1",
    "products_by_handle",
    "variants",
    "images",
    "options",
    "product_versions",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_resync_writes_no_page_of_the_product_tables() {
    let shop = FakeShop::start(Catalog::generate(2_500, 11)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = sync(&db, &shop.url()).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let before = pages_of(&db, PRODUCT_TABLES);
    assert!(before.len() > 1_000, "the product tables span many pages");

    // Every product's `updated_at` differs in this response: still no change.
    let second = sync(&db, &shop.url()).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_unchanged FROM sync_runs WHERE run_id = 2"
        ),
        2_500
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM product_seen WHERE last_seen_run = 2"
        ),
        2_500
    );
    let after = pages_of(&db, PRODUCT_TABLES);
    let moved: Vec<i64> = before
        .iter()
        .filter(|(n, bytes)| after.get(n) != Some(bytes))
        .map(|(n, _)| *n)
        .collect();
    assert!(moved.is_empty(), "pages rewritten: {moved:?}");
    assert_eq!(before.len(), after.len());
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_killed_half_way_keeps_what_it_saw_and_resumes_without_false_deletions() {
    let shop = FakeShop::start(Catalog::generate(1_000, 12)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = sync(&db, &shop.url()).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    // Run 2 stops on its third listing page, after pages 1 and 2 are committed.
    let gate = shop.pause_nth("/products.json", 3);
    let mut child = spawn_sync(&db, &shop.url());
    gate.reached().await;
    let cursor = "SELECT coalesce(max(next_page), 0) FROM sync_cursor";
    until("pages 1 and 2 to be committed", async || {
        scalar(&db, cursor) >= 3
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    drop(gate);
    let seen_by_run_2 = "SELECT count(*) FROM product_seen WHERE last_seen_run = 2";
    assert_eq!(scalar(&db, seen_by_run_2), 500, "what pages 1 and 2 saw");

    let resumed = sync(&db, &shop.url()).await;
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    assert_eq!(
        scalar(&db, "SELECT resumes FROM sync_runs WHERE run_id = 2"),
        1
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT status = 'complete' FROM sync_runs WHERE run_id = 2"
        ),
        1
    );
    assert_eq!(scalar(&db, seen_by_run_2), 1_000);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM products WHERE deleted_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE written_run = 2"),
        0
    );
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_hash_miss_falls_through_to_the_content_hash() {
    let shop = FakeShop::start(Catalog::generate(500, 13)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = sync(&db, &shop.url()).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // As after an upgrade (unknown) or with other raw text of the same content (different).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE product_seen SET raw_hash = NULL WHERE product_id % 3 = 0;
         UPDATE product_seen SET raw_hash = 12345 WHERE product_id % 3 = 1;",
    )
    .unwrap();
    drop(conn);
    let second = sync(&db, &shop.url()).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_unchanged FROM sync_runs WHERE run_id = 2"
        ),
        500
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE written_run = 2"),
        0
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM product_versions"), 500);
    // The stored raw hashes are those of the text just received again.
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM product_seen WHERE raw_hash IS NULL OR raw_hash = 12345"
        ),
        0
    );
}

fn no_variants(p: &mut serde_json::Value) {
    p["variants"] = serde_json::json!([]);
}

/// A stored product sent unusable is quarantined every time it is sent: its unusable copy
/// never stores a raw hash, so it is never taken as unchanged without a parse. It stays seen
/// and live with its stored content and raw hash; the stored copy sent again is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_copy_is_quarantined_every_time_it_is_sent_never_taken_as_unchanged() {
    let shop = FakeShop::start(Catalog::generate(200, 14)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = sync(&db, &shop.url()).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let raw_hashes = "SELECT count(*) FROM product_seen s JOIN stored t USING (product_id)
                      WHERE s.raw_hash = t.raw_hash";
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE stored AS SELECT product_id, raw_hash FROM product_seen")
        .unwrap();
    drop(conn);

    // The first product of the only listing page comes without variants in runs 2 and 3.
    shop.script_fault(
        "/products.json?limit=250&page=1",
        2,
        Fault::EditFirst(Edit(no_variants)),
    );
    for run in [2, 3] {
        let done = sync(&db, &shop.url()).await;
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let counters = format!(
            "SELECT quarantined * 1000 + products_unchanged + products_changed * 100000
             FROM sync_runs WHERE run_id = {run}"
        );
        assert_eq!(scalar(&db, &counters), 1_199, "run {run}");
        assert_eq!(
            scalar(&db, "SELECT count(*) FROM quarantine"),
            1,
            "run {run}"
        );
        let id = scalar(&db, "SELECT product_id FROM quarantine");
        let seen = format!("SELECT last_seen_run FROM product_seen WHERE product_id = {id}");
        assert_eq!(scalar(&db, &seen), run);
        let kept = format!(
            "SELECT count(*) FROM product_seen s JOIN stored t USING (product_id)
             WHERE product_id = {id} AND s.raw_hash = t.raw_hash"
        );
        assert_eq!(
            scalar(&db, &kept),
            1,
            "run {run}: the stored raw hash stays"
        );
        assert_eq!(
            scalar(
                &db,
                "SELECT count(*) FROM products WHERE deleted_at IS NULL AND written_run = 1"
            ),
            200
        );
    }

    // The stored copy again: unchanged unparsed, nothing rewritten, the quarantine cleared.
    let last = sync(&db, &shop.url()).await;
    assert_eq!(last.code, Some(0), "{}", last.stderr);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_unchanged FROM sync_runs WHERE run_id = 4"
        ),
        200
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM quarantine"), 0);
    assert_eq!(scalar(&db, raw_hashes), 200);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE written_run = 1"),
        200
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE stored").unwrap();
    drop(conn);
    assert_mirror_equals(&shop, &db);
}
