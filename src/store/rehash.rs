//! Recomputing stored content hashes from the stored JSON, run once by the migration that
//! changed what the hash covers (availability left out): the current content of every product
//! and every superseded version keeps its row and gets the hash this binary computes, so the
//! first run after the upgrade compares like with like. JSON this binary would not accept keeps
//! its old hash (its next sighting is compared, or quarantined, as any other).

use rusqlite::{params, Connection};

use crate::catalog;

/// Rehashes every product and product version, inside the caller's transaction.
pub(super) fn rehash_all(conn: &Connection) -> rusqlite::Result<()> {
    rehash_table(
        conn,
        "SELECT rowid, raw_json FROM products",
        "UPDATE products SET content_hash = ?2 WHERE rowid = ?1",
    )?;
    rehash_table(
        conn,
        "SELECT version_id, raw_json FROM product_versions WHERE raw_json IS NOT NULL",
        "UPDATE product_versions SET content_hash = ?2 WHERE version_id = ?1",
    )?;
    // The current version's JSON is the products row's.
    conn.execute(
        "UPDATE product_versions SET content_hash = p.content_hash
         FROM products p
         WHERE product_versions.raw_json IS NULL
           AND p.store_id = product_versions.store_id
           AND p.product_id = product_versions.product_id",
        [],
    )?;
    Ok(())
}

/// Reads (row, JSON) pairs with `select` and writes each new hash with `update`.
fn rehash_table(conn: &Connection, select: &str, update: &str) -> rusqlite::Result<()> {
    let mut read = conn.prepare(select)?;
    let mut write = conn.prepare(update)?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let (key, raw): (i64, String) = (row.get(0)?, row.get(1)?);
        if let Some(hash) = catalog::content_hash_of(&raw) {
            write.execute(params![key, hash])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_become_this_binarys_and_unreadable_json_keeps_its_own() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../../schema.sql"))
            .unwrap();
        let good = r#"{"id":1,"title":"T","handle":"t","variants":[{"id":2,"price":"1.00","available":true}]}"#;
        conn.execute_batch(&format!(
            "INSERT INTO stores (store_id, name, base_url, added_at) VALUES (1, 's', 'u', 'n');
             INSERT INTO products (store_id, product_id, content_hash, first_seen_at,
                 content_changed_at, written_run, handle, title, vendor, product_type, tags,
                 raw_json)
             VALUES (1, 1, 'old', 'n', 'n', 1, 't', 'T', '', '', '[]', '{good}'),
                    (1, 2, 'kept', 'n', 'n', 1, 'u', 'U', '', '', '[]', '{{\"id\":2}}');
             INSERT INTO product_versions (store_id, product_id, content_hash,
                 first_observed_at, raw_json, run_id)
             VALUES (1, 1, 'older', 'n', '{good}', 1), (1, 1, 'old', 'n', NULL, 1);"
        ))
        .unwrap();
        rehash_all(&conn).unwrap();
        let want = catalog::content_hash_of(good).unwrap();
        let hashes: Vec<String> = conn
            .prepare(
                "SELECT content_hash FROM products UNION ALL
                 SELECT content_hash FROM product_versions ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut expected = vec![want.clone(), want.clone(), want, "kept".to_string()];
        expected.sort();
        assert_eq!(hashes, expected);
    }
}
