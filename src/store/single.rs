//! Products fetched one by one (the sitemap path past the listing cap): which handles the run
//! has not seen yet, and writing a batch of fetched products through the same upsert as listing
//! pages, together with the sitemap cursor.

use rusqlite::params;

use super::page::{add_counts, upsert_products};
use super::quarantine::quarantine;
use super::requests::Requests;
use super::upsert::WriteCounts;
use super::write::WriteDb;
use super::{Context, Error};
use crate::catalog::{ParsedProduct, Unusable};
use crate::endpoint::Endpoint;

/// A batch of products fetched from /products/{handle}.json and where the sitemap walk
/// resumes once it is committed.
pub struct SingleBatch {
    pub store_id: i64,
    pub run_id: i64,
    pub products: Vec<ParsedProduct>,
    /// Unusable answers, each with the URL it came from, for the quarantine.
    pub unusable: Vec<(String, Unusable)>,
    /// The product sitemap in progress (0-based) and the entries of it already handled.
    pub sitemap_index: i64,
    pub position: i64,
    pub requests: Requests,
}

impl WriteDb {
    /// The handles among `handles` that no product seen by this run carries, in input order.
    pub fn unseen_handles(
        &mut self,
        store_id: i64,
        run_id: i64,
        handles: &[String],
    ) -> Result<Vec<String>, Error> {
        let path = self.path.clone();
        let list = serde_json::to_string(handles).expect("handles serialize");
        self.conn
            .prepare_cached(
                // Without statistics SQLite prefers a scan of the store's primary-key range
                // here: name the handle index.
                "SELECT j.value FROM json_each(?3) j
                 WHERE NOT EXISTS (SELECT 1 FROM products p INDEXED BY products_by_handle
                     JOIN product_seen s
                         ON s.store_id = p.store_id AND s.product_id = p.product_id
                     WHERE p.store_id = ?1 AND p.handle = j.value AND s.last_seen_run = ?2)
                 ORDER BY j.key",
            )
            .and_then(|mut s| {
                s.query_map(params![store_id, run_id, list], |r| r.get(0))?
                    .collect()
            })
            .ctx(&path, "finding unseen handles")
    }

    /// Writes a batch of singly fetched products and moves the sitemap cursor, atomically.
    pub fn apply_single_batch(&mut self, batch: SingleBatch) -> Result<WriteCounts, Error> {
        self.write(batch.store_id, batch.run_id, |ctx| {
            let mut counts = upsert_products(ctx, &batch.products, Endpoint::Single)?;
            for (url, unusable) in &batch.unusable {
                let one = std::slice::from_ref(unusable);
                let (quarantined, restored) = quarantine(ctx, url, one)?;
                counts.quarantined += quarantined;
                counts.restored += restored;
            }
            add_counts(ctx, counts, 0, &batch.requests)?;
            ctx.tx
                .prepare_cached(
                    "UPDATE sync_cursor SET sitemap_index = ?2, position = ?3 WHERE store_id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![batch.store_id, batch.sitemap_index, batch.position])
                })
                .ctx(ctx.path, "advancing sitemap cursor")?;
            Ok(counts)
        })
    }
}
