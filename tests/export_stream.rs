//! Exports stream in index order and spool nothing: every format, whole and by collection,
//! works under a file-size limit (RLIMIT_FSIZE, the shell's `ulimit -f`) a quarter of the
//! selection's size, which a sort spilled to a temporary file would exceed (SIGXFSZ).

use crate::support;

use fakeshop::{Catalog, FakeShop};
use support::{fakeshop, scalar};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_streams_under_a_file_size_limit_far_below_its_selection() {
    let shop = FakeShop::start(Catalog::generate(3000, 27)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let synced = support::sync(&db, &shop.url()).await;
    assert_eq!(synced.code, Some(0), "{}", synced.stderr);
    let live = scalar(
        &db,
        "SELECT count(*) FROM products WHERE deleted_at IS NULL",
    );
    let selection = scalar(
        &db,
        "SELECT sum(length(raw_json) + length(body_html)) FROM products",
    );
    let limit_kib = selection / 4 / 1024;
    let collection = support::rows(
        &db,
        "SELECT c.handle FROM collections c JOIN collection_products USING (store_id, collection_id)
         GROUP BY c.collection_id ORDER BY count(*) DESC, c.handle LIMIT 1",
    )
    .remove(0);
    let members = scalar(
        &db,
        &format!(
            "SELECT count(*) FROM collection_contents WHERE collection_handle = '{collection}'"
        ),
    );
    assert!(
        members > 100,
        "the collection {collection} has {members} members"
    );
    let formats: [&[&str]; 4] = [
        &["--format", "csv"],
        &["--format", "csv", "--variants"],
        &["--format", "jsonl"],
        &["--format", "shopify-csv"],
    ];
    for format in formats {
        for (filter, products) in [(vec![], live), (vec!["--collection", &collection], members)] {
            let mut command = support::clean("bash");
            command
                .arg("-c")
                .arg(format!("ulimit -f {limit_kib} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_shopmirror"))
                .arg("--db")
                .arg(&db)
                .arg("export")
                .args(format)
                .args(&filter)
                .args(["--output", "-"]);
            let output = command.output().unwrap();
            let what = format!("export {format:?} {filter:?} under ulimit -f {limit_kib}");
            assert!(
                output.status.success(),
                "{what}: {:?}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            if format == ["--format", "jsonl"] {
                let lines = output.stdout.iter().filter(|&&b| b == b'\n').count();
                assert_eq!(lines as i64, products, "{what}: one line per product");
            }
        }
    }
}
