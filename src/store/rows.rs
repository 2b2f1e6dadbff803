//! The rows of one product, written inside a write's transaction (`WriteCtx`): the product row
//! with its seen row, children and a new version; closing the version it replaces; restoring a
//! tombstoned product. Which rows to write is decided by upsert.rs; the change rows go through
//! the funnel.

use rusqlite::params;

use super::children::write_children;
use super::funnel::WriteCtx;
use super::seen::{mark_seen, write_seen};
use super::{Context, Error};
use crate::catalog::ParsedProduct;
use crate::change::{Change, ProductEvent};
use crate::endpoint::Endpoint;

/// Clears a product's tombstone, marks it seen and records it restored.
pub(super) fn restore(ctx: &WriteCtx, id: i64) -> Result<(), Error> {
    ctx.tx
        .prepare_cached(
            "UPDATE products SET deleted_at = NULL WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, id]))
        .ctx(ctx.path, "restoring product")?;
    mark_seen(ctx, id, None)?;
    ctx.record(Change::Product {
        product_id: id,
        event: ProductEvent::Restored,
    })
}

/// Closes the current version of a product before a new one is written: it keeps the raw JSON
/// it had and the last time it was observed.
pub(super) fn supersede_version(ctx: &WriteCtx, id: i64) -> Result<(), Error> {
    ctx.tx
        .prepare_cached(
            "UPDATE product_versions
             SET last_observed_at = s.last_seen_at, raw_json = p.raw_json
             FROM products p JOIN product_seen s
                 ON s.store_id = p.store_id AND s.product_id = p.product_id
             WHERE p.store_id = ?1 AND p.product_id = ?2
               AND product_versions.store_id = ?1 AND product_versions.product_id = ?2
               AND product_versions.raw_json IS NULL",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, id]))
        .ctx(ctx.path, "closing product version")?;
    Ok(())
}

/// Writes the product row, its seen row, its children and a new version row; `source` is the
/// endpoint that supplied it (`products.source`). `stated` is None
/// for a new product, else the availability its variants last stated (kept where the answer
/// is silent, and so is the source it came from).
pub(super) fn write_product(
    ctx: &WriteCtx,
    parsed: &ParsedProduct,
    source: Endpoint,
    stated: Option<&[(i64, bool)]>,
) -> Result<(), Error> {
    let (tx, path, store_id) = (ctx.tx, ctx.path, ctx.store_id);
    let p = &parsed.product;
    let tags = serde_json::to_string(&p.tags).expect("tags serialize");
    tx.prepare_cached(
        "INSERT INTO products (store_id, product_id, handle, title, vendor, product_type, tags,
             body_html_stored, published_at, created_at, content_hash, raw_json, first_seen_at,
             content_changed_at, written_run, source, availability_source, variants_truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (store_id, product_id) DO UPDATE SET
             handle = excluded.handle, title = excluded.title, vendor = excluded.vendor,
             product_type = excluded.product_type, tags = excluded.tags,
             body_html_stored = excluded.body_html_stored,
             published_at = excluded.published_at,
             created_at = excluded.created_at, content_hash = excluded.content_hash,
             raw_json = excluded.raw_json,
             content_changed_at = excluded.content_changed_at,
             written_run = excluded.written_run, source = excluded.source,
             availability_source = coalesce(excluded.availability_source,
                                            products.availability_source),
             variants_truncated = excluded.variants_truncated",
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
            body_html_stored(&p.body_html),
            p.published_at,
            p.created_at,
            parsed.content_hash,
            parsed.raw_json,
            ctx.now,
            ctx.run_id,
            source.as_str(),
            parsed.availability_source(),
            parsed.variants_truncated()
        ])
    })
    .ctx(path, "writing product")?;
    ctx.product_written(p.id);
    write_seen(ctx, p.id, parsed.raw_hash)?;
    if stated.is_some() {
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
    write_children(ctx, p, stated.unwrap_or_default())?;
    tx.prepare_cached(
        "INSERT INTO product_versions (store_id, product_id, content_hash, first_observed_at,
             run_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            store_id,
            p.id,
            parsed.content_hash,
            ctx.now,
            ctx.run_id
        ])
    })
    .ctx(path, "writing product version")?;
    Ok(())
}

/// `products.body_html` is read out of raw_json (a generated column); a copy is stored only
/// where SQLite's json_extract cannot give the text back byte for byte: a NUL character.
fn body_html_stored(body: &str) -> Option<&str> {
    body.contains('\0').then_some(body)
}
