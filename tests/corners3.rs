//! The corners of round 3, through the real binary against the fake storefront: a product
//! hashes alike from every endpoint (and an upgraded database records no false change), a
//! resume with another page size skips nothing, duplicate variant ids and option positions,
//! ids of 0 and below, prices hundredths cannot hold, an unusable collection, and a listing
//! page larger than `http.max_body_bytes`.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use support::fakeshop::faults::{Edit, Fault};
use support::fakeshop::{Catalog, Collection, FakeShop, Rule};
use support::{rows, scalar, sync_configured_env, Finished};

/// A list-shape product: one option, the given (variant id, price) pairs, all available, and a
/// description of `body` bytes.
fn product(id: u64, handle: &str, variants: &[(u64, &str)], body: usize) -> Value {
    let variants: Vec<Value> = variants
        .iter()
        .enumerate()
        .map(|(i, (v, price))| {
            json!({"id": v, "title": format!("V{i}"), "option1": format!("V{i}"),
                   "option2": null, "option3": null, "sku": format!("SKU{v}"),
                   "requires_shipping": true, "taxable": true, "featured_image": null,
                   "available": true, "price": price, "grams": 100,
                   "compare_at_price": null, "position": i + 1, "product_id": id,
                   "created_at": "2026-01-01T00:00:00-04:00",
                   "updated_at": "2026-01-02T00:00:00-04:00"})
        })
        .collect();
    let values: Vec<Value> = variants.iter().map(|v| v["option1"].clone()).collect();
    json!({"id": id, "title": "Same thing", "handle": handle, "body_html": "x".repeat(body),
           "published_at": "2026-01-01T00:00:00-04:00",
           "created_at": "2026-01-01T00:00:00-04:00",
           "updated_at": "2026-01-02T00:00:00-04:00",
           "vendor": "Vendor", "product_type": "Thing", "tags": ["a"],
           "variants": variants, "images": [],
           "options": [{"name": "Choice", "position": 1, "values": values}]})
}

/// A product with one variant (`id * 10`) at 10.00.
fn simple(id: u64) -> Value {
    product(id, &format!("p{id}"), &[(id * 10, "10.00")], 10)
}

/// `shopmirror sync shop` with `page_size`, collections as told, and `env` for the binary.
async fn sync_with(
    db: &Path,
    shop: &FakeShop,
    page_size: usize,
    collections: bool,
    env: &[(&str, &str)],
) -> Finished {
    let size = page_size.to_string();
    let mut all = vec![("SHOPMIRROR_SYNC__PAGE_SIZE", size.as_str())];
    all.extend_from_slice(env);
    let extra = format!("collections = {collections}");
    sync_configured_env(db, &shop.url(), &extra, &all).await
}

