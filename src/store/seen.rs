//! The seen-marker of products (table product_seen): when each product was last seen, by which
//! run, and the raw hash of the JSON its stored content came from. Narrow rows, so marking an
//! unchanged product seen writes no page of the wide products table.

use rusqlite::params;

use super::funnel::WriteCtx;
use super::write::WriteDb;
use super::{Context, Error};

impl WriteDb {
    /// The stored raw hash of each of `ids` (in order), None where unknown or not stored.
    pub fn raw_hashes(&mut self, store_id: i64, ids: &[i64]) -> Result<Vec<Option<i64>>, Error> {
        let path = self.path.clone();
        let mut lookup = self
            .conn
            .prepare_cached(
                "SELECT raw_hash FROM product_seen WHERE store_id = ?1 AND product_id = ?2",
            )
            .ctx(&path, "preparing raw hash lookup")?;
        ids.iter()
            .map(|id| {
                lookup
                    .query_row(params![store_id, id], |r| r.get::<_, Option<i64>>(0))
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
                    .ctx(&path, "looking up raw hash")
            })
            .collect()
    }
}

/// Marks one product seen by the write's run; `raw_hash` None keeps the stored one.
pub(super) fn mark_seen(ctx: &WriteCtx, id: i64, raw_hash: Option<i64>) -> Result<(), Error> {
    ctx.tx
        .prepare_cached(
            "UPDATE product_seen SET last_seen_run = ?3, last_seen_at = ?4,
                 raw_hash = COALESCE(?5, raw_hash)
             WHERE store_id = ?1 AND product_id = ?2",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, id, ctx.run_id, ctx.now, raw_hash]))
        .ctx(ctx.path, "marking product seen")?;
    Ok(())
}

/// The seen row of a product just (re)written from JSON with `raw_hash`.
pub(super) fn write_seen(ctx: &WriteCtx, id: i64, raw_hash: i64) -> Result<(), Error> {
    ctx.tx
        .prepare_cached(
            "INSERT INTO product_seen (store_id, product_id, last_seen_run, last_seen_at, raw_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (store_id, product_id) DO UPDATE SET
                 last_seen_run = excluded.last_seen_run, last_seen_at = excluded.last_seen_at,
                 raw_hash = excluded.raw_hash",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, id, ctx.run_id, ctx.now, raw_hash]))
        .ctx(ctx.path, "writing product seen row")?;
    Ok(())
}
