//! Reads for `history`: one product's content versions, product events and variant changes,
//! newest first. A product's history is small, so it is read whole. No formatting here.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::read::Reader;
use super::{Context, Error};
use crate::change::{ProductEvent, VariantField};

/// Everything recorded about one product.
#[derive(Debug, Clone, Serialize)]
pub struct ProductHistory {
    pub store: String,
    pub product_id: i64,
    pub handle: String,
    pub title: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub deleted_at: Option<String>,
    /// Newest first.
    pub versions: Vec<Version>,
    /// Newest first.
    pub events: Vec<HistoryEvent>,
    /// Newest first.
    pub variant_changes: Vec<VariantChangeRow>,
}

/// One distinct content version and when it was first and last observed.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub version_id: i64,
    pub content_hash: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub current: bool,
    pub run_id: i64,
    /// The product JSON as received with this content.
    #[serde(skip)]
    pub raw_json: String,
}

/// Added, changed, deleted or restored.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEvent {
    pub event: ProductEvent,
    pub observed_at: String,
    pub run_id: i64,
}

/// One change of a variant's price, compare-at price or availability, or a variant added or
/// removed.
#[derive(Debug, Clone, Serialize)]
pub struct VariantChangeRow {
    pub variant_id: i64,
    /// The variant's current title; None once the variant is gone.
    pub variant_title: Option<String>,
    pub field: VariantField,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub observed_at: String,
    pub run_id: i64,
}

impl Reader {
    /// The history of one product of `store`, found by id or handle (a handle used by several
    /// products picks the live one, then the most recently seen). None when there is no match.
    pub fn product_history(
        &self,
        store: &str,
        product: &str,
    ) -> Result<Option<ProductHistory>, Error> {
        let path = &self.path;
        let by_id = match product.parse::<i64>() {
            Ok(id) => self.find_product(store, "", "p.product_id = ?2", &id)?,
            Err(_) => None,
        };
        let found = match by_id {
            Some(found) => Some(found),
            None => self.find_product(
                // Without statistics SQLite would scan the store's primary key range instead.
                store,
                "INDEXED BY products_by_handle",
                "p.handle = ?2",
                &product,
            )?,
        };
        let Some((store_id, mut history)) = found else {
            return Ok(None);
        };
        let key = params![store_id, history.product_id];
        history.versions = self
            .conn
            .prepare(
                "SELECT v.version_id, v.content_hash, v.first_observed_at,
                     COALESCE(v.last_observed_at, ps.last_seen_at), v.last_observed_at IS NULL,
                     v.run_id, COALESCE(v.raw_json, p.raw_json)
                 FROM product_versions v JOIN products p USING (store_id, product_id)
                 JOIN product_seen ps USING (store_id, product_id)
                 WHERE v.store_id = ?1 AND v.product_id = ?2 ORDER BY v.version_id DESC",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(Version {
                        version_id: r.get(0)?,
                        content_hash: r.get(1)?,
                        first_observed_at: r.get(2)?,
                        last_observed_at: r.get(3)?,
                        current: r.get(4)?,
                        run_id: r.get(5)?,
                        raw_json: r.get(6)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading product versions")?;
        history.events = self
            .conn
            .prepare(
                "SELECT event, observed_at, run_id FROM product_events
                 WHERE store_id = ?1 AND product_id = ?2 ORDER BY event_id DESC",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(HistoryEvent {
                        event: r.get(0)?,
                        observed_at: r.get(1)?,
                        run_id: r.get(2)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading product events")?;
        history.variant_changes = self
            .conn
            .prepare(
                "SELECT c.variant_id, v.title, c.field, c.old_value, c.new_value, c.observed_at,
                     c.run_id
                 FROM variant_changes c
                 LEFT JOIN variants v ON v.store_id = c.store_id AND v.product_id = c.product_id
                     AND v.variant_id = c.variant_id
                 WHERE c.store_id = ?1 AND c.product_id = ?2 ORDER BY c.change_id DESC",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(VariantChangeRow {
                        variant_id: r.get(0)?,
                        variant_title: r.get(1)?,
                        field: r.get(2)?,
                        old_value: r.get(3)?,
                        new_value: r.get(4)?,
                        observed_at: r.get(5)?,
                        run_id: r.get(6)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading variant changes")?;
        Ok(Some(history))
    }

    /// The product of `store` matching `condition` on ?2 (using `index`, if given): the live
    /// one first, then the most recently seen.
    fn find_product(
        &self,
        store: &str,
        index: &str,
        condition: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<(i64, ProductHistory)>, Error> {
        let sql = format!(
            "SELECT p.store_id, s.name, p.product_id, p.handle, p.title, p.first_seen_at,
                 ps.last_seen_at, p.deleted_at
             FROM products p {index} JOIN stores s USING (store_id)
             JOIN product_seen ps ON ps.store_id = p.store_id AND ps.product_id = p.product_id
             WHERE s.name = ?1 AND {condition}
             ORDER BY p.deleted_at IS NULL DESC, ps.last_seen_at DESC
             LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![store, value], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ProductHistory {
                        store: r.get(1)?,
                        product_id: r.get(2)?,
                        handle: r.get(3)?,
                        title: r.get(4)?,
                        first_seen_at: r.get(5)?,
                        last_seen_at: r.get(6)?,
                        deleted_at: r.get(7)?,
                        versions: Vec::new(),
                        events: Vec::new(),
                        variant_changes: Vec::new(),
                    },
                ))
            })
            .optional()
            .ctx(&self.path, "looking up product")
    }
}
