//! History while a store moves under a run, against a small fake store with page size 2 that
//! changes between two pages of a walk, and the real binary: a collection re-sorted mid-walk
//! loses no member, a renamed product skipped by a shifting listing is not tombstoned, and a
//! custom domain whose single-product endpoint answers 404 for every product tombstones nothing
//! (its myshopify.com domain, when configured, answers instead).

use crate::support;

use std::path::Path;

use serde_json::{json, Value};
use support::fakeshop::{Catalog, Collection, FakeShop, Fault, Faults, Rule};
use support::{rows, scalar, shopmirror, sync_configured_env, Finished};

/// A list-shape product with one variant; `created` orders a `created-desc` collection.
fn product(id: u64, handle: &str, title: &str, created: &str) -> Value {
    let created = format!("2026-01-{created}T00:00:00-04:00");
    json!({"id": id, "title": title, "handle": handle, "body_html": "<p>x</p>",
           "published_at": "2026-01-01T00:00:00-04:00", "created_at": created,
           "updated_at": "2026-01-02T00:00:00-04:00",
           "vendor": "Vendor", "product_type": "Thing", "tags": ["a"],
           "variants": [{"id": id * 10 + 1, "title": "Default Title", "option1": "Default Title",
                         "option2": null, "option3": null, "sku": format!("SKU{id}"),
                         "requires_shipping": true, "taxable": true, "featured_image": null,
                         "available": true, "price": "10.00", "grams": 100,
                         "compare_at_price": null, "position": 1, "product_id": id,
                         "created_at": created, "updated_at": "2026-01-02T00:00:00-04:00"}],
           "images": [],
           "options": [{"name": "Title", "position": 1, "values": ["Default Title"]}]})
}

/// A (1, "a"), B (2), C (3), D (4), listed in that order; created C, D, A, B (newest first).
fn four() -> Vec<Value> {
    vec![
        product(1, "a", "A", "03"),
        product(2, "b", "B", "02"),
        product(3, "c", "C", "05"),
        product(4, "d", "D", "04"),
    ]
}

fn collection(sort_order: &'static str, members: &[u64]) -> Collection {
    Collection {
        id: 9001,
        handle: "sale".into(),
        title: "Sale".into(),
        body_html: String::new(),
        published_at: "2026-01-01T00:00:00-04:00".into(),
        updated_at: "2026-01-01T00:00:00-04:00".into(),
        sort_order,
        rule: Rule::Ids(std::sync::Arc::new(members.iter().copied().collect())),
    }
}

/// `shopmirror sync shop` with page size 2 and `extra` config lines for the store.
async fn sync2(db: &Path, shop: &FakeShop, extra: &str) -> Finished {
    let page_size = [("SHOPMIRROR_SYNC__PAGE_SIZE", "2")];
    let done = sync_configured_env(db, &shop.url(), extra, &page_size).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    done
}

fn events(db: &Path, id: u64) -> Vec<String> {
    let sql = format!(
        "SELECT run_id || ':' || event FROM product_events WHERE product_id = {id} ORDER BY event_id"
    );
    rows(db, &sql)
}

/// Requests of run `run` by source: sitemap/single/deletion checks.
fn extra_requests(db: &Path, run: i64) -> Vec<String> {
    let sql = format!(
        "SELECT requests_sitemap || '/' || requests_single || '/' || requests_deletions
         FROM sync_runs WHERE run_id = {run}"
    );
    rows(db, &sql)
}

fn is_deleted(db: &Path, id: u64) -> bool {
    let sql = format!("SELECT deleted_at IS NOT NULL FROM products WHERE product_id = {id}");
    scalar(db, &sql) == 1
}

/// Requests the fake answered whose path starts with `prefix`.
fn requested(shop: &FakeShop, prefix: &str) -> usize {
    let log = shop.request_log();
    log.iter().filter(|r| r.path.starts_with(prefix)).count()
}

