//! Shopify's product-import CSV, following Shopify's current template: one row per variant
//! (product fields on the first row only, as Shopify's own export writes them), extra rows for
//! images beyond the number of variants. Only columns the mirror has data for are written:
//! with "overwrite products with matching handles" a blank cell clears the shop's value, while
//! a missing column leaves it alone.

use crate::store::{ExportProduct, ExportVariant};

/// The columns written, named and ordered as in Shopify's `product_template.csv` (linked from
/// the help page "Using CSV files to import and export products",
/// https://help.shopify.com/en/manual/products/import-export/using-csv), as copied into public
/// repositories in 2026-04 and 2026-07 (copy and provenance: tests/fixtures/SOURCES.md).
/// Left out, because a storefront does not reveal them: Product category, Barcode, Option1-3
/// Linked To, Cost per item, Tax code, the four Unit price columns, Weight unit for display,
/// Fulfillment service, Image alt text, Gift card, SEO title, SEO description, the color
/// metafield and every Google Shopping column.
pub const COLUMNS: [&str; 26] = [
    "Title",
    "URL handle",
    "Description",
    "Vendor",
    "Type",
    "Tags",
    "Published on online store",
    "Status",
    "SKU",
    "Option1 name",
    "Option1 value",
    "Option2 name",
    "Option2 value",
    "Option3 name",
    "Option3 value",
    "Price",
    "Compare-at price",
    "Charge tax",
    "Inventory tracker",
    "Inventory quantity",
    "Continue selling when out of stock",
    "Weight value (grams)",
    "Requires shipping",
    "Product image URL",
    "Image position",
    "Variant image URL",
];

/// Column index by name, checked at compile time through the tests.
fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("known column")
}

type Record = Vec<String>;

/// The rows of one product: its variants, then its remaining images.
pub fn records(p: &ExportProduct) -> impl Iterator<Item = Record> + '_ {
    let rows = p.variants.len().max(p.images.len());
    (0..rows).map(move |i| {
        let mut r = vec![String::new(); COLUMNS.len()];
        r[col("URL handle")] = p.handle.clone();
        if i == 0 {
            product_fields(p, &mut r);
        }
        if let Some(v) = p.variants.get(i) {
            variant_fields(p, v, &mut r);
        }
        if let Some(image) = p.images.get(i) {
            r[col("Product image URL")] = image.src.clone();
            r[col("Image position")] = image.position.to_string();
        }
        r
    })
}

fn product_fields(p: &ExportProduct, r: &mut Record) {
    r[col("Title")] = p.title.clone();
    r[col("Description")] = p.body_html.clone();
    r[col("Vendor")] = p.vendor.clone();
    r[col("Type")] = p.product_type.clone();
    r[col("Tags")] = p.tags_as_sent().join(", ");
    r[col("Published on online store")] =
        bool_text(p.published_at.is_some() && p.deleted_at.is_none());
    r[col("Status")] = if p.deleted_at.is_some() {
        "Archived"
    } else {
        "Active"
    }
    .to_string();
    for (n, option) in p.options.iter().take(3).enumerate() {
        r[col(&format!("Option{} name", n + 1))] = option.name.clone();
    }
}

fn variant_fields(p: &ExportProduct, v: &ExportVariant, r: &mut Record) {
    let values = [&v.option1, &v.option2, &v.option3];
    for (n, value) in values.into_iter().enumerate() {
        r[col(&format!("Option{} value", n + 1))] = value.clone().unwrap_or_default();
    }
    r[col("SKU")] = v.sku.clone().unwrap_or_default();
    r[col("Price")] = v.price.clone();
    r[col("Compare-at price")] = super::compare_at(v);
    r[col("Charge tax")] = v.taxable.map(bool_text).unwrap_or_default();
    let [tracker, quantity, policy] = inventory(v.available);
    r[col("Inventory tracker")] = tracker.into();
    r[col("Inventory quantity")] = quantity.into();
    r[col("Continue selling when out of stock")] = policy.into();
    r[col("Weight value (grams)")] = v.grams.map(|g| g.to_string()).unwrap_or_default();
    r[col("Requires shipping")] = v.requires_shipping.map(bool_text).unwrap_or_default();
    r[col("Variant image URL")] = super::variant_image(p, v).unwrap_or_default().to_string();
}

/// Inventory tracker, quantity and "continue selling" for what the storefront shows. A sold-out
/// variant is tracked by Shopify with nothing in stock and no selling past zero, so it stays
/// sold out after the import. An available one is not tracked (as the template's own digital
/// product), which keeps it sellable without making up a quantity; so is one whose store does
/// not say (`available: null`), since nothing says it is sold out.
fn inventory(available: Option<bool>) -> [&'static str; 3] {
    match available {
        Some(false) => ["shopify", "0", "DENY"],
        Some(true) | None => ["", "", "CONTINUE"],
    }
}

