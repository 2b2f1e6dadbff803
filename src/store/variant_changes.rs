//! Variant history of a changed product: each price, compare-at and availability change, and
//! each variant added or removed, compared with the stored rows and recorded through the change
//! funnel. A variant list of exactly 100 entries may be Shopify's cut: variants entering or
//! leaving that view are not recorded as added or removed. Availability changes only between
//! two stated values: an answer that does not state it keeps the last stated one. Availability
//! is outside the content hash, so an unchanged product has it compared and brought up to date
//! here too.

use rusqlite::params;

use super::funnel::WriteCtx;
use super::{Context, Error};
use crate::catalog::ParsedProduct;
use crate::change::{Change, Price, VariantChange};

/// A variant as stored, for comparison with a new observation.
struct Old {
    id: i64,
    price: String,
    price_cents: i64,
    compare_at_cents: Option<i64>,
    available: Option<bool>,
}

impl Old {
    fn price(&self) -> Price {
        Price {
            text: self.price.clone(),
            cents: self.price_cents,
        }
    }
}

fn old_variants(ctx: &WriteCtx, product_id: i64) -> Result<Vec<Old>, Error> {
    ctx.tx
        .prepare_cached(
            "SELECT variant_id, price, price_cents, compare_at_price_cents, available
             FROM variants WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![ctx.store_id, product_id], |r| {
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
        .ctx(ctx.path, "reading old variants")
}

/// Each stored variant of a product with the availability it last stated (None: never).
pub(super) fn stored_availability(
    ctx: &WriteCtx,
    product_id: i64,
) -> Result<Vec<(i64, Option<bool>)>, Error> {
    ctx.tx
        .prepare_cached(
            "SELECT variant_id, available FROM variants WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![ctx.store_id, product_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
        .ctx(ctx.path, "reading stored availability")
}

/// Records one change of variant `variant_id` of product `product_id`.
fn record(
    ctx: &WriteCtx,
    product_id: i64,
    variant_id: i64,
    change: VariantChange,
) -> Result<(), Error> {
    ctx.record(Change::Variant {
        product_id,
        variant_id,
        change,
    })
}

/// Compares a changed product's variants with the stored ones and records each price,
/// compare-at and availability change, and each variant added or removed. Availability changes
/// only between two stated values: an answer that does not state it changes nothing. When the
/// stored list had exactly 100 variants a variant new to the rows may only have come into view,
/// so it is not recorded as added; when the new list has exactly 100 a variant missing from it
/// may only have left the view, so it is not recorded as removed. Returns the availability each
/// stored variant last stated.
pub(super) fn record_variant_changes(
    ctx: &WriteCtx,
    parsed: &ParsedProduct,
) -> Result<Vec<(i64, bool)>, Error> {
    let p = &parsed.product;
    let old = old_variants(ctx, p.id)?;
    let was_truncated: bool = ctx
        .tx
        .prepare_cached(
            "SELECT variants_truncated FROM products WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| s.query_row(params![ctx.store_id, p.id], |r| r.get(0)))
        .ctx(ctx.path, "reading variant truncation")?;
    for v in &p.variants {
        let new_price = || Price {
            text: v.price.clone(),
            cents: v.price_cents,
        };
        let Some(o) = old.iter().find(|o| o.id == v.id) else {
            if !was_truncated {
                record(ctx, p.id, v.id, VariantChange::Added { price: new_price() })?;
            }
            continue;
        };
        if o.price_cents != v.price_cents {
            let change = VariantChange::Price {
                old: o.price(),
                new: new_price(),
            };
            record(ctx, p.id, v.id, change)?;
        }
        if o.compare_at_cents != v.compare_at_price_cents {
            let change = VariantChange::CompareAt {
                old: o.compare_at_cents.map(Price::from_cents),
                new: v.compare_at_price_cents.map(Price::from_cents),
            };
            record(ctx, p.id, v.id, change)?;
        }
        record_availability(ctx, (p.id, v.id), o.available, v.available)?;
    }
    if !parsed.variants_truncated() {
        let removed = old
            .iter()
            .filter(|o| !p.variants.iter().any(|v| v.id == o.id));
        for o in removed {
            record(ctx, p.id, o.id, VariantChange::Removed { price: o.price() })?;
        }
    }
    Ok(old
        .iter()
        .filter_map(|o| o.available.map(|a| (o.id, a)))
        .collect())
}

/// Records an availability change of one variant, only between two stated values.
fn record_availability(
    ctx: &WriteCtx,
    (product_id, variant_id): (i64, i64),
    old: Option<bool>,
    new: Option<bool>,
) -> Result<(), Error> {
    match (old, new) {
        (Some(old), Some(new)) if old != new => record(
            ctx,
            product_id,
            variant_id,
            VariantChange::Availability { old, new },
        ),
        _ => Ok(()),
    }
}

/// An unchanged product whose answer states availability the rows lack (never stated before,
/// or reported by the `.js` endpoint): each variant whose availability differs from the stored
/// one is updated (and recorded when both are stated).
pub(super) fn refresh_availability(ctx: &WriteCtx, parsed: &ParsedProduct) -> Result<(), Error> {
    let p = &parsed.product;
    let old = old_variants(ctx, p.id)?;
    let mut update = ctx
        .tx
        .prepare_cached(
            "UPDATE variants SET available = ?4
             WHERE store_id = ?1 AND product_id = ?2 AND variant_id = ?3",
        )
        .ctx(ctx.path, "preparing availability update")?;
    for v in p.variants.iter().filter(|v| v.available.is_some()) {
        let Some(o) = old.iter().find(|o| o.id == v.id) else {
            continue;
        };
        if o.available != v.available {
            update
                .execute(params![ctx.store_id, p.id, v.id, v.available])
                .ctx(ctx.path, "updating availability")?;
            record_availability(ctx, (p.id, v.id), o.available, v.available)?;
        }
    }
    ctx.tx
        .prepare_cached(
            "UPDATE products SET availability_source = coalesce(?3, availability_source)
             WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, p.id, parsed.availability_source()]))
        .ctx(ctx.path, "recording availability source")?;
    Ok(())
}
