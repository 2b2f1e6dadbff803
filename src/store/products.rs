//! Writing products: one page (or one batch of checked products) per transaction, together with
//! the run's counters and cursor. New and changed products are (re)written with their variants,
//! images, options, a version row and history; unchanged ones only get their narrow seen row
//! (seen.rs) moved, so they cost no write in the wide products table.

use std::path::Path;

use rusqlite::{params, Transaction};

use super::seen::{mark_seen, write_seen};
use super::upsert::Upsert;
use super::write::WriteDb;
use super::{Context, Error};
use crate::storefront::{ParsedProduct, Product};

/// One page of products and where the run goes next once it is committed.
pub struct PageWrite {
    pub store_id: i64,
    pub run_id: i64,
    pub products: Vec<PageProduct>,
    /// The listing page to resume at after this one (cursor value written with the page).
    pub next_page: i64,
    /// HTTP requests made since the last write, added to the run's count.
    pub requests: i64,
}

/// A listing page's product as the writer gets it.
pub enum PageProduct {
    /// Parsed and hashed: its content hash decides whether it changed.
    Parsed(Box<ParsedProduct>),
    /// Not parsed: its raw hash equals the stored one, so its content is the stored content.
    Same { id: i64, raw_hash: i64 },
}

/// What a write did, product by product.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub new: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub restored: i64,
}

impl WriteDb {
    /// Writes one listing page and moves the cursor past it, atomically.
    pub fn apply_page(&mut self, page: PageWrite) -> Result<WriteCounts, Error> {
        self.transaction(|tx, path| {
            let mut upsert = Upsert::new(tx, path, page.store_id, page.run_id)?;
            for item in &page.products {
                match item {
                    PageProduct::Parsed(parsed) => upsert.parsed(parsed)?,
                    PageProduct::Same { id, raw_hash } => upsert.same(*id, *raw_hash)?,
                }
            }
            let counts = upsert.counts;
            add_counts(tx, path, page.run_id, counts, 1, page.requests)?;
            tx.prepare_cached("UPDATE sync_cursor SET next_page = ?2 WHERE store_id = ?1")
                .and_then(|mut s| s.execute(params![page.store_id, page.next_page]))
                .ctx(path, "advancing cursor")?;
            Ok(counts)
        })
    }
}

/// Adds a write's counts to its run row.
pub(super) fn add_counts(
    tx: &Transaction,
    path: &Path,
    run_id: i64,
    counts: WriteCounts,
    pages: i64,
    requests: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE sync_runs SET pages = pages + ?2, requests = requests + ?3,
             products_new = products_new + ?4, products_changed = products_changed + ?5,
             products_unchanged = products_unchanged + ?6,
             products_restored = products_restored + ?7
         WHERE run_id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            run_id,
            pages,
            requests,
            counts.new,
            counts.changed,
            counts.unchanged,
            counts.restored
        ])
    })
    .ctx(path, "updating run counters")?;
    Ok(())
}

/// Inserts, rewrites or marks seen each product; returns what happened.
pub(super) fn upsert_products(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    products: &[ParsedProduct],
) -> Result<WriteCounts, Error> {
    let mut upsert = Upsert::new(tx, path, store_id, run_id)?;
    for parsed in products {
        upsert.parsed(parsed)?;
    }
    Ok(upsert.counts)
}

pub(super) fn restore(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    id: i64,
    run_id: i64,
    now: &str,
) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE products SET deleted_at = NULL WHERE store_id = ?1 AND product_id = ?2",
    )
    .and_then(|mut s| s.execute(params![store_id, id]))
    .ctx(path, "restoring product")?;
    mark_seen(tx, path, store_id, run_id, id, None, now)?;
    insert_event(tx, path, store_id, id, "restored", now, run_id)
}

pub(super) fn insert_event(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    product_id: i64,
    event: &str,
    now: &str,
    run_id: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO product_events (store_id, product_id, event, observed_at, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![store_id, product_id, event, now, run_id]))
    .ctx(path, "recording product event")?;
    Ok(())
}

/// Closes the current version of a product before a new one is written: it keeps the raw JSON
/// it had and the last time it was observed.
pub(super) fn supersede_version(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    id: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE product_versions
         SET last_observed_at = s.last_seen_at, raw_json = p.raw_json
         FROM products p JOIN product_seen s
             ON s.store_id = p.store_id AND s.product_id = p.product_id
         WHERE p.store_id = ?1 AND p.product_id = ?2
           AND product_versions.store_id = ?1 AND product_versions.product_id = ?2
           AND product_versions.raw_json IS NULL",
    )
    .and_then(|mut s| s.execute(params![store_id, id]))
    .ctx(path, "closing product version")?;
    Ok(())
}

/// Writes the product row, its children and a new version row.
pub(super) fn write_product(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    parsed: &ParsedProduct,
    now: &str,
    is_new: bool,
) -> Result<(), Error> {
    let p = &parsed.product;
    let tags = serde_json::to_string(&p.tags).expect("tags serialize");
    tx.prepare_cached(
        "INSERT INTO products (store_id, product_id, handle, title, vendor, product_type, tags,
             body_html, published_at, created_at, content_hash, raw_json, first_seen_at,
             content_changed_at, written_run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)
         ON CONFLICT (store_id, product_id) DO UPDATE SET
             handle = excluded.handle, title = excluded.title, vendor = excluded.vendor,
             product_type = excluded.product_type, tags = excluded.tags,
             body_html = excluded.body_html, published_at = excluded.published_at,
             created_at = excluded.created_at, content_hash = excluded.content_hash,
             raw_json = excluded.raw_json,
             content_changed_at = excluded.content_changed_at,
             written_run = excluded.written_run",
    )
    .and_then(|mut s| {
        s.execute(params![
            store_id,
            p.id,
            p.handle,
            p.title,
            p.vendor,
            p.product_type,
            tags,
            p.body_html,
            p.published_at,
            p.created_at,
            parsed.content_hash,
            parsed.raw_json,
            now,
            run_id
        ])
    })
    .ctx(path, "writing product")?;
    write_seen(tx, path, store_id, run_id, p.id, parsed.raw_hash, now)?;
    if !is_new {
        for table in [
            "DELETE FROM variants WHERE store_id = ?1 AND product_id = ?2",
            "DELETE FROM images WHERE store_id = ?1 AND product_id = ?2",
            "DELETE FROM options WHERE store_id = ?1 AND product_id = ?2",
        ] {
            tx.prepare_cached(table)
                .and_then(|mut s| s.execute(params![store_id, p.id]))
                .ctx(path, "removing old product rows")?;
        }
    }
    write_children(tx, path, store_id, run_id, p)?;
    tx.prepare_cached(
        "INSERT INTO product_versions (store_id, product_id, content_hash, first_observed_at,
             run_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![store_id, p.id, parsed.content_hash, now, run_id]))
    .ctx(path, "writing product version")?;
    Ok(())
}

fn write_children(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    p: &Product,
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
                v.available,
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
/// compare-at and availability change, and each variant added or removed.
pub(super) fn record_variant_changes(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
    p: &Product,
    now: &str,
) -> Result<(), Error> {
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
        if o.available != v.available {
            record(v.id, "available", flag(o.available), flag(v.available))?;
        }
    }
    let removed = old
        .iter()
        .filter(|o| !p.variants.iter().any(|v| v.id == o.id));
    for o in removed {
        record(o.id, "variant_removed", Some(o.price.clone()), None)?;
    }
    Ok(())
}

/// Hundredths back to a decimal string: 1999 -> "19.99".
fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}
