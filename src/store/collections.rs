//! Writing collections and their membership. Each /collections.json page and each page of a
//! collection's products is one transaction with the cursor; membership is marked seen page by
//! page with the run id, and only after the last page of a collection are the members it no
//! longer lists removed (and recorded). Collections missing from a complete enumeration are
//! tombstoned once the store confirms them gone.

use std::collections::HashSet;

use rusqlite::{params, Transaction};

use super::collection_quarantine::quarantine_collections;
use super::collection_walks::{collection_ref, record_complete_walk, CollectionRef, WalkEnd};
use super::page::{add_counts, upsert_products};
use super::quarantine::{idless_this_run, quarantine};
use super::requests::Requests;
use super::upsert::WriteCounts;
use super::write::WriteDb;
use super::{Context, Error};
use crate::catalog::{ParsedCollection, ParsedProduct, Unusable};
use crate::change::{Change, Membership};
use crate::endpoint::Endpoint;

/// One /collections.json page and the page to resume at once it is committed.
pub struct CollectionsPageWrite {
    pub store_id: i64,
    pub run_id: i64,
    pub collections: Vec<ParsedCollection>,
    /// The page's unusable collections, for the quarantine, and the page's URL.
    pub unusable: Vec<Unusable>,
    pub url: String,
    /// The page to resume at, in pages of `page_size`.
    pub next_page: i64,
    pub page_size: i64,
    pub requests: Requests,
}

/// One page of a collection's products.
pub struct CollectionPageWrite {
    pub store_id: i64,
    pub run_id: i64,
    pub collection_id: i64,
    /// Every product id of the page, in the collection's order (products without a usable id
    /// are left out: they are in `unusable`).
    pub members: Vec<i64>,
    /// The page's products this run had not seen yet, fully parsed; the others were written
    /// from an earlier page of this run and only their membership is recorded.
    pub products: Vec<ParsedProduct>,
    /// The page's unusable products, for the quarantine, and the page's URL.
    pub unusable: Vec<Unusable>,
    pub url: String,
    /// Position (1-based, in the collection's order) of the page's first product.
    pub first_position: i64,
    /// The page to resume at, in pages of `page_size`.
    pub next_page: i64,
    pub page_size: i64,
    pub requests: Requests,
}