// ----- 27.1: a collection re-sorted mid-walk --------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_resorted_mid_walk_loses_no_member() {
    let shop = FakeShop::start(Catalog::from_products(&four())).await;
    // Alphabetical: A, B, C, D.
    shop.set_collections(vec![collection("alpha-asc", &[1, 2, 3, 4])]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let collections = "collections = true";
    sync2(&db, &shop, collections).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM collection_products"), 4);
    // Right after page 1 ([A, B]) the collection is re-sorted newest first: C, D, A, B.
    let hooked = shop.clone();
    shop.on_request(move |path, _| {
        if path == "/collections/sale/products.json?limit=2&page=2" {
            hooked.set_collections(vec![collection("created-desc", &[1, 2, 3, 4])]);
        }
    });
    shop.clear_request_log();
    sync2(&db, &shop, collections).await;
    shop.clear_on_request();
    assert_eq!(
        shop.collection_product_ids("sale").unwrap(),
        [3, 4, 1, 2],
        "the store re-sorted the collection"
    );
    let removed = "SELECT count(*) FROM collection_changes WHERE change = 'removed'";
    assert_eq!(scalar(&db, removed), 0, "no member left the collection");
    let contents = "SELECT product_id || '' FROM collection_contents
                    WHERE collection_handle = 'sale' ORDER BY product_id";
    assert_eq!(rows(&db, contents), ["1", "2", "3", "4"]);
    let mut export = shopmirror();
    export
        .arg("--db")
        .arg(&db)
        .args(["export", "--collection", "sale", "--format", "jsonl"]);
    let exported = support::run(export).await;
    assert_eq!(exported.code, Some(0), "{}", exported.stderr);
    assert_eq!(exported.stdout.lines().count(), 4, "{}", exported.stdout);
    // The missing members were confirmed by walking the collection again: 3 + 3 pages.
    assert_eq!(requested(&shop, "/collections/sale/products.json"), 6);

    // A still collection costs one walk, and a member that really left is removed that run.
    shop.clear_request_log();
    sync2(&db, &shop, collections).await;
    assert_eq!(requested(&shop, "/collections/sale/products.json"), 3);
    shop.set_collections(vec![collection("created-desc", &[1, 2, 3])]);
    sync2(&db, &shop, collections).await;
    let changes = "SELECT run_id || ':' || product_id || ':' || change FROM collection_changes
                   WHERE run_id > 1 ORDER BY change_id";
    assert_eq!(rows(&db, changes), ["4:4:removed"]);
    assert_eq!(rows(&db, contents), ["1", "2", "3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirming_walk_that_fails_is_resumed_and_still_removes_nothing() {
    let shop = FakeShop::start(Catalog::from_products(&four())).await;
    shop.set_collections(vec![collection("alpha-asc", &[1, 2, 3, 4])]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let collections = "collections = true";
    sync2(&db, &shop, collections).await;
    // Re-sorted after page 1; the second walk then fails on its page 2.
    let hooked = shop.clone();
    shop.on_request(move |path, _| {
        let feed = "/collections/sale/products.json?limit=2&page=";
        if path == format!("{feed}2") && hooked.collection_product_ids("sale").unwrap()[0] == 1 {
            hooked.set_collections(vec![collection("created-desc", &[1, 2, 3, 4])]);
        }
        if path == format!("{feed}3") {
            hooked.script_fault(&format!("{feed}2"), 1, Fault::Status(403));
        }
    });
    let page_size = [("SHOPMIRROR_SYNC__PAGE_SIZE", "2")];
    let failed = sync_configured_env(&db, &shop.url(), collections, &page_size).await;
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    shop.clear_on_request();
    shop.clear_request_log();
    sync2(&db, &shop, collections).await;
    let resumed = "SELECT status || '/' || resumes FROM sync_runs WHERE run_id = 2";
    assert_eq!(rows(&db, resumed), ["complete/1"]);
    // The resumed run goes on with the second walk where it failed: pages 2 and 3 only.
    assert_eq!(requested(&shop, "/collections/sale/products.json"), 2);
    let removed = "SELECT count(*) FROM collection_changes WHERE change = 'removed'";
    assert_eq!(scalar(&db, removed), 0);
    assert_eq!(scalar(&db, "SELECT count(*) FROM collection_products"), 4);
}

// ----- 27.2: a renamed product skipped by a shifting listing ----------------------------------

/// Run 2 of the rename cases: right after listing page 1 ([A, B]) A is deleted and C takes the
/// handle `c-new`; page 2 of [B, C, D] is [D], so C is never listed under its new handle.
async fn rename_during_the_listing(db: &Path, shop: &FakeShop, extra: &str) {
    let hooked = shop.clone();
    shop.on_request(move |path, _| {
        if path == "/products.json?limit=2&page=2" {
            let [_, b, c, d] = <[Value; 4]>::try_from(four()).unwrap();
            let mut c = c;
            c["handle"] = "c-new".into();
            hooked.set_products(&[b, c, d]);
        }
    });
    sync2(db, shop, extra).await;
    shop.clear_on_request();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_product_skipped_by_a_shifting_listing_is_found_through_the_sitemap() {
    let shop = FakeShop::start(Catalog::from_products(&four())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let extra = "collections = false";
    sync2(&db, &shop, extra).await;
    rename_during_the_listing(&db, &shop, extra).await;
    assert!(!is_deleted(&db, 3), "C was renamed, not deleted");
    assert_eq!(events(&db, 3), ["1:added", "2:changed"]);
    let handle = "SELECT handle FROM products WHERE product_id = 3";
    assert_eq!(rows(&db, handle), ["c-new"]);
    // The sitemap's index and one file, then `c-new` (the one handle the run had not seen).
    assert_eq!(extra_requests(&db, 2), ["2/1/0"]);
    // A, seen on page 1 before it was deleted, is tombstoned by the next run, once.
    sync2(&db, &shop, extra).await;
    assert!(is_deleted(&db, 1));
    assert_eq!(events(&db, 1), ["1:added", "3:deleted"]);
    assert_eq!(events(&db, 3), ["1:added", "2:changed"]);
    // The sitemap, then A's 404 and one probe of a product seen live.
    assert_eq!(extra_requests(&db, 3), ["2/0/2"]);
    // A store that holds still costs nothing more.
    sync2(&db, &shop, extra).await;
    assert_eq!(extra_requests(&db, 4), ["0/0/0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_sitemap_a_404_after_a_moving_listing_waits_for_a_second_complete_run() {
    let shop = FakeShop::start(Catalog::from_products(&four())).await;
    shop.set_faults(Faults::always(Fault::NotFound404).only_paths(&["/sitemap"]));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let extra = "collections = false";
    sync2(&db, &shop, extra).await;
    rename_during_the_listing(&db, &shop, extra).await;
    assert!(
        !is_deleted(&db, 3),
        "one 404 of an old handle proves nothing"
    );
    sync2(&db, &shop, extra).await;
    assert_eq!(events(&db, 3), ["1:added", "3:changed"], "listed again");
    assert!(
        !is_deleted(&db, 1),
        "run 3 is the first complete run to miss A"
    );
    sync2(&db, &shop, extra).await;
    assert_eq!(events(&db, 1), ["1:added", "4:deleted"]);
}

// ----- 20.2: a custom domain whose single-product endpoint answers 404 for everything -----------

/// Run 2 of the 404 cases: right after listing page 1 ([A, B]) A is deleted from every shop
/// given; page 2 of [B, C, D] is [D], so C (alive, same handle) is skipped.
async fn shift_during_the_listing(db: &Path, shops: &[FakeShop], extra: &str) {
    let hooked = shops.to_vec();
    shops[0].on_request(move |path, _| {
        if path == "/products.json?limit=2&page=2" {
            for shop in &hooked {
                shop.remove_product(1);
            }
        }
    });
    sync2(db, &shops[0], extra).await;
    shops[0].clear_on_request();
}

fn single_404() -> Faults {
    Faults::always(Fault::NotFound404).only_paths(&["/products/"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_product_endpoint_that_answers_404_for_live_products_tombstones_nothing() {
    let shop = FakeShop::start(Catalog::from_products(&four())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let extra = "collections = false";
    sync2(&db, &shop, extra).await;
    shop.set_faults(single_404());
    shift_during_the_listing(&db, std::slice::from_ref(&shop), extra).await;
    assert!(!is_deleted(&db, 3), "C is alive: skipped, not deleted");
    assert_eq!(events(&db, 3), ["1:added"]);
    let inconclusive = "SELECT deletions_inconclusive FROM sync_runs WHERE run_id = 2";
    assert_eq!(scalar(&db, inconclusive), 1);
    // C's handle from the sitemap; C's check, then A, B and D (seen live by this run) probed.
    assert_eq!(extra_requests(&db, 2), ["2/1/4"]);
    // A is really gone, but this endpoint cannot say so: it stays live, the run inconclusive.
    sync2(&db, &shop, extra).await;
    assert!(!is_deleted(&db, 1));
    let inconclusive = "SELECT deletions_inconclusive FROM sync_runs WHERE run_id = 3";
    assert_eq!(scalar(&db, inconclusive), 1);
    // Once the endpoint answers again, the deletion is recorded.
    shop.set_faults(Faults::default());
    sync2(&db, &shop, extra).await;
    assert_eq!(events(&db, 1), ["1:added", "4:deleted"]);
    assert_eq!(events(&db, 3), ["1:added"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_myshopify_domain_answers_for_a_custom_domain_that_answers_404() {
    let custom = FakeShop::start(Catalog::from_products(&four())).await;
    let myshopify = FakeShop::start(Catalog::from_products(&four())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let extra = format!(
        "collections = false\nmyshopify_domain = \"{}\"",
        myshopify.url()
    );
    sync2(&db, &custom, &extra).await;
    custom.set_faults(single_404());
    shift_during_the_listing(&db, &[custom.clone(), myshopify.clone()], &extra).await;
    assert!(!is_deleted(&db, 3));
    assert_eq!(events(&db, 3), ["1:added"]);
    // A is confirmed gone by the myshopify.com domain, which answers for live products.
    sync2(&db, &custom, &extra).await;
    assert_eq!(events(&db, 1), ["1:added", "3:deleted"]);
    let inconclusive = "SELECT count(*) FROM sync_runs WHERE deletions_inconclusive = 1";
    assert_eq!(scalar(&db, inconclusive), 0);
    assert!(requested(&myshopify, "/products/") > 0);
}
