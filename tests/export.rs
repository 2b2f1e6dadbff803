//! History, `export` and `history` against the real binary: databases are built by syncing the
//! fake storefront, then read back with rusqlite and compared with what the commands print.

#[path = "support/fakeshop/mod.rs"]
mod fakeshop;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use fakeshop::{Catalog, FakeShop};
use rusqlite::{params, Connection};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_shopmirror");

/// A fake store with `n` products, synced once into a fresh database.
struct Fixture {
    shop: FakeShop,
    dir: tempfile::TempDir,
    db: PathBuf,
    store: String,
}

impl Fixture {
    async fn new(n: usize, seed: u64) -> Fixture {
        let shop = FakeShop::start(Catalog::generate(n, seed)).await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let store = shop.url().trim_start_matches("http://").to_string();
        let f = Fixture {
            shop,
            dir,
            db,
            store,
        };
        f.sync().await;
        f
    }

    fn command(&self) -> tokio::process::Command {
        command(&self.db, self.dir.path())
    }

    async fn sync(&self) {
        let out = self
            .command()
            .args(["sync", &self.shop.url()])
            .output()
            .await;
        let out = out.expect("run sync");
        assert!(out.status.success(), "sync failed: {}", stderr(&out));
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().await.expect("run")
    }

    fn conn(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }
}

fn command(db: &Path, cwd: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(BIN);
    c.arg("--db")
        .arg(db)
        .current_dir(cwd)
        .env_remove("SHOPMIRROR_CONFIG")
        .env_remove("SHOPMIRROR_DB")
        .env("SHOPMIRROR_HTTP__ALLOW_PRIVATE", "true")
        .env("SHOPMIRROR_HTTP__MIN_DELAY", "0s")
        .stdin(Stdio::null());
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    conn.query_row(sql, p, |r| r.get(0)).unwrap()
}

/// First variant's (price, available) of a product, from the database.
fn first_variant(conn: &Connection, id: u64) -> (i64, String, Option<bool>) {
    conn.query_row(
        "SELECT variant_id, price, available FROM variants WHERE product_id = ?1
         ORDER BY position LIMIT 1",
        params![id as i64],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_availability_and_deletion_each_appear_once_in_history() {
    let f = Fixture::new(300, 11).await;
    let ids = f.shop.product_ids();
    let (priced, toggled, removed) = (ids[3], ids[120], ids[260]);
    let conn = f.conn();
    let (price_variant, old_price, _) = first_variant(&conn, priced);
    let (avail_variant, _, old_available) = first_variant(&conn, toggled);
    let old_available = old_available.expect("fixture variants say whether available");
    f.shop.set_price(priced, 0, "0.01");
    f.shop.set_available(toggled, 0, !old_available);
    assert!(f.shop.remove_product(removed));
    f.sync().await;
    f.sync().await;

    let changes: Vec<(i64, i64, String, Option<String>, Option<String>)> = conn
        .prepare(
            "SELECT product_id, variant_id, field, old_value, new_value FROM variant_changes
             ORDER BY change_id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let flag = |b: bool| Some(if b { "1" } else { "0" }.to_string());
    assert_eq!(
        changes,
        vec![
            (
                priced as i64,
                price_variant,
                "price".into(),
                Some(old_price.clone()),
                Some("0.01".into())
            ),
            (
                toggled as i64,
                avail_variant,
                "available".into(),
                flag(old_available),
                flag(!old_available)
            ),
        ]
    );
    let events: Vec<(i64, String)> = conn
        .prepare(
            "SELECT product_id, event FROM product_events WHERE event != 'added' ORDER BY event_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        events,
        vec![
            (priced as i64, "changed".into()),
            (toggled as i64, "changed".into()),
            (removed as i64, "deleted".into())
        ]
    );
    // The documented views see the same single rows.
    assert_eq!(count(&conn, "SELECT count(*) FROM price_changes", []), 1);
    let drops = count(
        &conn,
        "SELECT count(*) FROM price_drops WHERE observed_at >= datetime('now', '-1 days')",
        [],
    );
    assert_eq!(drops, 1, "old price {old_price} -> 0.01 is a drop");
    assert_eq!(count(&conn, "SELECT count(*) FROM variant_history", []), 2);
    let gone = "SELECT count(*) FROM products_removed WHERE product_id = ?1 AND still_gone";
    assert_eq!(count(&conn, gone, [removed as i64]), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM products_removed", []), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM products_added", []), 300);
    // Versions: two for each changed product (one closed, one current), one for the others.
    for id in [priced, toggled] {
        let (n, current, closed): (i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), sum(is_current), count(last_observed_at) FROM product_history
                 WHERE product_id = ?1",
                [id as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((n, current, closed), (2, 1, 2), "product {id}");
    }
    assert_eq!(
        count(&conn, "SELECT count(*) FROM product_versions", []),
        302
    );
}