async fn sync_ok(db: &Path, shop: &FakeShop, page_size: usize, collections: bool) {
    let done = sync_with(db, shop, page_size, collections, &[]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

fn events(db: &Path, event: &str) -> i64 {
    scalar(
        db,
        &format!("SELECT count(*) FROM product_events WHERE event = '{event}'"),
    )
}

/// Listing pages read, as (first item, page size) in order: every listing request of the fake's
/// log but those asked again at once in a smaller page (answers larger than the body cap).
fn listing_pages(shop: &FakeShop) -> Vec<(usize, usize)> {
    let asked: Vec<(usize, usize)> = shop
        .request_log()
        .iter()
        .filter(|r| r.path.starts_with("/products.json?") && r.status == 200)
        .map(|r| {
            let query = r.path.split_once('?').unwrap().1;
            let arg = |key: &str| -> usize {
                support::fakeshop::server::query_param(query, key)
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let (limit, page) = (arg("limit"), arg("page"));
            ((page - 1) * limit, limit)
        })
        .collect();
    asked
        .iter()
        .enumerate()
        .filter(|(i, (first, size))| {
            asked
                .get(i + 1)
                .is_none_or(|(next, smaller)| next != first || smaller >= size)
        })
        .map(|(_, page)| *page)
        .collect()
}

/// Asserts the answered listing pages read the items `from..to` each exactly once, in order.
fn assert_read_once(pages: &[(usize, usize)], from: usize, to: usize) {
    let mut next = from;
    for &(first, size) in pages {
        assert_eq!(first, next, "pages skip or repeat items: {pages:?}");
        next = (first + size).min(to);
    }
    assert_eq!(next, to, "pages stop early: {pages:?}");
}

// ----- 1. one hash whichever endpoint supplied the product ------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_products_moving_across_the_listing_cap_are_not_changed() {
    let products: Vec<Value> = (1..=3).map(simple).collect();
    let shop = FakeShop::start(Catalog::from_products(&products)).await;
    shop.set_cap(1);
    shop.set_single_inventory(false);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 1, false).await;
    assert_eq!(
        rows(&db, "SELECT source FROM products ORDER BY product_id"),
        ["listing", "single", "single"]
    );
    // Re-ordered across the cap boundary: product 3 is listed now, 1 and 2 fetched one by one.
    let reordered = [
        products[2].clone(),
        products[0].clone(),
        products[1].clone(),
    ];
    shop.set_products(&reordered);
    for _ in 0..2 {
        sync_ok(&db, &shop, 1, false).await;
        assert_eq!(events(&db, "changed"), 0);
        assert_eq!(scalar(&db, "SELECT count(*) FROM product_versions"), 3);
        assert_eq!(
            scalar(&db, "SELECT sum(products_changed) FROM sync_runs"),
            0
        );
        shop.set_products(&products);
    }
    // A real change is still one, from either endpoint.
    shop.set_price(2, 0, "12.00");
    sync_ok(&db, &shop, 1, false).await;
    assert_eq!(events(&db, "changed"), 1);
    let change = "SELECT old_value || '->' || new_value FROM variant_changes WHERE field = 'price'";
    assert_eq!(rows(&db, change), ["10.00->12.00"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_records_no_false_change_on_its_first_run() {
    let shop = FakeShop::start(Catalog::generate(120, 5)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 250, false).await;
    let want = support::mirrored_hashes(&db);
    // Back to version 8 (the one before the corners migration; the search index, the alert
    // tables and the collection walks of later migrations dropped too), as the binary before it left
    // the file: other hashes (they covered
    // availability), no page_size in the cursor, no collection quarantine, no alert tables
    // (version 10); and no raw hashes
    // (as a file upgraded through version 6 has them), so every product is parsed and compared
    // by content hash, as products from collection feeds and single requests always are.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE products SET content_hash = 'v6-' || content_hash;
         UPDATE product_seen SET raw_hash = NULL;
         UPDATE product_versions SET content_hash = 'v6-' || content_hash;
         DROP TABLE sync_cursor;
         CREATE TABLE sync_cursor (
             store_id  INTEGER PRIMARY KEY REFERENCES stores(store_id),
             run_id    INTEGER NOT NULL REFERENCES sync_runs(run_id),
             phase     TEXT NOT NULL,
             next_page INTEGER NOT NULL,
             position  INTEGER NOT NULL DEFAULT 0,
             sitemap_index INTEGER NOT NULL DEFAULT 0,
             sitemap_complete INTEGER NOT NULL DEFAULT 0);
         DROP TABLE collection_quarantine;
         DROP TABLE collection_walks;
         DROP TABLE alert_outbox;
         DROP TABLE alert_sinks;
         DROP TRIGGER product_search_renamed;
         DROP TRIGGER product_search_forgotten;
         DROP TRIGGER product_search_key_removed;
         DROP INDEX variants_by_sku;
         DROP INDEX products_deleted;
         DROP TABLE product_search;
         DROP TABLE product_search_keys;
         PRAGMA user_version = 8;",
    )
    .unwrap();
    drop(conn);
    sync_ok(&db, &shop, 250, false).await;
    assert_eq!(events(&db, "changed"), 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_changed FROM sync_runs WHERE run_id = 2"
        ),
        0
    );
    assert_eq!(support::mirrored_hashes(&db), want);
    let stale = "SELECT count(*) FROM product_versions WHERE content_hash LIKE 'v6-%'";
    assert_eq!(scalar(&db, stale), 0);
    assert_eq!(
        scalar(&db, "PRAGMA user_version"),
        shopmirror::store::SCHEMA_VERSION
    );
}

// ----- 3. a resume with another page size -----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_with_another_page_size_starts_at_the_first_unread_item() {
    let shop = FakeShop::start(Catalog::generate(1_000, 3)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    shop.script_fault("/products.json?limit=100&page=4", 1, Fault::Status(403));
    let failed = sync_with(&db, &shop, 100, false, &[]).await;
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 300);
    shop.clear_request_log();
    sync_ok(&db, &shop, 250, false).await;
    assert_read_once(&listing_pages(&shop), 300, 1_000);
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 1_000);
    assert_eq!(events(&db, "added"), 1_000);
    assert_eq!(scalar(&db, "SELECT requests_deletions FROM sync_runs"), 0);
    support::assert_mirror_equals(&shop, &db);
}

