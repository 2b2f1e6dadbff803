//! Writing products: one page (or one batch of checked products) per transaction, together with
//! the run's counters and cursor. New and changed products are (re)written with their variants,
//! images, options, a version row and history; unchanged ones only get their narrow seen row
//! (seen.rs) moved, so they cost no write in the wide products table. A page's unusable
//! products go to the quarantine (quarantine.rs) in the same transaction.

use std::path::Path;

use rusqlite::{params, Transaction};

use super::children::write_children;
use super::quarantine::quarantine;
use super::requests::{add_requests, Requests};
use super::seen::{mark_seen, write_seen};
use super::upsert::Upsert;
use super::write::WriteDb;
use super::{now_text, Context, Error};
use crate::catalog::{ParsedProduct, Unusable};

/// Which endpoint supplied a batch of products (`products.source`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    Listing,
    Collection,
    Single,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Listing => "listing",
            Source::Collection => "collection",
            Source::Single => "single",
        }
    }
}

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

impl WriteDb {
    /// Writes one listing page and moves the cursor past it, atomically.
    pub fn apply_page(&mut self, page: PageWrite) -> Result<WriteCounts, Error> {
        self.transaction(|tx, path| {
            let mut upsert = Upsert::new(tx, path, (page.store_id, page.run_id), Source::Listing)?;
            for item in &page.products {
                match item {
                    PageProduct::Parsed(parsed) => upsert.parsed(parsed)?,
                    PageProduct::Same { id, raw_hash } => upsert.same(*id, *raw_hash)?,
                }
            }
            let mut counts = upsert.counts;
            let (store_id, run_id) = (page.store_id, page.run_id);
            let (quarantined, restored) = quarantine(
                tx,
                path,
                store_id,
                run_id,
                &page.url,
                &page.unusable,
                &now_text(),
            )?;
            counts.quarantined = quarantined;
            counts.restored += restored;
            add_counts(tx, path, page.run_id, counts, 1, &page.requests)?;
            tx.prepare_cached(
                "UPDATE sync_cursor SET next_page = ?2, page_size = ?3 WHERE store_id = ?1",
            )
            .and_then(|mut s| s.execute(params![page.store_id, page.next_page, page.page_size]))
            .ctx(path, "advancing cursor")?;
            Ok(counts)
        })
    }
}

/// Adds a write's counts to its run row.
pub(super) fn add_counts(
    tx: &Transaction,
    path: &Path,
    run_id: i64,
    counts: WriteCounts,
    pages: i64,
    requests: &Requests,
) -> Result<(), Error> {
    add_requests(tx, path, run_id, requests)?;
    tx.prepare_cached(
        "UPDATE sync_runs SET pages = pages + ?2,
             products_new = products_new + ?3, products_changed = products_changed + ?4,
             products_unchanged = products_unchanged + ?5,
             products_restored = products_restored + ?6
         WHERE run_id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            run_id,
            pages,
            counts.new,
            counts.changed,
            counts.unchanged,
            counts.restored
        ])
    })
    .ctx(path, "updating run counters")?;
    Ok(())
}

/// Inserts, rewrites or marks seen each product; returns what happened. A product met twice
/// in one run (a shifting listing) is counted once (see `Upsert`). An unchanged product whose
/// availability came from the `.js` endpoint has that availability brought up to date (it is
/// not part of the content hash).
pub(super) fn upsert_products(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id): (i64, i64),
    products: &[ParsedProduct],
    source: Source,
) -> Result<WriteCounts, Error> {
    let mut upsert = Upsert::new(tx, path, (store_id, run_id), source)?;
    for parsed in products {
        upsert.parsed(parsed)?;
    }
    Ok(upsert.counts)
}

pub(super) fn restore(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    id: i64,
    run_id: i64,
    now: &str,
) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE products SET deleted_at = NULL WHERE store_id = ?1 AND product_id = ?2",
    )
    .and_then(|mut s| s.execute(params![store_id, id]))
    .ctx(path, "restoring product")?;
    mark_seen(tx, path, store_id, run_id, id, None, now)?;
    insert_event(tx, path, store_id, id, "restored", now, run_id)
}

