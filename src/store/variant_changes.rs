//! Variant history of a changed product: each price, compare-at and availability change, and
//! each variant added or removed, compared with the stored rows. A variant list of exactly 100
//! entries may be Shopify's cut: variants entering or leaving that view are not recorded as
//! added or removed. Availability changes only between two stated values: an answer that does
//! not state it keeps the last stated one. Availability is outside the content hash, so an
//! unchanged product has it compared and brought up to date here too.

use std::path::Path;

use rusqlite::{params, Transaction};

use super::{Context, Error};
use crate::catalog::ParsedProduct;

/// A variant as stored, for comparison with a new observation.
struct Old {
    id: i64,
    price: String,
    price_cents: i64,
    compare_at_cents: Option<i64>,
    available: Option<bool>,
}

fn old_variants(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    product_id: i64,
) -> Result<Vec<Old>, Error> {
    tx.prepare_cached(
        "SELECT variant_id, price, price_cents, compare_at_price_cents, available
         FROM variants WHERE store_id = ?1 AND product_id = ?2",
    )
    .and_then(|mut s| {
        s.query_map(params![store_id, product_id], |r| {
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
    .ctx(path, "reading old variants")
}

/// Each stored variant of a product with the availability it last stated (None: never).
pub(super) fn stored_availability(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    product_id: i64,
) -> Result<Vec<(i64, Option<bool>)>, Error> {
    tx.prepare_cached(
        "SELECT variant_id, available FROM variants WHERE store_id = ?1 AND product_id = ?2",
    )
    .and_then(|mut s| {
        s.query_map(params![store_id, product_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect()
    })
    .ctx(path, "reading stored availability")
}

/// Writes one variant_changes row.
fn record(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id, product_id): (i64, i64, i64),
    now: &str,
    (variant, field): (i64, &str),
    old: Option<String>,
    new: Option<String>,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO variant_changes (store_id, product_id, variant_id, field, old_value,
             new_value, observed_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            store_id, product_id, variant, field, old, new, now, run_id
        ])
    })
    .map(|_| ())
    .ctx(path, "recording variant change")
}

fn flag(b: Option<bool>) -> Option<String> {
    b.map(|b| if b { "1" } else { "0" }.to_string())
}

/// Compares a changed product's variants with the stored ones and records each price,
/// compare-at and availability change, and each variant added or removed. Availability changes
/// only between two stated values: an answer that does not state it changes nothing. When the
/// stored list had exactly 100 variants a variant new to the rows may only have come into view,
/// so it is not recorded as added; when the new list has exactly 100 a variant missing from it
/// may only have left the view, so it is not recorded as removed. Returns the availability each
/// stored variant last stated.
pub(super) fn record_variant_changes(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id): (i64, i64),
    parsed: &ParsedProduct,
    now: &str,
) -> Result<Vec<(i64, bool)>, Error> {
    let p = &parsed.product;
    let old = old_variants(tx, path, store_id, p.id)?;
    let was_truncated: bool = tx
        .prepare_cached(
            "SELECT variants_truncated FROM products WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| s.query_row(params![store_id, p.id], |r| r.get(0)))
        .ctx(path, "reading variant truncation")?;
    let key = (store_id, run_id, p.id);
    let cents = |c: Option<i64>| c.map(cents_text);
    for v in &p.variants {
        let Some(o) = old.iter().find(|o| o.id == v.id) else {
            if !was_truncated {
                let added = (v.id, "variant_added");
                record(tx, path, key, now, added, None, Some(v.price.clone()))?;
            }
            continue;
        };
        if o.price_cents != v.price_cents {
            let (old, new) = (Some(o.price.clone()), Some(v.price.clone()));
            record(tx, path, key, now, (v.id, "price"), old, new)?;
        }
        if o.compare_at_cents != v.compare_at_price_cents {
            let (old, new) = (cents(o.compare_at_cents), cents(v.compare_at_price_cents));
            record(tx, path, key, now, (v.id, "compare_at_price"), old, new)?;
        }
        record_availability(tx, path, key, now, v.id, o.available, v.available)?;
    }
    if !parsed.variants_truncated() {
        let removed = old
            .iter()
            .filter(|o| !p.variants.iter().any(|v| v.id == o.id));
        for o in removed {
            let removed = (o.id, "variant_removed");
            record(tx, path, key, now, removed, Some(o.price.clone()), None)?;
        }
    }
    Ok(old
        .iter()
        .filter_map(|o| o.available.map(|a| (o.id, a)))
        .collect())
}

/// Records an availability change of one variant, only between two stated values.
fn record_availability(
    tx: &Transaction,
    path: &Path,
    key: (i64, i64, i64),
    now: &str,
    variant: i64,
    old: Option<bool>,
    new: Option<bool>,
) -> Result<(), Error> {
    match (old, new) {
        (Some(o), Some(n)) if o != n => record(
            tx,
            path,
            key,
            now,
            (variant, "available"),
            flag(old),
            flag(new),
        ),
        _ => Ok(()),
    }
}

/// An unchanged product whose answer states availability the rows lack (never stated before,
/// or reported by the `.js` endpoint): each variant whose availability differs from the stored
/// one is updated (and recorded when both are stated).
pub(super) fn refresh_availability(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id): (i64, i64),
    parsed: &ParsedProduct,
    now: &str,
) -> Result<(), Error> {
    let p = &parsed.product;
    let old = old_variants(tx, path, store_id, p.id)?;
    let mut update = tx
        .prepare_cached(
            "UPDATE variants SET available = ?4
             WHERE store_id = ?1 AND product_id = ?2 AND variant_id = ?3",
        )
        .ctx(path, "preparing availability update")?;
    for v in p.variants.iter().filter(|v| v.available.is_some()) {
        let Some(o) = old.iter().find(|o| o.id == v.id) else {
            continue;
        };
        if o.available != v.available {
            update
                .execute(params![store_id, p.id, v.id, v.available])
                .ctx(path, "updating availability")?;
            let key = (store_id, run_id, p.id);
            record_availability(tx, path, key, now, v.id, o.available, v.available)?;
        }
    }
    tx.prepare_cached(
        "UPDATE products SET availability_source = coalesce(?3, availability_source)
         WHERE store_id = ?1 AND product_id = ?2",
    )
    .and_then(|mut s| s.execute(params![store_id, p.id, parsed.availability_source()]))
    .ctx(path, "recording availability source")?;
    Ok(())
}

/// Hundredths back to a decimal string: 1999 -> "19.99".
fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}
