//! A product's child rows: its variants, images and options as written with its content (the
//! variant history recorded when a changed product replaces them lives in variant_changes.rs).
//! Variants are keyed by their product, so one product's write never takes another's rows.

use rusqlite::params;

use super::funnel::WriteCtx;
use super::{Context, Error};
use crate::catalog::Product;

/// Writes a product's variants, images and options. `stated` is the availability its variants
/// last stated, used where this answer is silent.
pub(super) fn write_children(
    ctx: &WriteCtx,
    p: &Product,
    stated: &[(i64, bool)],
) -> Result<(), Error> {
    let (tx, path, store_id, run_id) = (ctx.tx, ctx.path, ctx.store_id, ctx.run_id);
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
