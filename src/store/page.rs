//! The page transaction: one listing page (or one batch of products from another endpoint) per
//! transaction, together with the run's counters and cursor. New and changed products are
//! (re)written with their variants, images, options, a version row and history (rows.rs,
//! through the change funnel); unchanged ones only get their narrow seen row (seen.rs) moved,
//! so they cost no write in the wide products table. A page's unusable products go to the
//! quarantine (quarantine.rs) in the same transaction.

use rusqlite::params;

use super::funnel::WriteCtx;
use super::quarantine::quarantine;
use super::requests::{add_requests, Requests};
use super::upsert::{Upsert, WriteCounts};
use super::write::WriteDb;
use super::{Context, Error};
use crate::catalog::{ParsedProduct, Unusable};
use crate::endpoint::Endpoint;

/// One page of products and where the run goes next once it is committed.
pub struct PageWrite {
    pub store_id: i64,
    pub run_id: i64,
    pub products: Vec<PageProduct>,
    /// The page's unusable products, for the quarantine, and the page's URL.
    pub unusable: Vec<Unusable>,
    pub url: String,
    /// The listing page to resume at after this one, in pages of `page_size` (cursor values
    /// written with the page).
    pub next_page: i64,
    pub page_size: i64,
    /// HTTP requests made since the last write, added to the run's counts.
    pub requests: Requests,
}

/// A listing page's product as the writer gets it.
pub enum PageProduct {
    /// Parsed and hashed: its content hash decides whether it changed.
    Parsed(Box<ParsedProduct>),
    /// Not parsed: its raw hash equals the stored one, so its content is the stored content.
    Same { id: i64, raw_hash: i64 },
}

impl WriteDb {
    /// Writes one listing page and moves the cursor past it, atomically.
    pub fn apply_page(&mut self, page: PageWrite) -> Result<WriteCounts, Error> {
        self.write(page.store_id, page.run_id, |ctx| {
            let mut upsert = Upsert::new(ctx, Endpoint::Listing);
            // A product sent unparsed is never also on the page parsed (a repeated id is
            // parsed every time), so the unparsed ones go first, together.
            let same: Vec<(i64, i64)> = page
                .products
                .iter()
                .filter_map(|item| match item {
                    PageProduct::Same { id, raw_hash } => Some((*id, *raw_hash)),
                    PageProduct::Parsed(_) => None,
                })
                .collect();
            upsert.same(&same)?;
            for item in &page.products {
                if let PageProduct::Parsed(parsed) = item {
                    upsert.parsed(parsed)?;
                }
            }
            let mut counts = upsert.counts;
            let (quarantined, restored) = quarantine(ctx, &page.url, &page.unusable)?;
            counts.quarantined = quarantined;
            counts.restored += restored;
            add_counts(ctx, counts, 1, &page.requests)?;
            ctx.tx
                .prepare_cached(
                    "UPDATE sync_cursor SET next_page = ?2, page_size = ?3 WHERE store_id = ?1",
                )
                .and_then(|mut s| s.execute(params![page.store_id, page.next_page, page.page_size]))
                .ctx(ctx.path, "advancing cursor")?;
            Ok(counts)
        })
    }
}

/// Adds a write's counts to its run row.
pub(super) fn add_counts(
    ctx: &WriteCtx,
    counts: WriteCounts,
    pages: i64,
    requests: &Requests,
) -> Result<(), Error> {
    add_requests(ctx.tx, ctx.path, ctx.run_id, requests)?;
    ctx.tx
        .prepare_cached(
            "UPDATE sync_runs SET pages = pages + ?2,
                 products_new = products_new + ?3, products_changed = products_changed + ?4,
                 products_unchanged = products_unchanged + ?5,
                 products_restored = products_restored + ?6
             WHERE run_id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                ctx.run_id,
                pages,
                counts.new,
                counts.changed,
                counts.unchanged,
                counts.restored
            ])
        })
        .ctx(ctx.path, "updating run counters")?;
    Ok(())
}

/// Inserts, rewrites or marks seen each product; returns what happened. A product met twice
/// in one run (a shifting listing) is counted once (see `Upsert`). An unchanged product whose
/// availability came from the `.js` endpoint has that availability brought up to date (it is
/// not part of the content hash).
pub(super) fn upsert_products(
    ctx: &WriteCtx,
    products: &[ParsedProduct],
    source: Endpoint,
) -> Result<WriteCounts, Error> {
    let mut upsert = Upsert::new(ctx, source);
    for parsed in products {
        upsert.parsed(parsed)?;
    }
    Ok(upsert.counts)
}
