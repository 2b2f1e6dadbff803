//! One product at a time inside a page's transaction: looks up what is stored (content hash,
//! seen row, raw hash, and the availability compared apart from the hash) and decides new,
//! changed (rewritten), unchanged (seen row moved) or restored, counting each. A product met twice in one run (a shifting listing) is counted
//! once: a later sighting with the same content counts nothing, one with new content is
//! written and moves the product from unchanged to changed.

use rusqlite::{params, OptionalExtension};

use super::funnel::WriteCtx;
use super::rows::{restore, supersede_version, write_product};
use super::seen::{check_same, mark_same_seen, mark_seen};
use super::variant_changes::{record_variant_changes, refresh_availability, stored_availability};
use super::{Context, Error};
use crate::catalog::{AvailabilityNews, ParsedProduct};
use crate::change::{Change, ProductEvent};
use crate::endpoint::Endpoint;

/// What the database holds for a product: content hash, the run that last saw it, whether it
/// is tombstoned, the raw hash of its stored content and the run that last wrote it.
struct Stored {
    hash: String,
    last_run: i64,
    deleted: bool,
    raw_hash: Option<i64>,
    written_run: i64,
}

/// What a write did, product by product.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub new: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub restored: i64,
    /// Unusable products put in quarantine (not yet quarantined by this run).
    pub quarantined: i64,
}

/// Products of one write, one by one, with their counts.
pub(super) struct Upsert<'c, 'a> {
    ctx: &'c WriteCtx<'a>,
    /// Which endpoint supplied the products.
    source: Endpoint,
    pub(super) counts: WriteCounts,
}

impl<'c, 'a> Upsert<'c, 'a> {
    pub(super) fn new(ctx: &'c WriteCtx<'a>, source: Endpoint) -> Upsert<'c, 'a> {
        Upsert {
            ctx,
            source,
            counts: WriteCounts::default(),
        }
    }

    fn stored(&self, id: i64) -> Result<Option<Stored>, Error> {
        let ctx = self.ctx;
        ctx.tx
            .prepare_cached(
                "SELECT p.content_hash, s.last_seen_run, p.deleted_at IS NOT NULL, s.raw_hash,
                     p.written_run
                 FROM products p JOIN product_seen s
                     ON s.store_id = p.store_id AND s.product_id = p.product_id
                 WHERE p.store_id = ?1 AND p.product_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![ctx.store_id, id], |r| {
                    Ok(Stored {
                        hash: r.get(0)?,
                        last_run: r.get(1)?,
                        deleted: r.get(2)?,
                        raw_hash: r.get(3)?,
                        written_run: r.get(4)?,
                    })
                })
                .optional()
            })
            .ctx(ctx.path, "looking up product")
    }

    /// A product known unchanged by its raw hash. The listing only sends these for products
    /// whose stored raw hash it read after every earlier page of the run was committed, so the
    /// stored row still matches; if it does not, the write fails rather than guess.
    /// The products a page sent unparsed because their raw hash equals the stored one
    /// ((id, raw hash) pairs, each id once): checked against the stored rows, tombstoned ones
    /// restored, the rest marked seen, in a few statements for the whole page.
    pub(super) fn same(&mut self, same: &[(i64, i64)]) -> Result<(), Error> {
        if same.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx;
        let list = serde_json::to_string(same).expect("pairs serialize");
        let check = check_same(ctx, &list)?;
        if let Some(product_id) = check.moved {
            return Err(Error::RawHashMoved {
                path: ctx.path.to_path_buf(),
                product_id,
            });
        }
        for id in check.deleted {
            restore(ctx, id)?;
            self.counts.restored += 1;
        }
        self.counts.unchanged += mark_same_seen(ctx, &list)? as i64;
        Ok(())
    }

    /// A parsed product: new, changed (rewritten) or unchanged by its content hash and, apart
    /// from it, by the availability its JSON states (see `ParsedProduct::compare_availability`).
    /// An unchanged product whose answer states availability the rows lack (never stated
    /// before, or from `.js`) has it brought up to date.
    pub(super) fn parsed(&mut self, parsed: &ParsedProduct) -> Result<(), Error> {
        let (ctx, source) = (self.ctx, self.source);
        let id = parsed.product.id;
        let event = |event| Change::Product {
            product_id: id,
            event,
        };
        let stored = self.stored(id)?;
        let news = match &stored {
            Some(stored) if stored.hash == parsed.content_hash => {
                parsed.compare_availability(&stored_availability(ctx, id)?)
            }
            _ => AvailabilityNews::Changed,
        };
        match stored {
            None => {
                write_product(ctx, parsed, source, None)?;
                ctx.record(event(ProductEvent::Added))?;
                self.counts.new += 1;
            }
            Some(stored) if news != AvailabilityNews::Changed => {
                if news == AvailabilityNews::Filled {
                    refresh_availability(ctx, parsed)?;
                }
                self.unchanged(id, &stored, Some(parsed.raw_hash))?
            }
            Some(stored) => {
                let stated = record_variant_changes(ctx, parsed)?;
                supersede_version(ctx, id)?;
                write_product(ctx, parsed, source, Some(&stated))?;
                ctx.record(event(ProductEvent::Changed))?;
                if stored.deleted {
                    restore(ctx, id)?;
                    self.counts.restored += 1;
                }
                if stored.last_run != ctx.run_id {
                    self.counts.changed += 1;
                } else if stored.written_run != ctx.run_id {
                    // Counted unchanged (or restored) at its first sighting this run.
                    self.counts.changed += 1;
                    if !self.restored_this_run(id)? {
                        self.counts.unchanged -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the product was restored earlier in this run (then it was not counted unchanged).
    fn restored_this_run(&self, id: i64) -> Result<bool, Error> {
        let ctx = self.ctx;
        ctx.tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM product_events
                                WHERE store_id = ?1 AND product_id = ?2 AND run_id = ?3
                                  AND event = ?4)",
            )
            .and_then(|mut s| {
                let args = params![ctx.store_id, id, ctx.run_id, ProductEvent::Restored];
                s.query_row(args, |r| r.get(0))
            })
            .ctx(ctx.path, "looking up restore")
    }

    /// Same content as stored: the seen row moves (with the new raw hash, when it differs);
    /// a tombstoned product is restored.
    fn unchanged(&mut self, id: i64, stored: &Stored, raw_hash: Option<i64>) -> Result<(), Error> {
        let ctx = self.ctx;
        let raw_hash = raw_hash.filter(|h| stored.raw_hash != Some(*h));
        if stored.deleted {
            restore(ctx, id)?;
            if raw_hash.is_some() {
                mark_seen(ctx, id, raw_hash)?;
            }
            self.counts.restored += 1;
        } else if stored.last_run != ctx.run_id || raw_hash.is_some() {
            mark_seen(ctx, id, raw_hash)?;
            if stored.last_run != ctx.run_id {
                self.counts.unchanged += 1;
            }
        }
        Ok(())
    }
}