fn bool_text(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ExportImage, ExportOption};

    fn variant(id: i64, size: &str) -> ExportVariant {
        ExportVariant {
            variant_id: id,
            position: id,
            title: size.into(),
            option1: Some(size.into()),
            option2: None,
            option3: None,
            sku: Some(format!("SKU-{id}")),
            price: "10.00".into(),
            compare_at_price: Some("0.00".into()),
            compare_at_price_cents: None,
            available: Some(true),
            requires_shipping: Some(true),
            taxable: None,
            grams: Some(250),
            featured_image_id: Some(9),
        }
    }

    fn image(id: i64, position: i64) -> ExportImage {
        ExportImage {
            image_id: id,
            position,
            src: format!("https://cdn/{id}.jpg"),
            width: None,
            height: None,
        }
    }

    #[test]
    fn every_column_is_distinct_and_named_by_col() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(col(c), i);
        }
    }

    #[test]
    fn one_row_per_variant_then_extra_images() {
        let p = ExportProduct {
            handle: "shirt".into(),
            title: "Shirt".into(),
            tags: vec!["a".into(), "b".into()],
            published_at: Some("2026-01-01T00:00:00Z".into()),
            options: vec![ExportOption {
                position: 1,
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            variants: vec![variant(1, "S"), variant(2, "M")],
            images: vec![image(8, 1), image(9, 2), image(10, 3)],
            ..ExportProduct::default()
        };
        let rows: Vec<Record> = records(&p).collect();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r[col("URL handle")] == "shirt"));
        assert_eq!(rows[0][col("Title")], "Shirt");
        assert_eq!(rows[0][col("Tags")], "a, b");
        assert_eq!(rows[0][col("Published on online store")], "TRUE");
        assert_eq!(rows[0][col("Status")], "Active");
        assert_eq!(rows[0][col("Option1 name")], "Size");
        assert_eq!(
            rows[1][col("Title")],
            "",
            "product fields on the first row only"
        );
        assert_eq!(rows[1][col("Option1 name")], "");
        assert_eq!(rows[1][col("Option1 value")], "M");
        assert_eq!(rows[1][col("SKU")], "SKU-2");
        assert_eq!(rows[0][col("Compare-at price")], "", "0.00 means none");
        assert_eq!(rows[0][col("Requires shipping")], "TRUE");
        assert_eq!(rows[0][col("Charge tax")], "");
        assert_eq!(rows[0][col("Variant image URL")], "https://cdn/9.jpg");
        assert_eq!(rows[2][col("Price")], "", "image-only row");
        assert_eq!(rows[2][col("Product image URL")], "https://cdn/10.jpg");
        assert_eq!(rows[2][col("Image position")], "3");
    }

    fn option(position: i64, name: &str) -> ExportOption {
        ExportOption {
            position,
            name: name.into(),
            values: Vec::new(),
        }
    }

    fn inventory_of(r: &Record) -> [&str; 3] {
        [
            &r[col("Inventory tracker")],
            &r[col("Inventory quantity")],
            &r[col("Continue selling when out of stock")],
        ]
        .map(String::as_str)
    }

    #[test]
    fn sold_out_is_tracked_with_nothing_in_stock_and_available_is_not_tracked() {
        let mut sold_out = variant(1, "S");
        sold_out.available = Some(false);
        let mut unknown = variant(3, "L");
        unknown.available = None;
        let p = ExportProduct {
            handle: "shirt".into(),
            variants: vec![sold_out, variant(2, "M"), unknown],
            ..ExportProduct::default()
        };
        let rows: Vec<Record> = records(&p).collect();
        assert_eq!(inventory_of(&rows[0]), ["shopify", "0", "DENY"]);
        assert_eq!(inventory_of(&rows[1]), ["", "", "CONTINUE"]);
        assert_eq!(inventory_of(&rows[2]), ["", "", "CONTINUE"]);
    }

    #[test]
    fn every_column_is_fed_by_the_mirror() {
        let mut sold_out = variant(1, "S");
        sold_out.available = Some(false);
        sold_out.option2 = Some("Red".into());
        sold_out.option3 = Some("Cotton".into());
        sold_out.compare_at_price = Some("12.00".into());
        sold_out.compare_at_price_cents = Some(1200);
        sold_out.taxable = Some(false);
        let p = ExportProduct {
            handle: "shirt".into(),
            title: "Shirt".into(),
            body_html: "<p>Soft</p>".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            raw_json: r#"{"tags": ["b", "a"]}"#.into(),
            published_at: Some("2026-01-01T00:00:00Z".into()),
            options: vec![option(1, "Size"), option(2, "Color"), option(3, "Fabric")],
            variants: vec![sold_out],
            images: vec![image(9, 1)],
            ..ExportProduct::default()
        };
        let rows: Vec<Record> = records(&p).collect();
        for (i, c) in COLUMNS.iter().enumerate() {
            assert!(rows.iter().any(|r| !r[i].is_empty()), "column {c} is empty");
        }
        assert_eq!(rows[0][col("Tags")], "b, a", "the store's order");
    }

    #[test]
    fn option_layouts_stay_valid() {
        // More than three options never reach the file; a single-variant product keeps the
        // store's Title / Default Title.
        let p = ExportProduct {
            handle: "many".into(),
            options: vec![
                option(1, "A"),
                option(2, "B"),
                option(3, "C"),
                option(4, "D"),
            ],
            variants: vec![variant(1, "x")],
            ..ExportProduct::default()
        };
        let row = records(&p).next().unwrap();
        assert_eq!(row[col("Option3 name")], "C");
        assert!(!row.contains(&"D".to_string()));
        let mut single = variant(1, "Default Title");
        single.title = "Default Title".into();
        let p = ExportProduct {
            handle: "one".into(),
            options: vec![option(1, "Title")],
            variants: vec![single],
            ..ExportProduct::default()
        };
        let row = records(&p).next().unwrap();
        assert_eq!(
            [&row[col("Option1 name")], &row[col("Option1 value")]],
            ["Title", "Default Title"]
        );
    }
}
