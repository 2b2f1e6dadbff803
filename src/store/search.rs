//! Product search for the web pages: SKUs by prefix through `variants_by_sku`, then the
//! full-text index `product_search` (FTS5, kept in step with products by the writer and
//! triggers, see search_index.rs and schema.sql) matched against title, handle and vendor.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::read::Reader;
use super::{Context, Error};

/// One product found by a search.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub store: String,
    pub product_id: i64,
    pub handle: String,
    pub title: String,
    pub vendor: String,
    pub skus: String,
    pub deleted_at: Option<String>,
}

/// `words` as an FTS5 query: every word must match as the prefix of a token in any column.
/// Each word is quoted (quotes doubled), so no user text is read as query syntax. None when
/// there is no word to look for.
pub fn match_query(words: &str) -> Option<String> {
    let terms: Vec<String> = words
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(16)
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Reader {
    /// Up to `limit` products (of `store`, or of every store) whose SKU starts with `words`
    /// (any case), then those matching every word in title, handle or vendor, best match
    /// first.
    pub fn search_products(
        &self,
        store: Option<&str>,
        words: &str,
        limit: u32,
    ) -> Result<Vec<Found>, Error> {
        let path = &self.path;
        let store_id: Option<i64> = match store {
            Some(name) => match self
                .conn
                .query_row("SELECT store_id FROM stores WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .ctx(path, "looking up a store")?
            {
                Some(id) => Some(id),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut keys: Vec<(i64, i64)> = Vec::new();
        let sku = words.trim();
        if !sku.is_empty() {
            keys = self
                .conn
                .prepare_cached(
                    "SELECT DISTINCT store_id, product_id FROM variants INDEXED BY variants_by_sku
                     WHERE sku >= ?1 COLLATE NOCASE AND sku < ?1 || char(1114111) COLLATE NOCASE
                       AND sku IS NOT NULL AND (?2 IS NULL OR store_id = ?2)
                     LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![sku, store_id, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect()
                })
                .ctx(path, "searching SKUs")?;
        }
        if let Some(query) = match_query(words) {
            let by_text: Vec<(i64, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT k.store_id, k.product_id FROM
                         (SELECT rowid AS search_id, rank FROM product_search
                          WHERE product_search MATCH ?1 AND (?2 IS NULL OR store_id = ?2)
                          ORDER BY rank LIMIT ?3) f
                     JOIN product_search_keys k ON k.search_id = f.search_id
                     ORDER BY f.rank",
                )
                .and_then(|mut s| {
                    s.query_map(params![query, store_id, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect()
                })
                .ctx(path, "searching products")?;
            for key in by_text {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.truncate(limit as usize);
        keys.into_iter()
            .map(|(store_id, product_id)| {
                self.conn
                    .prepare_cached(
                        "SELECT s.name, p.product_id, p.handle, p.title, p.vendor,
                             (SELECT ifnull(group_concat(v.sku, ' '), '') FROM variants v
                              WHERE v.store_id = p.store_id AND v.product_id = p.product_id),
                             p.deleted_at
                         FROM products p JOIN stores s USING (store_id)
                         WHERE p.store_id = ?1 AND p.product_id = ?2",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![store_id, product_id], |r| {
                            Ok(Found {
                                store: r.get(0)?,
                                product_id: r.get(1)?,
                                handle: r.get(2)?,
                                title: r.get(3)?,
                                vendor: r.get(4)?,
                                skus: r.get(5)?,
                                deleted_at: r.get(6)?,
                            })
                        })
                    })
                    .ctx(path, "reading a found product")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Search finds the products a write added (indexed at its end), and follows renames, SKU
    /// changes and removals made by plain SQL, as the writer makes them.
    #[tokio::test]
    async fn the_index_follows_products_and_variants() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let writer = super::super::Writer::open(&path).unwrap();
        writer
            .call(|db| {
                db.write(1, 1, |ctx| {
                    ctx.tx
                        .execute_batch(
                            "INSERT INTO stores (store_id, name, base_url, added_at)
                                 VALUES (1, 'shop', 'u', 't');
                             INSERT INTO products (store_id, product_id, content_hash,
                                 first_seen_at, content_changed_at, written_run, handle, title,
                                 vendor, product_type, tags, raw_json)
                             VALUES (1, 7, 'h', 't', 't', 1, 'blue-shirt', 'Blue Shirt', 'Acmé',
                                 '', '[]', '{}');
                             INSERT INTO variants (store_id, variant_id, product_id, position,
                                 title, sku, price, price_cents, written_run)
                             VALUES (1, 70, 7, 1, 'S', 'SKU-1001', '1.00', 100, 1),
                                    (1, 71, 7, 2, 'M', NULL, '1.00', 100, 1);",
                        )
                        .ctx(ctx.path, "writing test rows")?;
                    ctx.product_written(7);
                    // Written twice in one write, indexed once.
                    ctx.product_written(7);
                    Ok(())
                })
            })
            .await
            .unwrap();
        let conn = super::super::schema::open_writer(&path).unwrap();
        let reader = Reader::open(&path).unwrap();
        let ids = |words: &str| -> Vec<i64> {
            reader
                .search_products(Some("shop"), words, 10)
                .unwrap()
                .iter()
                .map(|f| f.product_id)
                .collect()
        };
        assert_eq!(ids("blu"), [7]);
        assert_eq!(ids("sku-1001"), [7]);
        assert_eq!(ids("acme"), [7], "diacritics are folded");
        assert_eq!(ids("red"), Vec::<i64>::new());
        conn.execute_batch(
            "UPDATE products SET title = 'Red Shirt' WHERE product_id = 7;
             UPDATE variants SET sku = 'SKU-2002' WHERE variant_id = 70;",
        )
        .unwrap();
        assert_eq!(ids("red"), [7]);
        assert_eq!(ids("blue"), [7], "the handle still says blue");
        assert_eq!(ids("sku-1001"), Vec::<i64>::new());
        assert_eq!(ids("Sku-2002"), [7]);
        conn.execute_batch("DELETE FROM variants WHERE product_id = 7")
            .unwrap();
        assert_eq!(ids("sku-2002"), Vec::<i64>::new());
        conn.execute_batch("DELETE FROM products WHERE product_id = 7")
            .unwrap();
        assert_eq!(ids("red"), Vec::<i64>::new());
        let left: i64 = conn
            .query_row("SELECT count(*) FROM product_search", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn user_words_become_quoted_prefix_terms() {
        assert_eq!(match_query("  "), None);
        assert_eq!(match_query("- *"), None);
        assert_eq!(
            match_query("Blue SKU-12 \"x"),
            Some("\"Blue\"* \"SKU-12\"* \"\"\"x\"*".into())
        );
    }
}
