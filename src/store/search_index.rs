//! Puts the products a write added into the full-text search index, in one pass at the end of
//! the write (its transaction): a key row each in `product_search_keys`, then their title,
//! handle and vendor into `product_search`. Renames and removals are followed by triggers
//! (schema.sql); an insert trigger per row made FTS5 flush its pending terms on every insert.

use std::path::Path;

use rusqlite::{params, Transaction};

use super::{Context, Error};

/// Indexes those of `ids` (products of `store_id` written in `tx`) not indexed yet.
pub(super) fn index_added(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    ids: &[i64],
) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(ids).expect("ids serialize");
    // Keys are rowids handed out above the largest: the rows this write adds are those above.
    let before: i64 = tx
        .prepare_cached("SELECT coalesce(max(search_id), 0) FROM product_search_keys")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .ctx(path, "reading the search keys")?;
    let added = tx
        .prepare_cached(
            "INSERT INTO product_search_keys (store_id, product_id)
             SELECT ?1, value FROM json_each(?2) WHERE true
             ON CONFLICT (store_id, product_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![store_id, ids]))
        .ctx(path, "adding search keys")?;
    if added > 0 {
        tx.prepare_cached(
            "INSERT INTO product_search (rowid, title, handle, vendor, store_id)
                 SELECT k.search_id, p.title, p.handle, p.vendor, p.store_id
                 FROM product_search_keys k JOIN products p USING (store_id, product_id)
                 WHERE k.search_id > ?1",
        )
        .and_then(|mut s| s.execute([before]))
        .ctx(path, "indexing new products for search")?;
    }
    Ok(())
}