pub(super) fn insert_event(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    product_id: i64,
    event: &str,
    now: &str,
    run_id: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO product_events (store_id, product_id, event, observed_at, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![store_id, product_id, event, now, run_id]))
    .ctx(path, "recording product event")?;
    Ok(())
}

/// Closes the current version of a product before a new one is written: it keeps the raw JSON
/// it had and the last time it was observed.
pub(super) fn supersede_version(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    id: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "UPDATE product_versions
         SET last_observed_at = s.last_seen_at, raw_json = p.raw_json
         FROM products p JOIN product_seen s
             ON s.store_id = p.store_id AND s.product_id = p.product_id
         WHERE p.store_id = ?1 AND p.product_id = ?2
           AND product_versions.store_id = ?1 AND product_versions.product_id = ?2
           AND product_versions.raw_json IS NULL",
    )
    .and_then(|mut s| s.execute(params![store_id, id]))
    .ctx(path, "closing product version")?;
    Ok(())
}

/// Writes the product row, its seen row, its children and a new version row. `stated` is None
/// for a new product, else the availability its variants last stated (kept where the answer
/// is silent, and so is the source it came from).
pub(super) fn write_product(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id): (i64, i64),
    parsed: &ParsedProduct,
    source: Source,
    now: &str,
    stated: Option<&[(i64, bool)]>,
) -> Result<(), Error> {
    let p = &parsed.product;
    let tags = serde_json::to_string(&p.tags).expect("tags serialize");
    tx.prepare_cached(
        "INSERT INTO products (store_id, product_id, handle, title, vendor, product_type, tags,
             body_html, published_at, created_at, content_hash, raw_json, first_seen_at,
             content_changed_at, written_run, source, availability_source, variants_truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (store_id, product_id) DO UPDATE SET
             handle = excluded.handle, title = excluded.title, vendor = excluded.vendor,
             product_type = excluded.product_type, tags = excluded.tags,
             body_html = excluded.body_html, published_at = excluded.published_at,
             created_at = excluded.created_at, content_hash = excluded.content_hash,
             raw_json = excluded.raw_json,
             content_changed_at = excluded.content_changed_at,
             written_run = excluded.written_run, source = excluded.source,
             availability_source = coalesce(excluded.availability_source,
                                            products.availability_source),
             variants_truncated = excluded.variants_truncated",
    )
    .and_then(|mut s| {
        s.execute(params![
            store_id,
            p.id,
            p.handle,
            p.title,
            p.vendor,
            p.product_type,
            tags,
            p.body_html,
            p.published_at,
            p.created_at,
            parsed.content_hash,
            parsed.raw_json,
            now,
            run_id,
            source.as_str(),
            parsed.availability_source(),
            parsed.variants_truncated()
        ])
    })
    .ctx(path, "writing product")?;
    write_seen(tx, path, store_id, run_id, p.id, parsed.raw_hash, now)?;
    if stated.is_some() {
        for table in [
            "DELETE FROM variants WHERE store_id = ?1 AND product_id = ?2",
            "DELETE FROM images WHERE store_id = ?1 AND product_id = ?2",
            "DELETE FROM options WHERE store_id = ?1 AND product_id = ?2",
        ] {
            tx.prepare_cached(table)
                .and_then(|mut s| s.execute(params![store_id, p.id]))
                .ctx(path, "removing old product rows")?;
        }
    }
    write_children(tx, path, store_id, run_id, p, stated.unwrap_or_default())?;
    tx.prepare_cached(
        "INSERT INTO product_versions (store_id, product_id, content_hash, first_observed_at,
             run_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![store_id, p.id, parsed.content_hash, now, run_id]))
    .ctx(path, "writing product version")?;
    Ok(())
}
