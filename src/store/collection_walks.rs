//! Which collections a run walks, and the record of each collection's last complete walk
//! (`collection_walks`): what its /collections.json entry said (`updated_at`,
//! `products_count`) when a walk of its products feed ran to the end and its removals were
//! applied. With `collections.full_walk_every` set, a collection whose entry is unchanged since
//! that walk, whose walk is more recent than the interval, and whose every stored member this
//! run has already seen, is left unwalked; its membership rows stay exactly as they are.

use std::time::Duration;

use rusqlite::{params, OptionalExtension, Transaction};

use super::write::WriteDb;
use super::{Context, Error};

/// A collection to walk or to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRef {
    pub collection_id: i64,
    pub handle: String,
    /// Deletion candidates only: this run listed another collection under the same handle,
    /// so this one is gone (handles are unique within a store).
    pub handle_taken: bool,
}

pub(super) fn collection_ref(r: &rusqlite::Row) -> rusqlite::Result<CollectionRef> {
    Ok(CollectionRef {
        collection_id: r.get(0)?,
        handle: r.get(1)?,
        handle_taken: false,
    })
}

/// How a walk of a collection's products feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// To a short page: every member was shown, so members not seen have left.
    Complete,
    /// To the 25,000 cap: all the feed shows, but members past it are unknown (none removed).
    Capped,
    /// Not to its end (the collection went away during the walk).
    Cut,
}

/// Which of the listed collections a run walks.
#[derive(Debug, Clone, Default)]
pub struct WalkChoice {
    /// Only these handles (`collection_handles`); None: every listed collection.
    pub handles: Option<Vec<String>>,
    /// Some(interval): leave a collection unwalked when its entry is unchanged since its last
    /// complete walk, that walk started less than `interval` ago, and this run has already
    /// seen every product it holds (one it has not seen, past the listing's cap, hidden from
    /// the listing or deleted, is reached or confirmed gone by the walk). None: walk every one.
    pub unchanged_within: Option<Duration>,
    /// The collection a resumed run was paging when it stopped: walked to its end whatever
    /// its entry says (its first pages are already marked seen by this run).
    pub resuming: Option<i64>,
}

impl WriteDb {
    /// The first collection listed by this run with an id of at least `from_id` that `choice`
    /// walks.
    pub fn next_collection(
        &mut self,
        store_id: i64,
        run_id: i64,
        from_id: i64,
        choice: &WalkChoice,
    ) -> Result<Option<CollectionRef>, Error> {
        let path = self.path.clone();
        let only = choice
            .handles
            .as_ref()
            .map(|h| serde_json::to_string(h).expect("handles serialize"));
        let walked_after = choice.unchanged_within.map(cutoff);
        self.conn
            .prepare_cached(
                "SELECT c.collection_id, c.handle FROM collections c
                 WHERE c.store_id = ?1 AND c.last_seen_run = ?2 AND c.deleted_at IS NULL
                   AND c.collection_id >= ?3
                   AND (?4 IS NULL OR c.handle IN (SELECT value FROM json_each(?4)))
                   AND (?5 IS NULL OR c.collection_id IS ?6 OR NOT EXISTS (
                       SELECT 1 FROM collection_walks w
                       WHERE w.store_id = c.store_id AND w.collection_id = c.collection_id
                         AND w.walked_at > ?5
                         AND (w.updated_at IS NOT NULL OR w.products_count IS NOT NULL)
                         AND w.updated_at IS json_extract(c.raw_json, '$.updated_at')
                         AND w.products_count IS json_extract(c.raw_json, '$.products_count'))
                       OR EXISTS (
                       SELECT 1 FROM collection_products cp
                       WHERE cp.store_id = c.store_id AND cp.collection_id = c.collection_id
                         AND NOT EXISTS (SELECT 1 FROM product_seen s
                                         WHERE s.store_id = cp.store_id
                                           AND s.product_id = cp.product_id
                                           AND s.last_seen_run = ?2)))
                 ORDER BY c.collection_id LIMIT 1",
            )
            .and_then(|mut s| {
                let args = params![
                    store_id,
                    run_id,
                    from_id,
                    only,
                    walked_after,
                    choice.resuming
                ];
                s.query_row(args, collection_ref).optional()
            })
            .ctx(&path, "finding next collection")
    }
}

/// Records that this run walked the collection to its end (or its cap): its entry as this run
/// listed it, and the run's start as the time of the walk.
pub(super) fn record_complete_walk(
    tx: &Transaction,
    store_id: i64,
    run_id: i64,
    collection_id: i64,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO collection_walks (store_id, collection_id, updated_at, products_count,
             walked_at, run_id)
         SELECT c.store_id, c.collection_id, json_extract(c.raw_json, '$.updated_at'),
                json_extract(c.raw_json, '$.products_count'), r.started_at, r.run_id
         FROM collections c JOIN sync_runs r ON r.run_id = ?3
         WHERE c.store_id = ?1 AND c.collection_id = ?2
         ON CONFLICT (store_id, collection_id) DO UPDATE SET
             updated_at = excluded.updated_at, products_count = excluded.products_count,
             walked_at = excluded.walked_at, run_id = excluded.run_id",
    )
    .and_then(|mut s| s.execute(params![store_id, collection_id, run_id]))
}

/// `now - interval` in the database's time format; the earliest time when the interval
/// reaches past year 0 (no walk is that old, so none is due).
fn cutoff(interval: Duration) -> String {
    let now = chrono::Utc::now();
    chrono::Duration::from_std(interval)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
