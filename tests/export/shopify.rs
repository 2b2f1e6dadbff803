//! `export --format shopify-csv` against a synced fake store: the header is Shopify's current
//! template less the columns the mirror has no data for, every row matches the database,
//! sold-out variants stay sold out, and an import file never holds two products with one
//! handle.

use super::*;

/// Columns of Shopify's template that the export leaves out (a storefront does not reveal
/// them); the README's export section lists the same.
const LEFT_OUT: [&str; 31] = [
    "Product category",
    "Barcode",
    "Option1 Linked To",
    "Option2 Linked To",
    "Option3 Linked To",
    "Cost per item",
    "Tax code",
    "Unit price total measure",
    "Unit price total measure unit",
    "Unit price base measure",
    "Unit price base measure unit",
    "Weight unit for display",
    "Fulfillment service",
    "Image alt text",
    "Gift card",
    "SEO title",
    "SEO description",
    "Color (product.metafields.shopify.color-pattern)",
    "Google Shopping / Google product category",
    "Google Shopping / Gender",
    "Google Shopping / Age group",
    "Google Shopping / Manufacturer part number (MPN)",
    "Google Shopping / Ad group name",
    "Google Shopping / Ads labels",
    "Google Shopping / Condition",
    "Google Shopping / Custom product",
    "Google Shopping / Custom label 0",
    "Google Shopping / Custom label 1",
    "Google Shopping / Custom label 2",
    "Google Shopping / Custom label 3",
    "Google Shopping / Custom label 4",
];

/// The header of Shopify's product_template.csv as kept in tests/fixtures.
fn template_header() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shopify_product_template_header.csv"
    );
    let (headers, rows) = csv_rows(&std::fs::read(path).unwrap());
    assert!(rows.is_empty());
    assert_eq!(headers.len(), 57, "the template's column count");
    headers
}

