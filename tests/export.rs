//! History, `export` and `history` against the real binary: databases are built by syncing the
//! fake storefront, then read back with rusqlite and compared with what the commands print.

#[path = "export/formats.rs"]
mod formats;
#[path = "export/shopify.rs"]
mod shopify;
use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use support::fakeshop;

use fakeshop::{Catalog, FakeShop};
use rusqlite::{params, Connection};
use serde_json::Value;

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
    let mut c = support::shopmirror();
    c.arg("--db").arg(db).current_dir(cwd).stdin(Stdio::null());
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    conn.query_row(sql, p, |r| r.get(0)).unwrap()
}

/// A variant_changes row: product, variant, field, old value, new value.
type ChangeRow = (i64, i64, String, Option<String>, Option<String>);

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

    let changes: Vec<ChangeRow> = conn
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

/// Runs `export ARGS` to stdout and returns what it printed.
async fn export_stdout(f: &Fixture, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = f.run(&all).await;
    assert!(out.status.success(), "export {args:?}: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    out.stdout
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

/// Reads a CSV into one map per row, keyed by column name.
fn csv_maps(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let (headers, rows) = csv_rows(bytes);
    rows.into_iter()
        .map(|r| headers.iter().cloned().zip(r).collect())
        .collect()
}

/// Live products as the database holds them, in export order; tags in the order the store
/// sent them (the stored JSON's), not the sorted column's.
fn db_products(conn: &Connection) -> Vec<[String; 8]> {
    conn.prepare(
        "SELECT product_id, handle, title, vendor, product_type, raw_json, body_html,
             content_hash
         FROM products WHERE deleted_at IS NULL ORDER BY store_id, product_id",
    )
    .unwrap()
    .query_map([], |r| {
        let raw: Value = serde_json::from_str(&r.get::<_, String>(5)?).unwrap();
        let tags: Vec<&str> = raw["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        Ok([
            r.get::<_, i64>(0)?.to_string(),
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            tags.join(", "),
            r.get(6)?,
            r.get(7)?,
        ])
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_variant_csv_round_trip() {
    let f = Fixture::new(300, 21).await;
    assert!(f.shop.remove_product(f.shop.product_ids()[7]));
    f.sync().await;
    let conn = f.conn();

    let rows = csv_maps(&export_stdout(&f, &[]).await);
    let fields = [
        "product_id",
        "handle",
        "title",
        "vendor",
        "product_type",
        "tags",
        "body_html",
        "content_hash",
    ];
    let exported: Vec<[String; 8]> = rows.iter().map(|r| fields.map(|c| r[c].clone())).collect();
    assert_eq!(exported, db_products(&conn));
    assert_eq!(exported.len(), 299, "the deleted product is left out");
    assert!(rows
        .iter()
        .all(|r| r["store"] == f.store && r["deleted_at"].is_empty()));

    let variants = csv_maps(&export_stdout(&f, &["--variants"]).await);
    let db: Vec<[String; 6]> = conn
        .prepare(
            "SELECT v.variant_id, v.product_id, v.price, COALESCE(v.sku, ''),
                 CASE WHEN v.compare_at_price_cents IS NULL THEN '' ELSE v.compare_at_price END,
                 CASE v.available WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE '' END
             FROM variants v JOIN products p USING (store_id, product_id)
             WHERE p.deleted_at IS NULL
             ORDER BY v.store_id, v.product_id, v.position, v.variant_id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok([
                r.get::<_, i64>(0)?.to_string(),
                r.get::<_, i64>(1)?.to_string(),
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let columns = [
        "variant_id",
        "product_id",
        "price",
        "sku",
        "compare_at_price",
        "available",
    ];
    let exported: Vec<[String; 6]> = variants
        .iter()
        .map(|r| columns.map(|c| r[c].clone()))
        .collect();
    assert_eq!(exported, db);
    assert!(
        db.len() > 299,
        "products with several variants are in the catalogue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_round_trips_the_store_json() {
    let f = Fixture::new(300, 22).await;
    let removed = f.shop.product_ids()[5];
    assert!(f.shop.remove_product(removed));
    f.sync().await;
    let conn = f.conn();
    let out = export_stdout(&f, &["--format", "jsonl", "--include-deleted"]).await;
    let text = String::from_utf8(out).unwrap();
    let db: Vec<(i64, String, String, String, Option<String>)> = conn
        .prepare(
            "SELECT product_id, raw_json, content_hash, first_seen_at, deleted_at FROM products
             ORDER BY store_id, product_id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 300);
    for (line, (id, raw, hash, first_seen, deleted)) in lines.iter().zip(&db) {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let meta = v.as_object_mut().unwrap().remove("_shopmirror").unwrap();
        assert_eq!(
            v,
            serde_json::from_str::<Value>(raw).unwrap(),
            "product {id}"
        );
        assert_eq!(meta["store"], f.store.as_str());
        assert_eq!(meta["content_hash"], hash.as_str());
        assert_eq!(meta["first_seen_at"], first_seen.as_str());
        assert_eq!(meta["deleted_at"], serde_json::to_value(deleted).unwrap());
        assert_eq!(deleted.is_some(), *id == removed as i64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_since_and_include_deleted_filters() {
    let f = Fixture::new(300, 24).await;
    // Everything so far is old; then two products change and one goes.
    f.conn()
        .execute(
            "UPDATE products SET content_changed_at = '2020-01-01 00:00:00'",
            [],
        )
        .unwrap();
    let ids = f.shop.product_ids();
    f.shop.set_title(ids[10], "Renamed ten");
    f.shop.set_price(ids[20], 0, "999.99");
    assert!(f.shop.remove_product(ids[30]));
    f.sync().await;
    let exported = |bytes: Vec<u8>| -> Vec<u64> {
        csv_maps(&bytes)
            .iter()
            .map(|r| r["product_id"].parse().unwrap())
            .collect()
    };
    let mut changed = vec![ids[10], ids[20]];
    changed.sort();
    for since in [
        "2021-01-01",
        "2021-01-01 00:00:00",
        "2021-01-01T01:00:00+01:00",
    ] {
        let out = export_stdout(&f, &["--changed-since", since]).await;
        assert_eq!(exported(out), changed, "{since}");
    }
    let out = export_stdout(&f, &["--changed-since", "2021-01-01", "--include-deleted"]).await;
    let mut with_deleted = vec![ids[10], ids[20], ids[30]];
    with_deleted.sort();
    assert_eq!(exported(out), with_deleted);
    assert_eq!(exported(export_stdout(&f, &[]).await).len(), 299);
    let all = exported(export_stdout(&f, &["--include-deleted", "--store", &f.store]).await);
    assert_eq!(all.len(), 300);
    let bad = f.run(&["export", "--changed-since", "last week"]).await;
    assert_eq!(bad.status.code(), Some(2));
    let unknown = f.run(&["export", "--store", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_output_is_atomic_and_needs_force_to_replace() {
    let f = Fixture::new(120, 25).await;
    let expected = export_stdout(&f, &[]).await;
    let dir = f.dir.path();
    let file = dir.join("out.csv");
    let name = file.to_str().unwrap();
    let out = f.run(&["export", "--output", name]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), expected);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
    std::fs::write(dir.join("plain"), "").unwrap();
    let plain = mode(&dir.join("plain"));
    assert_eq!(
        mode(&file),
        plain,
        "permissions of any new file, not the temp file's 0600"
    );

    std::fs::write(&file, "keep me").unwrap();
    let refused = f.run(&["export", "--output", name]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");

    let forced = f
        .run(&["export", "--format", "jsonl", "-o", name, "--force"])
        .await;
    assert!(forced.status.success(), "{}", stderr(&forced));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 120);
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("shopmirror-export"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_pipe_ends_quietly() {
    use tokio::io::AsyncBufReadExt;
    let f = Fixture::new(300, 26).await;
    let size = count(&f.conn(), "SELECT sum(length(raw_json)) FROM products", []);
    assert!(
        size > 1 << 20,
        "output ({size} bytes) must outgrow the pipe buffer"
    );
    let mut child = f
        .command()
        .args(["export", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.contains("_shopmirror"));
    drop(lines);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reads_while_a_writer_holds_a_transaction() {
    let f = Fixture::new(120, 27).await;
    let writer = f.conn();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer
        .execute("UPDATE products SET title = 'UNCOMMITTED'", [])
        .unwrap();
    let rows = csv_maps(&export_stdout(&f, &[]).await);
    assert_eq!(rows.len(), 120);
    assert!(rows.iter().all(|r| r["title"] != "UNCOMMITTED"));
    writer.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_filter_exports_members_in_collection_order() {
    let f = Fixture::new(300, 28).await;
    let handle = f
        .shop
        .collection_handles()
        .into_iter()
        .find(|h| {
            f.shop
                .collection_product_ids(h)
                .is_some_and(|ids| ids.len() > 3)
        })
        .expect("a collection with members");
    let want = f.shop.collection_product_ids(&handle).unwrap();
    let rows = csv_maps(&export_stdout(&f, &["--collection", &handle]).await);
    let got: Vec<u64> = rows
        .iter()
        .map(|r| r["product_id"].parse().unwrap())
        .collect();
    assert_eq!(got, want);
}
