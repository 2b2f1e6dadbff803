//! Shopify's product-import CSV: the columns named as Shopify's import template expects, one row
//! per variant (product fields on the first row only, as Shopify's own export writes them) and
//! extra rows for images beyond the number of variants. Fields a storefront does not reveal
//! (inventory, barcode, category, SEO, cost) are left empty so the importer applies its defaults.

use crate::store::{ExportProduct, ExportVariant};

/// The import template's columns, in its order.
pub const COLUMNS: [&str; 39] = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option1 Linked To",
    "Option2 Name",
    "Option2 Value",
    "Option2 Linked To",
    "Option3 Name",
    "Option3 Value",
    "Option3 Linked To",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Variant Image",
    "Variant Weight Unit",
    "Variant Tax Code",
    "Cost per item",
    "Status",
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
        r[col("Handle")] = p.handle.clone();
        if i == 0 {
            product_fields(p, &mut r);
        }
        if let Some(v) = p.variants.get(i) {
            variant_fields(p, v, &mut r);
        }
        if let Some(image) = p.images.get(i) {
            r[col("Image Src")] = image.src.clone();
            r[col("Image Position")] = image.position.to_string();
        }
        r
    })
}

fn product_fields(p: &ExportProduct, r: &mut Record) {
    r[col("Title")] = p.title.clone();
    r[col("Body (HTML)")] = p.body_html.clone();
    r[col("Vendor")] = p.vendor.clone();
    r[col("Type")] = p.product_type.clone();
    r[col("Tags")] = p.tags.join(", ");
    r[col("Published")] = bool_text(p.published_at.is_some() && p.deleted_at.is_none());
    r[col("Gift Card")] = bool_text(false);
    r[col("Status")] = if p.deleted_at.is_some() {
        "archived"
    } else {
        "active"
    }
    .to_string();
    for (n, option) in p.options.iter().take(3).enumerate() {
        r[col(&format!("Option{} Name", n + 1))] = option.name.clone();
    }
}

fn variant_fields(p: &ExportProduct, v: &ExportVariant, r: &mut Record) {
    let values = [&v.option1, &v.option2, &v.option3];
    for (n, value) in values.into_iter().enumerate() {
        r[col(&format!("Option{} Value", n + 1))] = value.clone().unwrap_or_default();
    }
    r[col("Variant SKU")] = v.sku.clone().unwrap_or_default();
    r[col("Variant Grams")] = v.grams.map(|g| g.to_string()).unwrap_or_default();
    r[col("Variant Inventory Policy")] = "deny".into();
    r[col("Variant Fulfillment Service")] = "manual".into();
    r[col("Variant Price")] = v.price.clone();
    r[col("Variant Compare At Price")] = super::compare_at(v);
    r[col("Variant Requires Shipping")] = v.requires_shipping.map(bool_text).unwrap_or_default();
    r[col("Variant Taxable")] = v.taxable.map(bool_text).unwrap_or_default();
    r[col("Variant Image")] = super::variant_image(p, v).unwrap_or_default().to_string();
    if v.grams.is_some() {
        r[col("Variant Weight Unit")] = "g".into();
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
        assert!(rows.iter().all(|r| r[col("Handle")] == "shirt"));
        assert_eq!(rows[0][col("Title")], "Shirt");
        assert_eq!(rows[0][col("Tags")], "a, b");
        assert_eq!(rows[0][col("Published")], "TRUE");
        assert_eq!(rows[0][col("Status")], "active");
        assert_eq!(rows[0][col("Option1 Name")], "Size");
        assert_eq!(
            rows[1][col("Title")],
            "",
            "product fields on the first row only"
        );
        assert_eq!(rows[1][col("Option1 Name")], "");
        assert_eq!(rows[1][col("Option1 Value")], "M");
        assert_eq!(rows[1][col("Variant SKU")], "SKU-2");
        assert_eq!(
            rows[0][col("Variant Compare At Price")],
            "",
            "0.00 means none"
        );
        assert_eq!(rows[0][col("Variant Requires Shipping")], "TRUE");
        assert_eq!(rows[0][col("Variant Taxable")], "");
        assert_eq!(rows[0][col("Variant Image")], "https://cdn/9.jpg");
        assert_eq!(rows[2][col("Variant Price")], "", "image-only row");
        assert_eq!(rows[2][col("Image Src")], "https://cdn/10.jpg");
        assert_eq!(rows[2][col("Image Position")], "3");
    }
}
