//! What the plain formats keep of the store and of spreadsheet habits: tags in the store's
//! order, an optional byte-order mark, and what a filter matching nothing writes.

use super::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_come_out_in_the_order_the_store_sent_them() {
    let f = Fixture::new(20, 34).await;
    let id = f.shop.product_ids()[2];
    let sent = ["zebra", "Apple", "mango", "apple pie"];
    f.shop.modify_product(id, |p| p["tags"] = json!(sent));
    f.sync().await;
    let stored: String = f
        .conn()
        .query_row(
            "SELECT tags FROM products WHERE product_id = ?1",
            [id as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&stored).unwrap(),
        ["Apple", "apple pie", "mango", "zebra"],
        "the column stays sorted for the hash"
    );
    let want = sent.join(", ");
    let rows = csv_maps(&export_stdout(&f, &[]).await);
    let row = rows
        .iter()
        .find(|r| r["product_id"] == id.to_string())
        .unwrap();
    assert_eq!(row["tags"], want);
    let handle = f.shop.handle_of(id).unwrap();
    let shopify = csv_maps(&export_stdout(&f, &["--format", "shopify-csv"]).await);
    let row = shopify
        .iter()
        .find(|r| r["URL handle"] == handle && !r["Title"].is_empty())
        .unwrap();
    assert_eq!(row["Tags"], want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bom_is_written_only_when_asked_and_only_for_csv() {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let f = Fixture::new(20, 35).await;
    for format in ["csv", "shopify-csv"] {
        let plain = export_stdout(&f, &["--format", format]).await;
        assert!(!plain.starts_with(BOM), "{format}: off by default");
        let marked = export_stdout(&f, &["--format", format, "--bom"]).await;
        assert_eq!(&marked[..3], BOM, "{format}");
        assert_eq!(
            marked[3..],
            plain[..],
            "{format}: the same CSV after the mark"
        );
    }
    let variants = export_stdout(&f, &["--variants", "--bom"]).await;
    assert!(variants.starts_with(BOM));
    let file = f.dir.path().join("bom.csv");
    let out = f
        .run(&["export", "--bom", "-o", file.to_str().unwrap()])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&file).unwrap().starts_with(BOM));
    let refused = f.run(&["export", "--format", "jsonl", "--bom"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(refused.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_since_in_the_future_writes_an_empty_jsonl_and_header_only_csv() {
    let f = Fixture::new(20, 36).await;
    let future = ["--changed-since", "2999-01-01"];
    let jsonl = export_stdout(&f, &[&["--format", "jsonl"][..], &future[..]].concat()).await;
    assert!(jsonl.is_empty(), "{}", String::from_utf8_lossy(&jsonl));
    for format in [
        &["--format", "csv"][..],
        &["--variants"],
        &["--format", "shopify-csv"],
    ] {
        let out = export_stdout(&f, &[format, &future[..]].concat()).await;
        let (headers, rows) = csv_rows(&out);
        assert!(!headers.is_empty() && rows.is_empty(), "{format:?}");
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "{format:?}");
    }
}
