//! A product's child rows: its variants, images and options as written with its content, and
//! the variant history recorded when a changed product replaces them (price, compare-at price
//! and availability changes, variants added and removed). Variants are keyed by their product,
//! so one product's write never takes another's rows.

use std::path::Path;

use rusqlite::{params, Transaction};

use super::{Context, Error};
use crate::storefront::Product;

/// Writes a product's variants, images and options. `stated` is the availability its variants
/// last stated, used where this answer is silent.
pub(super) fn write_children(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    p: &Product,
    stated: &[(i64, bool)],
) -> Result<(), Error> {
    let mut variant = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO variants (store_id, variant_id, product_id, position, title,
                 option1, option2, option3, sku, price, price_cents, compare_at_price,
                 compare_at_price_cents, available, requires_shipping, taxable, grams,
                 featured_image_id, written_run)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19)",
        )
        .ctx(path, "preparing variant insert")?;
    for v in &p.variants {
        let available = v
            .available
            .or_else(|| stated.iter().find(|(id, _)| *id == v.id).map(|s| s.1));
        variant
            .execute(params![
                store_id,
                v.id,
                p.id,
                v.position,
                v.title,
                v.option1,
                v.option2,
                v.option3,
                v.sku,
                v.price,
                v.price_cents,
                v.compare_at_price,
                v.compare_at_price_cents,
                available,
                v.requires_shipping,
                v.taxable,
                v.grams,
                v.featured_image_id,
                run_id
            ])
            .ctx(path, "writing variant")?;
    }
    let mut image = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO images (store_id, image_id, product_id, position, src, width,
                 height, variant_ids, written_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx(path, "preparing image insert")?;
    for i in &p.images {
        let variant_ids = serde_json::to_string(&i.variant_ids).expect("ids serialize");
        image
            .execute(params![
                store_id,
                i.id,
                p.id,
                i.position,
                i.src,
                i.width,
                i.height,
                variant_ids,
                run_id
            ])
            .ctx(path, "writing image")?;
    }
    let mut option = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO options (store_id, product_id, position, name, option_values,
                 written_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx(path, "preparing option insert")?;
    for o in &p.options {
        let values = serde_json::to_string(&o.values).expect("values serialize");
        option
            .execute(params![store_id, p.id, o.position, o.name, values, run_id])
            .ctx(path, "writing option")?;
    }
    Ok(())
}

/// Compares a changed product's variants with the stored ones and records each price,
/// compare-at and availability change, and each variant added or removed. Availability changes
/// only between two stated values: an answer that does not state it changes nothing. Returns
/// the availability each stored variant last stated.
pub(super) fn record_variant_changes(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    p: &Product,
    now: &str,
) -> Result<Vec<(i64, bool)>, Error> {
    struct Old {
        id: i64,
        price: String,
        price_cents: i64,
        compare_at_cents: Option<i64>,
        available: Option<bool>,
    }
    let old: Vec<Old> = tx
        .prepare_cached(
            "SELECT variant_id, price, price_cents, compare_at_price_cents, available
             FROM variants WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![store_id, p.id], |r| {
                Ok(Old {
                    id: r.get(0)?,
                    price: r.get(1)?,
                    price_cents: r.get(2)?,
                    compare_at_cents: r.get(3)?,
                    available: r.get(4)?,
                })
            })?
            .collect()
        })
        .ctx(path, "reading old variants")?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO variant_changes (store_id, product_id, variant_id, field, old_value,
                 new_value, observed_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .ctx(path, "preparing variant change insert")?;
    let mut record = |variant: i64, field: &str, old: Option<String>, new: Option<String>| {
        insert
            .execute(params![
                store_id, p.id, variant, field, old, new, now, run_id
            ])
            .map(|_| ())
            .ctx(path, "recording variant change")
    };
    let flag = |b: Option<bool>| b.map(|b| if b { "1" } else { "0" }.to_string());
    let cents = |c: Option<i64>| c.map(cents_text);
    for v in &p.variants {
        let Some(o) = old.iter().find(|o| o.id == v.id) else {
            record(v.id, "variant_added", None, Some(v.price.clone()))?;
            continue;
        };
        if o.price_cents != v.price_cents {
            record(v.id, "price", Some(o.price.clone()), Some(v.price.clone()))?;
        }
        if o.compare_at_cents != v.compare_at_price_cents {
            let new = cents(v.compare_at_price_cents);
            record(v.id, "compare_at_price", cents(o.compare_at_cents), new)?;
        }
        if let (Some(old), Some(new)) = (o.available, v.available) {
            if old != new {
                record(v.id, "available", flag(Some(old)), flag(Some(new)))?;
            }
        }
    }
    let removed = old
        .iter()
        .filter(|o| !p.variants.iter().any(|v| v.id == o.id));
    for o in removed {
        record(o.id, "variant_removed", Some(o.price.clone()), None)?;
    }
    Ok(old
        .iter()
        .filter_map(|o| o.available.map(|a| (o.id, a)))
        .collect())
}

/// Hundredths back to a decimal string: 1999 -> "19.99".
fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}