impl WriteDb {
    /// Upserts a page of collections as seen by the run and moves the cursor past the page.
    pub fn apply_collections_page(&mut self, page: CollectionsPageWrite) -> Result<(), Error> {
        self.write(page.store_id, page.run_id, |ctx| {
            let (tx, path, now) = (ctx.tx, ctx.path, &ctx.now);
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO collections (store_id, collection_id, handle, title, body_html,
                         published_at, sort_order, raw_json, first_seen_at, last_seen_at,
                         last_seen_run)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)
                     ON CONFLICT (store_id, collection_id) DO UPDATE SET
                         handle = excluded.handle, title = excluded.title,
                         body_html = excluded.body_html, published_at = excluded.published_at,
                         sort_order = excluded.sort_order, raw_json = excluded.raw_json,
                         last_seen_at = excluded.last_seen_at,
                         last_seen_run = excluded.last_seen_run, deleted_at = NULL",
                )
                .ctx(path, "preparing collection upsert")?;
            for c in &page.collections {
                upsert
                    .execute(params![
                        page.store_id,
                        c.id,
                        c.handle,
                        c.title,
                        c.body_html,
                        c.published_at,
                        c.sort_order,
                        c.raw_json,
                        now,
                        page.run_id
                    ])
                    .ctx(path, "writing collection")?;
            }
            add_counts(ctx, WriteCounts::default(), 1, &page.requests)?;
            quarantine_collections(
                tx,
                path,
                (page.store_id, page.run_id),
                &page.url,
                &page.unusable,
            )?;
            set_page(tx, page.store_id, page.next_page, page.page_size)
                .ctx(path, "advancing collections cursor")?;
            Ok(())
        })
    }

    /// Live collections of the store that this run's complete enumeration did not list.
    pub fn collection_candidates(
        &mut self,
        store_id: i64,
        run_id: i64,
    ) -> Result<Vec<CollectionRef>, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT c.collection_id, c.handle,
                     EXISTS (SELECT 1 FROM collections o
                             WHERE o.store_id = c.store_id AND o.handle = c.handle
                               AND o.last_seen_run = ?2 AND o.collection_id != c.collection_id)
                 FROM collections c
                 WHERE c.store_id = ?1 AND c.deleted_at IS NULL AND c.last_seen_run != ?2
                 ORDER BY c.collection_id",
            )
            .and_then(|mut s| {
                s.query_map(params![store_id, run_id], |r| {
                    Ok(CollectionRef {
                        handle_taken: r.get(2)?,
                        ..collection_ref(r)?
                    })
                })?
                .collect()
            })
            .ctx(&path, "listing collection candidates")
    }

    /// Tombstones collections confirmed gone.
    pub fn tombstone_collections(
        &mut self,
        store_id: i64,
        run_id: i64,
        gone: Vec<i64>,
        requests: Requests,
    ) -> Result<(), Error> {
        self.write(store_id, run_id, |ctx| {
            let (tx, path, now) = (ctx.tx, ctx.path, &ctx.now);
            let mut tombstone = tx
                .prepare_cached(
                    "UPDATE collections SET deleted_at = ?3
                     WHERE store_id = ?1 AND collection_id = ?2 AND deleted_at IS NULL",
                )
                .ctx(path, "preparing collection tombstone")?;
            for id in gone {
                tombstone
                    .execute(params![store_id, id, now])
                    .ctx(path, "tombstoning collection")?;
            }
            add_counts(ctx, WriteCounts::default(), 0, &requests)
        })
    }

    /// Which of `ids` this run has already seen (and so written).
    pub fn seen_by_run(
        &mut self,
        store_id: i64,
        run_id: i64,
        ids: &[i64],
    ) -> Result<HashSet<i64>, Error> {
        let ids_json = serde_json::to_string(ids).expect("ids serialize");
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                // Driven by the page's ids, one primary-key probe each (a join here lets the
                // planner scan every product the run has seen, per page, before ANALYZE).
                "SELECT j.value FROM json_each(?3) j
                 WHERE EXISTS (SELECT 1 FROM product_seen s
                               WHERE s.store_id = ?1 AND s.product_id = j.value
                                 AND s.last_seen_run = ?2)",
            )
            .and_then(|mut s| {
                s.query_map(params![store_id, run_id, ids_json], |r| r.get(0))?
                    .collect()
            })
            .ctx(&path, "looking up products seen by the run")
    }

    /// Writes a page of a collection's products (through the same upsert as listing pages),
    /// marks their membership seen by the run, records new members, moves the cursor.
    pub fn apply_collection_page(
        &mut self,
        page: CollectionPageWrite,
    ) -> Result<WriteCounts, Error> {
        self.write(page.store_id, page.run_id, |ctx| {
            let (tx, path, now) = (ctx.tx, ctx.path, &ctx.now);
            let mut counts = upsert_products(ctx, &page.products, Endpoint::Collection)?;
            let (quarantined, restored) = quarantine(ctx, &page.url, &page.unusable)?;
            counts.quarantined = quarantined;
            counts.restored += restored;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO collection_products (store_id, collection_id, product_id,
                         position, first_seen_at, last_seen_run)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )
                .ctx(path, "preparing membership insert")?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE collection_products SET position = ?4, last_seen_run = ?5
                     WHERE store_id = ?1 AND collection_id = ?2 AND product_id = ?3",
                )
                .ctx(path, "preparing membership update")?;
            let (store, collection, run) = (page.store_id, page.collection_id, page.run_id);
            for (i, &id) in page.members.iter().enumerate() {
                let position = page.first_position + i as i64;
                let inserted = insert
                    .execute(params![store, collection, id, position, now, run])
                    .ctx(path, "writing membership")?;
                if inserted == 1 {
                    ctx.record(Change::Collection {
                        collection_id: collection,
                        product_id: id,
                        membership: Membership::Added,
                    })?;
                } else {
                    update
                        .execute(params![store, collection, id, position, run])
                        .ctx(path, "marking membership seen")?;
                }
            }
            add_counts(ctx, counts, 1, &page.requests)?;
            // The cursor names the collection being paged too: after the previous collection
            // it points past that one's id, which a resume would read as "start at page 1".
            tx.prepare_cached(
                "UPDATE sync_cursor SET next_page = ?2, position = ?3, page_size = ?4
                 WHERE store_id = ?1",
            )
            .and_then(|mut s| s.execute(params![store, page.next_page, collection, page.page_size]))
            .ctx(path, "advancing collection cursor")?;
            Ok(counts)
        })
    }

    /// How many stored members of the collection this run has not seen (yet).
    pub fn unseen_members(
        &mut self,
        store_id: i64,
        run_id: i64,
        collection_id: i64,
    ) -> Result<i64, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT count(*) FROM collection_products
                 WHERE store_id = ?1 AND collection_id = ?2 AND last_seen_run != ?3",
            )
            .and_then(|mut s| s.query_row(params![store_id, collection_id, run_id], |r| r.get(0)))
            .ctx(&path, "counting unseen members")
    }

    /// Ends the walk of a collection: when it was walked completely, the members this run did
    /// not see are removed and recorded, unless the run has quarantined a product without a
    /// usable id (it may be one of them); a walk to the end or the cap, with no such product,
    /// is recorded in `collection_walks`. The cursor moves to the next collection.
    pub fn finish_collection(
        &mut self,
        store_id: i64,
        run_id: i64,
        collection_id: i64,
        end: WalkEnd,
        requests: Requests,
    ) -> Result<(), Error> {
        self.write(store_id, run_id, |ctx| {
            let (tx, path) = (ctx.tx, ctx.path);
            let idless = idless_this_run(tx, store_id, run_id)
                .ctx(path, "looking for quarantined products without id")?;
            if end != WalkEnd::Cut && !idless {
                record_complete_walk(tx, store_id, run_id, collection_id)
                    .ctx(path, "recording a complete walk")?;
            }
            if end == WalkEnd::Complete && !idless {
                let left: Vec<i64> = tx
                    .prepare_cached(
                        "DELETE FROM collection_products
                         WHERE store_id = ?1 AND collection_id = ?2 AND last_seen_run != ?3
                         RETURNING product_id",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![store_id, collection_id, run_id], |r| r.get(0))?
                            .collect()
                    })
                    .ctx(path, "removing members")?;
                for product_id in left {
                    ctx.record(Change::Collection {
                        collection_id,
                        product_id,
                        membership: Membership::Removed,
                    })?;
                }
            }
            add_counts(ctx, WriteCounts::default(), 0, &requests)?;
            tx.prepare_cached(
                "UPDATE sync_cursor SET position = ?2, next_page = 1 WHERE store_id = ?1",
            )
            .and_then(|mut s| s.execute(params![store_id, collection_id.saturating_add(1)]))
            .ctx(path, "advancing to next collection")?;
            Ok(())
        })
    }
}

fn set_page(
    tx: &Transaction,
    store_id: i64,
    next_page: i64,
    page_size: i64,
) -> rusqlite::Result<usize> {
    tx.prepare_cached("UPDATE sync_cursor SET next_page = ?2, page_size = ?3 WHERE store_id = ?1")
        .and_then(|mut s| s.execute(params![store_id, next_page, page_size]))
}
