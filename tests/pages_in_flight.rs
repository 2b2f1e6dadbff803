//! The process-wide budget of pages in flight (`sync.pages_in_flight`) through the real binary:
//! several stores syncing at once never have more requests (and the pages they answer) in
//! flight than the budget, and a budget of one still takes every phase of a run (listing,
//! collections, sitemap, single products and their `.js`, deletion checks) to its end.

use crate::support;

use std::path::Path;
use std::time::Duration;

use support::fakeshop::{Catalog, FakeShop, Gate};
use support::{scalar, Finished, WAIT};

/// Stores that all mirror the same fake (one host: its `max_in_flight` counts every store's
/// requests), synced together by one process.
const STORES: [&str; 4] = ["a", "b", "c", "d"];

/// Writes the config: `STORES` at the fake's URL, all at once, with `budget` pages in flight.
fn config(dir: &Path, shop: &FakeShop, budget: usize, collections: bool) {
    let sections = format!(
        "[http]\nper_host_concurrency = 8\n\n[sync]\npage_size = 100\n\
         concurrent_stores = {}\npages_in_flight = {budget}\n",
        STORES.len()
    );
    let url = shop.url();
    let stores: Vec<(&str, &str)> = STORES.iter().map(|s| (*s, url.as_str())).collect();
    let path = support::write_config(dir, &dir.join("m.db"), &sections, &stores);
    if !collections {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("url = ", "collections = false\nurl = ");
        std::fs::write(&path, text).unwrap();
    }
}

/// Runs `shopmirror sync` over every configured store, failing the test if it does not end.
async fn sync(dir: &Path) -> Finished {
    let run = support::run(support::configured(dir, &["sync"]));
    let finished = tokio::time::timeout(WAIT, run).await;
    let finished = finished.expect("the sync ends (a budget must never deadlock)");
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);
    finished
}

/// Whether the gate's request arrives within `within`.
async fn arrives(gate: &Gate, within: Duration) -> bool {
    tokio::time::timeout(within, gate.reached()).await.is_ok()
}

/// Holds the first two listing requests open, then sees whether a third arrives while they
/// are held (given `wait` to do so); releases them and lets the sync end. Returns that, and the
/// most requests the fake was answering at once.
async fn hold_two_open(budget: usize, wait: Duration) -> (bool, usize) {
    let shop = FakeShop::start(Catalog::generate(450, 31)).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop, budget, false);
    let gates: Vec<Gate> = (1..=3)
        .map(|k| shop.pause_nth("/products.json", k))
        .collect();
    let run = tokio::spawn(sync_in(dir.path().to_path_buf()));
    for gate in &gates[..2] {
        assert!(
            arrives(gate, WAIT).await,
            "the first two pages are asked for"
        );
    }
    let third = arrives(&gates[2], wait).await;
    for gate in &gates {
        gate.release();
    }
    run.await.unwrap();
    let db = dir.path().join("m.db");
    for store in STORES {
        let sql = format!(
            "SELECT count(*) FROM products p JOIN stores s USING (store_id) WHERE s.name = '{store}'"
        );
        assert_eq!(scalar(&db, &sql), 450, "store {store} mirrored whole");
    }
    (third, shop.max_in_flight())
}

async fn sync_in(dir: std::path::PathBuf) {
    sync(&dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_never_have_more_pages_in_flight_than_the_budget() {
    // Four stores want four first pages at once; with two places, two are held open at the
    // fake and the others wait for a place: no third request arrives while they are held.
    let (third, most) = hold_two_open(2, Duration::from_secs(2)).await;
    assert!(
        !third,
        "a third request arrived while two pages held the whole budget"
    );
    assert!(most <= 2, "{most} requests in flight with a budget of 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_larger_budget_lets_the_same_stores_ask_more_at_once() {
    // The same scene with three places: the third request comes while two are held (so the
    // test above would see one if the budget were not kept).
    let (third, most) = hold_two_open(3, WAIT).await;
    assert!(third, "a third request arrives while two are held");
    assert!(most >= 3, "only {most} in flight with a budget of 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_of_one_takes_every_phase_of_several_stores_to_the_end() {
    // Past the cap (250) the sitemap and single products complete the catalogue; without
    // inventory in the single shape each also asks `.js`; collections are walked; a product
    // removed before the second sync is confirmed deleted by a check of its own.
    let shop = FakeShop::start(Catalog::generate(400, 32)).await;
    shop.set_cap(250);
    shop.set_single_inventory(false);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &shop, 1, true);
    sync(dir.path()).await;
    let db = dir.path().join("m.db");
    let live = "SELECT count(*) FROM products WHERE deleted_at IS NULL";
    assert_eq!(scalar(&db, live), 4 * 400);
    let removed = shop.product_ids()[10];
    assert!(shop.remove_product(removed));
    sync(dir.path()).await;
    assert_eq!(scalar(&db, live), 4 * 399);
    let complete = "SELECT count(*) FROM sync_runs WHERE status = 'complete'";
    assert_eq!(scalar(&db, complete), 2 * 4);
    assert_eq!(shop.max_in_flight(), 1);
}
