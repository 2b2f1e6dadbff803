//! The seen-marker of products (table product_seen): when each product was last seen, by which
//! run, and the raw hash of the JSON its stored content came from. Narrow rows, so marking an
//! unchanged product seen writes no page of the wide products table.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::funnel::WriteCtx;
use super::read::Reader;
use super::{Context, Error};

/// Page cache of the listing's raw-hash reader, in KiB: its lookups read a few narrow pages
/// per listing page (the file's pages stay in the OS cache), so SQLite's default 2 MiB per
/// connection would only make a big store's sync hold more memory than a small one's.
const RAW_HASH_READER_CACHE_KIB: i64 = 256;

impl Reader {
    /// A reader for `raw_hashes`, with a small page cache.
    pub fn open_raw_hashes(path: &Path) -> Result<Reader, Error> {
        let reader = Reader::open(path)?;
        reader
            .conn
            .execute_batch(&format!("PRAGMA cache_size = -{RAW_HASH_READER_CACHE_KIB}"))
            .ctx(path, "setting the raw hash reader's cache")?;
        Ok(reader)
    }

    /// The stored raw hash of each of `ids` (in order), None where unknown or not stored. Read
    /// beside the writer (WAL), so a listing looks up its next page while the writer writes
    /// the current one; what it reads is at least as new as the last commit before the call.
    pub fn raw_hashes(&self, store_id: i64, ids: &[i64]) -> Result<Vec<Option<i64>>, Error> {
        let list = serde_json::to_string(ids).expect("ids serialize");
        let mut found = HashMap::with_capacity(ids.len());
        self.conn
            .prepare_cached(
                "SELECT product_id, raw_hash FROM product_seen
                 WHERE store_id = ?1 AND product_id IN (SELECT value FROM json_each(?2))",
            )
            .and_then(|mut s| {
                let rows = s.query_map(params![store_id, list], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                })?;
                for row in rows {
                    let (id, hash) = row?;
                    found.insert(id, hash);
                }
                Ok(())
            })
            .ctx(&self.path, "looking up raw hashes")?;
        Ok(ids
            .iter()
            .map(|id| found.get(id).copied().flatten())
            .collect())
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

/// The products of `same` ((id, raw hash) pairs, each id once) that a page sent unparsed as
/// unchanged: the first whose stored raw hash is not the one given (None when all are), and
/// those tombstoned.
pub(super) struct SameCheck {
    pub(super) moved: Option<i64>,
    pub(super) deleted: Vec<i64>,
}

/// Checks the products a page sent unparsed against their stored rows, in two statements.
pub(super) fn check_same(ctx: &WriteCtx, same: &str) -> Result<SameCheck, Error> {
    let moved = ctx
        .tx
        .prepare_cached(
            "SELECT j.value ->> 0 FROM json_each(?2) j
             WHERE NOT EXISTS (
                 SELECT 1 FROM product_seen s JOIN products p USING (store_id, product_id)
                 WHERE s.store_id = ?1 AND s.product_id = j.value ->> 0
                   AND s.raw_hash = j.value ->> 1)
             LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.store_id, same], |r| r.get(0))
                .optional()
        })
        .ctx(ctx.path, "checking unchanged products")?;
    let deleted = ctx
        .tx
        .prepare_cached(
            // The partial index of tombstones holds the ids: no wide products row is read.
            "SELECT product_id FROM products INDEXED BY products_deleted
             WHERE store_id = ?1 AND deleted_at IS NOT NULL
               AND product_id IN (SELECT value ->> 0 FROM json_each(?2))",
        )
        .and_then(|mut s| {
            s.query_map(params![ctx.store_id, same], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()
        })
        .ctx(ctx.path, "looking up tombstoned products")?;
    Ok(SameCheck { moved, deleted })
}

/// Marks the products of `same` seen by the write's run, in one statement; returns how many
/// were not seen by it yet.
pub(super) fn mark_same_seen(ctx: &WriteCtx, same: &str) -> Result<usize, Error> {
    ctx.tx
        .prepare_cached(
            "UPDATE product_seen SET last_seen_run = ?3, last_seen_at = ?4
             WHERE store_id = ?1 AND last_seen_run IS NOT ?3
               AND product_id IN (SELECT j.value ->> 0 FROM json_each(?2) j)",
        )
        .and_then(|mut s| s.execute(params![ctx.store_id, same, ctx.run_id, ctx.now]))
        .ctx(ctx.path, "marking unchanged products seen")
}
