//! Tests that `products.body_html`, read out of raw_json, gives back exactly the text the
//! parser read, for every captured store response and for the escapes JSON allows.

use std::path::Path;
use std::process::Command;

use super::rows::write_product;
use super::Writer;
use crate::catalog::{parse_products_page, parse_single_product, ParsedProduct};
use crate::endpoint::Endpoint;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Every captured products page, the single-product response, and products whose body uses
/// every kind of escape: \uXXXX, a surrogate pair, \/, quotes, a NUL, null, missing, empty.
fn products() -> Vec<ParsedProduct> {
    let mut all = Vec::new();
    for name in [
        "localboxes-shopify__products.json",
        "kiids-kingdom_chatty__shopify_products.json",
        "annie-thompson_Shopify-To-Square__products_page_1.json",
        "coros-colombia_corosBot__products.json",
        "shopify-toolkit-extension__products.json",
    ] {
        let body = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
        all.extend(parse_products_page(&body).unwrap().products);
    }
    let single = std::fs::read(format!("{FIXTURES}/localboxes-shopify__product.json")).unwrap();
    let mut single = parse_single_product(&single).unwrap().unwrap();
    // The same product is in the localboxes page: kept as a second row under another id.
    single.product.id += 1_000_000_000;
    all.push(single);
    let bodies = [
        r#""body_html":"<p>caf\u00e9 \ud83d\ude00 <\/p>\"q\" \\ \t\n\r\b\f \u2028""#,
        r#""body_html":"before\u0000after""#,
        r#""body_html":null"#,
        r#""body_html":"""#,
        r#""vendor":"no body""#,
    ];
    for (i, body) in bodies.iter().enumerate() {
        let page = format!(
            r#"{{"products":[{{"id":{},"title":"t","handle":"h{i}",{body},
                "variants":[{{"id":{},"title":"v","price":"1.00"}}]}}]}}"#,
            900 + i,
            9900 + i
        );
        all.extend(parse_products_page(page.as_bytes()).unwrap().products);
    }
    let mut ids = std::collections::HashSet::new();
    all.retain(|p| ids.insert(p.product.id));
    all
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `SELECT product_id, hex(body_html)` by the sqlite3 command-line shell: another SQLite
/// computes the generated column with its own json_extract.
fn outside_reader(path: &Path) -> Vec<(i64, String)> {
    let out = Command::new("sqlite3")
        .arg(path)
        .arg("SELECT product_id || ' ' || hex(body_html) FROM products ORDER BY product_id")
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (id, hex) = l.split_once(' ').unwrap_or((l, ""));
            (id.parse().unwrap(), hex.to_string())
        })
        .collect()
}

#[tokio::test]
async fn body_html_read_from_raw_json_equals_what_the_parser_read_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let writer = Writer::open(&path).unwrap();
    let products = products();
    assert!(products.len() > 500, "{}", products.len());
    let mut expected: Vec<(i64, String)> = products
        .iter()
        .map(|p| (p.product.id, hex(p.product.body_html.as_bytes())))
        .collect();
    expected.sort();
    let with_nul = products
        .iter()
        .filter(|p| p.product.body_html.contains('\0'))
        .count();
    assert_eq!(with_nul, 1);
    writer
        .call(move |db| {
            let store_id = db.ensure_store("s", "http://s")?;
            let run = db.begin_run(store_id, "http://s")?;
            db.write(store_id, run.run_id, |ctx| {
                products
                    .iter()
                    .try_for_each(|p| write_product(ctx, p, Endpoint::Listing, None))
            })
        })
        .await
        .unwrap();
    drop(writer);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT product_id, hex(body_html) FROM products ORDER BY product_id")
        .unwrap();
    let read: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, expected, "read by this binary's SQLite");
    assert_eq!(outside_reader(&path), expected, "read by the sqlite3 shell");

    // No byte twice: the column is generated, and a copy is kept for the NUL body alone.
    let hidden: i64 = conn
        .query_row(
            "SELECT hidden FROM pragma_table_xinfo('products') WHERE name = 'body_html'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hidden, 2, "body_html is a VIRTUAL generated column");
    let copies: Vec<i64> = conn
        .prepare("SELECT product_id FROM products WHERE body_html_stored IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(copies, [901]);
}
