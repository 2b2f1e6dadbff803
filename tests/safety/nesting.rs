//! JSON lines every reader can take: a product nested deeper than the documented limit is
//! quarantined with its reason (item 10), and a store's own `_shopmirror` key never makes a
//! line with that key twice (item 15). Every exported line is read by Python's json module and
//! by jq.

use super::support;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use support::fakeshop::faults::Fault;
use support::fakeshop::{Catalog, FakeShop};
use support::rows;

use super::{assert_code, cli, config_file, plain};

/// Exports every product as JSON lines into DIR/out.jsonl and returns the lines.
async fn export_jsonl(config: &Path, db: &Path) -> Vec<String> {
    let out = db.with_file_name("out.jsonl");
    let done = cli(
        config,
        db,
        &[
            "export",
            "--format",
            "jsonl",
            "--force",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_code(&done, 0);
    assert_readers_take_every_line(&out);
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Python's json module (refusing a key twice in one object) and jq read every line.
fn assert_readers_take_every_line(file: &Path) {
    let python = "import json, sys\n\
        def once(pairs):\n\
        \x20   keys = [k for k, _ in pairs]\n\
        \x20   if len(keys) != len(set(keys)):\n\
        \x20       sys.exit('a key twice: %r' % keys)\n\
        \x20   return dict(pairs)\n\
        n = 0\n\
        for line in open(sys.argv[1], encoding='utf-8'):\n\
        \x20   json.loads(line, object_pairs_hook=once)\n\
        \x20   n += 1\n\
        print(n)\n";
    let lines = std::fs::read_to_string(file).unwrap().lines().count();
    let out = Command::new("python3")
        .args(["-c", python])
        .arg(file)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(out.status.success(), "Python's json refuses a line: {tail}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        lines.to_string()
    );
    let out = Command::new("jq")
        .args(["-c", "."])
        .arg(file)
        .output()
        .expect("jq is installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "jq refuses a line: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), lines);
}

/// A product 20 levels deep in an unknown key: well within the limit.
fn nested(levels: usize) -> Value {
    let mut value = json!("bottom");
    for _ in 0..levels {
        value = json!([value]);
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_nested_past_the_limit_is_quarantined_and_every_line_parses() {
    let mut fine = plain(2);
    fine["metadata"] = nested(20);
    let shop = FakeShop::start(Catalog::from_products(&[plain(1), fine, plain(3)])).await;
    // Product 1 is otherwise valid, with an unknown key nested 100,000 arrays deep.
    shop.script_fault("/products.json", 1, Fault::DeepKeyInFirst(100_000));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let config = config_file(
        &db,
        &format!(
            "[stores.shop]\nurl = \"{}\"\ncollections = false\n",
            shop.url()
        ),
    );
    let done = cli(&config, &db, &["sync", "shop"]).await;
    assert_code(&done, 0);
    assert!(done.stdout.contains("1 quarantined"), "{}", done.stdout);
    let quarantined = rows(
        &db,
        "SELECT product_id || ' ' || reason FROM quarantine ORDER BY product_id",
    );
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert!(
        quarantined[0].starts_with("1 ") && quarantined[0].contains("nested deeper than 64"),
        "{quarantined:?}"
    );
    let stored = rows(
        &db,
        "SELECT CAST(product_id AS TEXT) FROM products ORDER BY 1",
    );
    assert_eq!(stored, ["2", "3"]);
    let lines = export_jsonl(&config, &db).await;
    assert_eq!(lines.len(), 2);
    let kept: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        kept["metadata"],
        nested(20),
        "a product within the limit is kept whole"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_key_named_like_shopmirrors_fields_never_appears_twice() {
    let mut own = plain(1);
    own["_shopmirror"] = json!({"store": "evil", "deleted_at": null});
    own["__shopmirror"] = json!(1);
    let shop = FakeShop::start(Catalog::from_products(&[own, plain(2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let config = config_file(
        &db,
        &format!(
            "[stores.shop]\nurl = \"{}\"\ncollections = false\n",
            shop.url()
        ),
    );
    assert_code(&cli(&config, &db, &["sync", "shop"]).await, 0);
    let lines = export_jsonl(&config, &db).await;
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["id"], 1);
    assert_eq!(
        first["_shopmirror"]["store"], "shop",
        "shopmirror's own fields"
    );
    assert_eq!(
        first["__shopmirror"],
        json!({"store": "evil", "deleted_at": null}),
        "the store's `_shopmirror`, one underscore more"
    );
    assert_eq!(first["___shopmirror"], 1, "the store's `__shopmirror`");
    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    assert!(second.get("__shopmirror").is_none(), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_a_catalogue_built_from_real_captures_parses() {
    let shop = FakeShop::start(Catalog::generate(300, 20)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let config = config_file(&db, &format!("[stores.shop]\nurl = \"{}\"\n", shop.url()));
    assert_code(&cli(&config, &db, &["sync", "shop"]).await, 0);
    let lines = export_jsonl(&config, &db).await;
    assert_eq!(lines.len(), shop.product_ids().len());
}
