//! Store lifecycle through the real binary: `stores list`, `stores rename`, `stores forget`
//! (asks for --yes, refused while the store is being crawled, removes every row of that store
//! and nothing else), and `sync URL` of a configured store's URL uses that store.

use crate::support;

use std::path::Path;
use std::process::Stdio;

use rusqlite::Connection;
use support::fakeshop::{Catalog, FakeShop};
use support::{scalar, shopmirror, Finished};

fn config(dir: &Path, a: &FakeShop, b: &FakeShop) {
    let stores = [("a", a.url()), ("b", b.url())];
    let stores = stores.each_ref().map(|(n, u)| (*n, u.as_str()));
    support::write_config(dir, &dir.join("m.db"), "", &stores);
}

async fn run(dir: &Path, args: &[&str]) -> Finished {
    let command = support::configured(dir, args);
    support::run(command).await
}

/// Rows per table that belong to the store with this id.
fn rows_of(db: &Path, store_id: i64) -> Vec<(String, i64)> {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS
             (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'store_id')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let sql = format!("SELECT count(*) FROM \"{t}\" WHERE store_id = ?1");
            let n = conn.query_row(&sql, [store_id], |r| r.get(0)).unwrap();
            (t, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_rename_and_forget_a_store() {
    let (a, b) = (
        FakeShop::start(Catalog::generate(80, 1)).await,
        FakeShop::start(Catalog::generate(90, 2)).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    config(dir.path(), &a, &b);
    assert_eq!(run(dir.path(), &["sync"]).await.code, Some(0));
    // A URL a configured store has is that store, not a second one.
    let again = run(dir.path(), &["sync", &format!("{}/", a.url())]).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.starts_with("a: "), "{}", again.stdout);
    assert_eq!(scalar(&db, "SELECT count(*) FROM stores"), 2);

    let list = run(dir.path(), &["stores", "list"]).await;
    assert_eq!(list.code, Some(0));
    let names: Vec<_> = list
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);

    let renamed = run(dir.path(), &["stores", "rename", "b", "c"]).await;
    assert_eq!(renamed.code, Some(0), "{}", renamed.stderr);
    assert_eq!(
        run(dir.path(), &["stores", "rename", "a", "c"]).await.code,
        Some(1)
    );
    let c_id = scalar(&db, "SELECT store_id FROM stores WHERE name = 'c'");
    assert!(!rows_of(&db, c_id).is_empty(), "c kept b's rows");

    let unconfirmed = run(dir.path(), &["stores", "forget", "a"]).await;
    assert_eq!(unconfirmed.code, Some(2));
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM stores WHERE name = 'a'"),
        1
    );

    // Refused while a sync crawls the store.
    let a_id = scalar(&db, "SELECT store_id FROM stores WHERE name = 'a'");
    let gate = a.pause_nth("/products.json", 1);
    let mut command = shopmirror();
    command
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["sync", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut syncing = command.spawn().unwrap();
    gate.reached().await;
    let refused = run(dir.path(), &["stores", "forget", "a", "--yes"]).await;
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(refused
        .stderr
        .contains(&format!("pid {}", syncing.id().unwrap())));
    gate.release();
    assert!(syncing.wait().await.unwrap().success());

    let forgot = run(dir.path(), &["stores", "forget", "a", "--yes"]).await;
    assert_eq!(forgot.code, Some(0), "{}", forgot.stderr);
    assert_eq!(rows_of(&db, a_id), Vec::new(), "rows of a left behind");
    assert_eq!(scalar(&db, "SELECT count(*) FROM stores"), 1);
    let c_products = format!("SELECT count(*) FROM products WHERE store_id = {c_id}");
    assert_eq!(
        scalar(&db, &c_products),
        90,
        "the other store keeps its rows"
    );
    let missing = run(dir.path(), &["stores", "forget", "a", "--yes"]).await;
    assert_eq!(missing.code, Some(1));
}