async fn shopify_csv(f: &Fixture, args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut all = vec!["--format", "shopify-csv"];
    all.extend_from_slice(args);
    csv_rows(&export_stdout(f, &all).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_is_the_template_less_the_columns_without_data() {
    let f = Fixture::new(300, 29).await;
    let (headers, rows) = shopify_csv(&f, &[]).await;
    let template = template_header();
    for gone in LEFT_OUT {
        assert!(
            template.iter().any(|c| c == gone),
            "{gone} is a template column"
        );
    }
    let expected: Vec<String> = template
        .into_iter()
        .filter(|c| !LEFT_OUT.contains(&c.as_str()))
        .collect();
    assert_eq!(headers, expected);
    // No column is always empty: each one carries data for this catalogue.
    for (i, column) in headers.iter().enumerate() {
        assert!(
            rows.iter().any(|r| !r[i].is_empty()),
            "column {column} is empty in every row"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_csv_round_trips_variants_images_and_availability() {
    let f = Fixture::new(300, 23).await;
    let conn = f.conn();
    let (headers, rows) = shopify_csv(&f, &[]).await;
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let handle = col("URL handle");
    // Rows of one product are consecutive and share its handle.
    let mut groups: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for row in rows {
        match groups.last_mut() {
            Some((h, group)) if *h == row[handle] => group.push(row),
            _ => groups.push((row[handle].clone(), vec![row])),
        }
    }
    let products = db_products(&conn);
    assert_eq!(groups.len(), products.len());
    let mut variants_q = conn
        .prepare(
            "SELECT price, COALESCE(sku, ''), COALESCE(option1, ''),
                 CASE available WHEN 0 THEN 'shopify|0|DENY' ELSE '||CONTINUE' END
             FROM variants WHERE product_id = ?1 ORDER BY position, variant_id",
        )
        .unwrap();
    let mut images_q = conn
        .prepare("SELECT src FROM images WHERE product_id = ?1 ORDER BY position, image_id")
        .unwrap();
    let (mut extra_image_rows, mut sold_out) = (0, 0);
    for ((handle, group), p) in groups.iter().zip(&products) {
        assert_eq!(handle, &p[1]);
        let first = &group[0];
        assert_eq!(
            [
                &first[col("Title")],
                &first[col("Vendor")],
                &first[col("Tags")]
            ],
            [&p[2], &p[3], &p[5]]
        );
        assert_eq!(first[col("Description")], p[6]);
        assert_eq!(first[col("Status")], "Active");
        assert!(group[1..].iter().all(|r| r[col("Title")].is_empty()));
        let id: i64 = p[0].parse().unwrap();
        let variants: Vec<[String; 4]> = variants_q
            .query_map([id], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let images: Vec<String> = images_q
            .query_map([id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let exported_variants: Vec<[String; 4]> = group
            .iter()
            .filter(|r| !r[col("Price")].is_empty())
            .map(|r| {
                [
                    r[col("Price")].clone(),
                    r[col("SKU")].clone(),
                    r[col("Option1 value")].clone(),
                    [
                        "Inventory tracker",
                        "Inventory quantity",
                        "Continue selling when out of stock",
                    ]
                    .map(|c| r[col(c)].as_str())
                    .join("|"),
                ]
            })
            .collect();
        assert_eq!(exported_variants, variants, "{handle}");
        sold_out += variants
            .iter()
            .filter(|v| v[3].starts_with("shopify"))
            .count();
        let exported_images: Vec<String> = group
            .iter()
            .map(|r| r[col("Product image URL")].clone())
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(exported_images, images, "{handle}");
        assert_eq!(group.len(), variants.len().max(images.len()));
        extra_image_rows += images.len().saturating_sub(variants.len());
    }
    assert!(
        extra_image_rows > 0,
        "the catalogue has products with extra images"
    );
    assert!(sold_out > 0, "the catalogue has sold-out variants");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_sold_out_after_sync_is_exported_tracked_with_nothing_in_stock() {
    let f = Fixture::new(40, 30).await;
    let conn = f.conn();
    let id = f.shop.product_ids()[3];
    f.shop.set_available(id, 0, true);
    f.sync().await;
    let row = |(headers, rows): &(Vec<String>, Vec<Vec<String>>)| -> Vec<String> {
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let handle = f.shop.handle_of(id).unwrap();
        let first = rows
            .iter()
            .find(|r| r[col("URL handle")] == handle && !r[col("Price")].is_empty())
            .unwrap();
        [
            "Inventory tracker",
            "Inventory quantity",
            "Continue selling when out of stock",
        ]
        .iter()
        .map(|c| first[col(c)].clone())
        .collect()
    };
    assert_eq!(row(&shopify_csv(&f, &[]).await), ["", "", "CONTINUE"]);
    f.shop.set_available(id, 0, false);
    f.sync().await;
    let (variant, _, available) = first_variant(&conn, id);
    assert_eq!(available, Some(false), "variant {variant} is sold out");
    assert_eq!(row(&shopify_csv(&f, &[]).await), ["shopify", "0", "DENY"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_need_store_for_shopify_csv() {
    let f = Fixture::new(30, 31).await;
    let other = FakeShop::start(Catalog::generate(20, 32)).await;
    let out = f.run(&["sync", &other.url()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let other_name = other.url().trim_start_matches("http://").to_string();

    let refused = f.run(&["export", "--format", "shopify-csv"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(refused.stdout.is_empty());
    let message = stderr(&refused);
    assert!(message.contains("--store"), "{message}");
    assert!(
        message.contains(&f.store) && message.contains(&other_name),
        "lists the stores: {message}"
    );

    let (_, rows) = shopify_csv(&f, &["--store", &other_name]).await;
    let handles: std::collections::BTreeSet<&String> = rows.iter().map(|r| &r[1]).collect();
    let live = count(
        &f.conn(),
        "SELECT count(*) FROM products p JOIN stores s USING (store_id)
         WHERE s.name = ?1 AND p.deleted_at IS NULL",
        [&other_name],
    );
    assert_eq!(handles.len() as i64, live);
    // The other formats still cover every store.
    let all = csv_maps(&export_stdout(&f, &[]).await);
    assert_eq!(all.len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_product_whose_handle_is_reused_is_left_out() {
    let f = Fixture::new(30, 33).await;
    let ids = f.shop.product_ids();
    let (gone, heir, also_gone) = (ids[4], ids[9], ids[12]);
    let handle = f.shop.handle_of(gone).unwrap();
    let also_gone_handle = f.shop.handle_of(also_gone).unwrap();
    assert!(f.shop.remove_product(gone));
    assert!(f.shop.remove_product(also_gone));
    f.sync().await;
    f.shop
        .modify_product(heir, |p| p["handle"] = handle.clone().into());
    f.sync().await;
    let conn = f.conn();
    let holders = count(
        &conn,
        "SELECT count(*) FROM products WHERE handle = ?1",
        [&handle],
    );
    assert_eq!(
        holders, 2,
        "the tombstone and the live product share the handle"
    );

    let out = f
        .run(&["export", "--format", "shopify-csv", "--include-deleted"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (headers, rows) = csv_rows(&out.stdout);
    let title = headers.iter().position(|h| h == "Title").unwrap();
    let titled: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[1] == handle && !r[title].is_empty())
        .collect();
    assert_eq!(titled.len(), 1, "one product for the handle");
    let status = headers.iter().position(|h| h == "Status").unwrap();
    assert_eq!(titled[0][status], "Active", "the live product keeps it");
    let note = stderr(&out);
    assert!(
        note.contains(&gone.to_string()) && note.contains(&heir.to_string()),
        "says which product was left out and why: {note}"
    );
    // A deleted product whose handle nobody took is still exported, archived.
    let archived: Vec<&String> = rows
        .iter()
        .filter(|r| r[status] == "Archived")
        .map(|r| &r[1])
        .collect();
    assert_eq!(archived, [&also_gone_handle]);

    // Without --include-deleted there is nothing to leave out and nothing to say.
    let (_, rows) = shopify_csv(&f, &[]).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r[1] == handle && !r[title].is_empty())
            .count(),
        1
    );
}