// ----- 4. duplicate variant ids, options at one position --------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_variant_ids_are_quarantined_and_only_real_changes_recorded() {
    let twice = |first: &str| product(1, "p1", &[(5, first), (5, "2.00")], 10);
    let shop = FakeShop::start(Catalog::from_products(&[twice("1.00"), simple(2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 1, false).await;
    shop.set_products(&[twice("1.50"), simple(2)]);
    sync_ok(&db, &shop, 1, false).await;
    let changes = "SELECT old_value || '->' || new_value FROM variant_changes";
    let recorded = rows(&db, changes);
    assert!(recorded.is_empty(), "not what the store did: {recorded:?}");
    let quarantined = "SELECT reason FROM quarantine WHERE product_id = 1";
    let reason = rows(&db, quarantined).join("");
    assert!(reason.contains("variant id 5 appears twice"), "{reason}");
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE product_id = 1"),
        0
    );

    // A product stored good keeps its last good state while it repeats an id, and records the
    // store's real change once fixed.
    let good = |price: &str| product(1, "p1", &[(5, price), (6, "2.00")], 10);
    shop.set_products(&[good("1.00"), simple(2)]);
    sync_ok(&db, &shop, 1, false).await;
    shop.set_products(&[twice("1.50"), simple(2)]);
    sync_ok(&db, &shop, 1, false).await;
    let prices = "SELECT variant_id || '=' || price FROM variants WHERE product_id = 1 ORDER BY 1";
    assert_eq!(rows(&db, prices), ["5=1.00", "6=2.00"]);
    shop.set_products(&[good("1.50"), simple(2)]);
    sync_ok(&db, &shop, 1, false).await;
    let changes = "SELECT variant_id || ':' || old_value || '->' || new_value FROM variant_changes";
    assert_eq!(rows(&db, changes), ["5:1.00->1.50"]);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM quarantine"),
        0,
        "cleared once fixed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_options_at_one_position_are_quarantined_keeping_the_stored_options() {
    let base = product(1, "p1", &[(5, "1.00")], 10);
    let shop = FakeShop::start(Catalog::from_products(std::slice::from_ref(&base))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 1, false).await;
    let mut doubled = base.clone();
    doubled["options"] = json!([{"name": "Size", "position": 1, "values": ["S"]},
                                {"name": "Color", "position": 1, "values": ["Red"]}]);
    shop.set_products(&[doubled]);
    sync_ok(&db, &shop, 1, false).await;
    assert_eq!(rows(&db, "SELECT name FROM options"), ["Choice"]);
    let reason = rows(&db, "SELECT reason FROM quarantine").join("");
    assert!(reason.contains("two options at position 1"), "{reason}");
    assert_eq!(events(&db, "changed"), 0);
}

// ----- 5. ids of 0 and below ------------------------------------------------------------------

fn id_zero(p: &mut Value) {
    p["id"] = json!(0);
}

fn id_negative(p: &mut Value) {
    p["id"] = json!(-5);
}

fn collection_negative(c: &mut Value) {
    c["id"] = json!(-3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_zero_and_below_are_deletion_candidates_and_walked_collections() {
    let shop = FakeShop::start(Catalog::from_products(&[simple(1), simple(2), simple(3)])).await;
    shop.set_collections(vec![Collection {
        id: 9001,
        handle: "sale".into(),
        title: "Sale".into(),
        body_html: String::new(),
        published_at: "2026-01-01T00:00:00-04:00".into(),
        updated_at: "2026-01-01T00:00:00-04:00".into(),
        sort_order: "manual",
        rule: Rule::Ids(std::sync::Arc::new([3].into_iter().collect())),
    }]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // The store sends products p1 and p2 under ids 0 and -5, and its collection under -3.
    shop.script_fault(
        "/products.json?limit=1&page=1",
        1,
        Fault::EditFirst(Edit(id_zero)),
    );
    shop.script_fault(
        "/products.json?limit=1&page=2",
        1,
        Fault::EditFirst(Edit(id_negative)),
    );
    shop.script_fault(
        "/collections.json?limit=1&page=1",
        1,
        Fault::EditFirst(Edit(collection_negative)),
    );
    sync_ok(&db, &shop, 1, true).await;
    let ids = "SELECT product_id FROM products ORDER BY product_id";
    assert_eq!(
        rows(
            &db,
            &format!("SELECT group_concat(product_id) FROM ({ids})")
        ),
        ["-5,0,3"]
    );
    let members = "SELECT collection_id || ':' || product_id FROM collection_products";
    assert_eq!(rows(&db, members), ["-3:3"], "the collection -3 was walked");
    // Both leave the store: they are checked and tombstoned like any other id.
    shop.remove_product(1);
    shop.remove_product(2);
    sync_ok(&db, &shop, 1, false).await;
    let gone = "SELECT group_concat(product_id) FROM
                (SELECT product_id FROM products WHERE deleted_at IS NOT NULL ORDER BY 1)";
    assert_eq!(rows(&db, gone), ["-5,0"]);
    assert_eq!(events(&db, "deleted"), 2);
}

// ----- 6. prices hundredths cannot hold -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_that_do_not_fit_cents_are_quarantined_and_no_change_is_lost() {
    let priced = |price: &str| product(1, "p1", &[(5, price)], 10);
    let shop = FakeShop::start(Catalog::from_products(&[priced("1.00")])).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 1, false).await;
    for price in ["0.001", "0.004", "92233720368547758.08"] {
        shop.set_products(&[priced(price)]);
        sync_ok(&db, &shop, 1, false).await;
        assert_eq!(
            events(&db, "changed"),
            0,
            "{price}: no change without its price"
        );
        assert_eq!(rows(&db, "SELECT price FROM variants"), ["1.00"], "{price}");
        let reason = rows(&db, "SELECT reason FROM quarantine").join("");
        assert!(
            reason.contains(price) && reason.contains("hundredths"),
            "{price}: {reason}"
        );
    }
    shop.set_products(&[priced("0.50")]);
    sync_ok(&db, &shop, 1, false).await;
    let changes = "SELECT old_value || '->' || new_value FROM variant_changes";
    assert_eq!(rows(&db, changes), ["1.00->0.50"]);
    // Every recorded change of the product comes with the price change that made it.
    assert_eq!(events(&db, "changed"), 1);
}

// ----- 11. an unusable collection -------------------------------------------------------------

fn title_null(c: &mut Value) {
    c["title"] = Value::Null;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_collection_is_quarantined_and_the_run_and_its_deletions_go_on() {
    let shop = FakeShop::start(Catalog::from_products(&[simple(1), simple(2), simple(3)])).await;
    let collection = |id: u64, handle: &str, members: &[u64]| Collection {
        id,
        handle: handle.into(),
        title: handle.to_uppercase(),
        body_html: String::new(),
        published_at: "2026-01-01T00:00:00-04:00".into(),
        updated_at: "2026-01-01T00:00:00-04:00".into(),
        sort_order: "manual",
        rule: Rule::Ids(std::sync::Arc::new(members.iter().copied().collect())),
    };
    shop.set_collections(vec![
        collection(9001, "sale", &[1, 2]),
        collection(9002, "new", &[3]),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, 1, true).await;
    // The store deletes product 3, and sends "sale" with a title null for two runs.
    shop.remove_product(3);
    shop.script_fault(
        "/collections.json?limit=1&page=1",
        2,
        Fault::EditFirst(Edit(title_null)),
    );
    for run in [2, 3] {
        sync_ok(&db, &shop, 1, true).await;
        let status = format!("SELECT status FROM sync_runs WHERE run_id = {run}");
        assert_eq!(rows(&db, &status), ["complete"]);
        let reason = rows(
            &db,
            "SELECT reason FROM collection_quarantine WHERE collection_id = 9001",
        );
        assert!(
            reason.len() == 1 && reason[0].contains("title is null"),
            "{reason:?}"
        );
        let titles =
            "SELECT title FROM collections WHERE deleted_at IS NULL ORDER BY collection_id";
        assert_eq!(rows(&db, titles), ["SALE", "NEW"], "last good state kept");
        let members = "SELECT count(*) FROM collection_products WHERE collection_id = 9001";
        assert_eq!(scalar(&db, members), 2);
    }
    assert_eq!(events(&db, "deleted"), 1, "the run's deletions went on");
    sync_ok(&db, &shop, 1, true).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM collection_quarantine"), 0);
}

// ----- 13. a listing page larger than http.max_body_bytes -------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_larger_than_the_body_cap_is_read_in_smaller_pages() {
    // 60 small products (about 650 bytes each); 23 and 24 carry 4,000-byte descriptions: a page
    // of 10 or 5 holding both passes the 9,000-byte cap, a page of 1 never does.
    let products: Vec<Value> = (1..=60)
        .map(|id| {
            let body = if id == 23 || id == 24 { 4_000 } else { 10 };
            product(id, &format!("p{id}"), &[(id * 10, "10.00")], body)
        })
        .collect();
    let shop = FakeShop::start(Catalog::from_products(&products)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let cap = [("SHOPMIRROR_HTTP__MAX_BODY_BYTES", "9000")];
    let done = sync_with(&db, &shop, 10, false, &cap).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_read_once(&listing_pages(&shop), 0, 60);
    let sizes: BTreeSet<usize> = listing_pages(&shop).iter().map(|p| p.1).collect();
    assert!(sizes.len() > 1, "smaller pages were asked: {sizes:?}");
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 60);
    assert_eq!(events(&db, "added"), 60);
    support::assert_mirror_equals(&shop, &db);
    // The next run does the same and finds nothing new.
    sync_with(&db, &shop, 10, false, &cap).await;
    assert_eq!(events(&db, "added") + events(&db, "changed"), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_product_larger_than_the_body_cap_by_itself_fails_the_run() {
    let products: Vec<Value> = (1..=12)
        .map(|id| {
            let body = if id == 7 { 10_000 } else { 10 };
            product(id, &format!("p{id}"), &[(id * 10, "10.00")], body)
        })
        .collect();
    let shop = FakeShop::start(Catalog::from_products(&products)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let cap = [("SHOPMIRROR_HTTP__MAX_BODY_BYTES", "9000")];
    let failed = sync_with(&db, &shop, 10, false, &cap).await;
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("products.json?limit=1&page=7"),
        "{}",
        failed.stderr
    );
    // Everything before it was written, and the cursor waits at it.
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 6);
    let cursor = "SELECT next_page || '/' || page_size FROM sync_cursor";
    assert_eq!(rows(&db, cursor), ["7/1"]);
}
