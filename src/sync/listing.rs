//! The listing phase: /products.json page by page from the cursor until an empty or short
//! page, or Shopify's page * limit cap. Fetching and parsing the next page overlaps with
//! writing the current one through a bounded channel, so memory holds at most a few pages of a
//! store, each keeping its place in the process's budget of pages in flight until written.
//! A product whose raw hash (JSON with `updated_at` left out) equals the stored one is sent
//! unparsed as unchanged; only the others are parsed and compared by content hash. The stored
//! raw hashes are read through the process's read-only lookup connection, so the next page is
//! looked up and parsed while the writer writes the current one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use url::Url;

use super::pages::{Feed, FeedEnd, FeedStart, Page, Pages};
use super::{bad_answer, off_thread, Error, RequestCounter, SyncContext};
use crate::catalog::{self, RawEntry, Unusable};
use crate::config::StoreConfig;
use crate::store::{PageProduct, PageWrite, Reader, RunStart, WriteCounts};
use crate::storefront::{self, Held};
use crate::telemetry::events::{self, PageWritten};

/// What the fetcher hands the writer loop.
enum Fetched {
    Page {
        /// The page's place in this pass (page numbers are not: page sizes may vary).
        seq: i64,
        number: i64,
        /// Items per page of its request (the cursor counts in them).
        size: i64,
        url: String,
        products: Vec<PageProduct>,
        unusable: Vec<Unusable>,
        /// The page's place in the budget of pages in flight, given back once it is written.
        held: Held,
    },
    End(FeedEnd),
}

/// Pages handed to the writer loop and not yet known to be committed, with their product ids.
/// A stored raw hash read while one of them is pending may be about to change, so products of
/// pending pages are always parsed.
struct Pending {
    /// The place in this pass (`Fetched::Page::seq`) of the last page committed.
    committed: AtomicI64,
    /// The place of the last page fetched.
    fetched: AtomicI64,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            committed: AtomicI64::new(i64::MIN),
            fetched: AtomicI64::new(0),
        }
    }
}

/// Walks the listing from the run's cursor, writing each page with its cursor.
pub(super) async fn enumerate(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    requests: &RequestCounter,
) -> Result<FeedEnd, Error> {
    let (pages_tx, mut pages_rx) = mpsc::channel::<Result<Fetched, Error>>(1);
    let pending = &Pending::new();
    let seen = ctx.raw_hash_reader().map_err(Error::store(store))?;
    let fetcher = fetch_pages(ctx, store, start, requests, pending, &seen, pages_tx);
    // The writer loop owns the receiver: when it returns (a storage error, say) the receiver
    // drops with it, and the fetcher, blocked or not, sees the channel closed and stops.
    let writer = async move {
        let mut tally = Tally::new();
        while let Some(item) = pages_rx.recv().await {
            match item? {
                Fetched::Page {
                    seq,
                    number,
                    size,
                    url,
                    products,
                    unusable,
                    held,
                } => {
                    let count = products.len() as u64;
                    events::quarantined(&store.name, &url, &unusable);
                    let page = PageWrite {
                        store_id: start.store_id,
                        run_id: start.run_id,
                        products,
                        unusable,
                        url,
                        next_page: number + 1,
                        page_size: size,
                        requests: requests.take(),
                    };
                    let written = ctx
                        .writer
                        .call(move |db| db.apply_page(page))
                        .await
                        .map_err(Error::store(store))?;
                    drop(held);
                    pending.committed.store(seq, Ordering::Release);
                    ctx.progress.add(1, count);
                    tally.page_written(&store.name, number, count, &written);
                }
                Fetched::End(listing) => return Ok(listing),
            }
        }
        Err(Error::Interrupted(store.name.clone()))
    };
    let (_, result) = tokio::join!(fetcher, writer);
    result
}

/// One progress line per this many pages written.
const PROGRESS_EVERY: u64 = 20;

/// Pages and products written by this listing pass, for metrics and progress lines.
struct Tally {
    started: Instant,
    pages: u64,
    products: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            started: Instant::now(),
            pages: 0,
            products: 0,
        }
    }

    fn page_written(&mut self, store: &str, number: i64, products: u64, written: &WriteCounts) {
        self.pages += 1;
        self.products += products;
        events::page_written(
            store,
            PageWritten {
                listing: true,
                number,
                products,
                new: written.new as u64,
                changed: written.changed as u64,
            },
        );
        if self.pages.is_multiple_of(PROGRESS_EVERY) {
            let rate = self.products as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            events::listing_progress(store, self.pages, self.products, rate.round() as u64);
        }
    }
}

/// Fetches and parses pages in order, sending each to the writer loop; stops at the end of the
/// listing, on the first error, on cancellation, or when the receiver is gone.
async fn fetch_pages(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    requests: &RequestCounter,
    pending: &Pending,
    seen: &Arc<Mutex<Reader>>,
    pages: mpsc::Sender<Result<Fetched, Error>>,
) {
    let from = FeedStart {
        next_page: start.next_page,
        page_size: start.page_size,
    };
    let mut listing = Pages::new(ctx, store, requests, Feed::Listing, from);
    let mut sent = VecDeque::new();
    loop {
        let item = tokio::select! {
            _ = ctx.cancel.cancelled() => Err(Error::Interrupted(store.name.clone())),
            _ = pages.closed() => return,
            item = next_page(store, start.store_id, &mut listing, pending, seen, &mut sent, &pages) => item,
        };
        let last = !matches!(&item, Ok(Fetched::Page { .. }));
        if !hand_over(ctx, &pages, item).await || last {
            return;
        }
    }
}

/// Sends one item to the writer loop; false when the loop is gone or the run was cancelled
/// while waiting for room (then the loop ends on the closed channel).
async fn hand_over(
    ctx: &SyncContext,
    pages: &mpsc::Sender<Result<Fetched, Error>>,
    item: Result<Fetched, Error>,
) -> bool {
    tokio::select! {
        _ = ctx.cancel.cancelled() => false,
        sent = pages.send(item) => sent.is_ok(),
    }
}

/// The next listing page: the request, the raw digests, the stored raw hashes and, once
/// `pages` has room, the parse of the products that differ (scans and parse on a blocking
/// thread: they are CPU work); or the listing's end. `sent` holds the pages sent before this
/// one with their product ids.
async fn next_page(
    store: &StoreConfig,
    store_id: i64,
    listing: &mut Pages<'_>,
    pending: &Pending,
    seen: &Arc<Mutex<Reader>>,
    sent: &mut VecDeque<(i64, Vec<i64>)>,
    pages: &mpsc::Sender<Result<Fetched, Error>>,
) -> Result<Fetched, Error> {
    let Some(page) = listing.next().await? else {
        return Ok(Fetched::End(listing.end()));
    };
    let (number, size) = (page.number, page.size);
    let seq = pending.fetched.fetch_add(1, Ordering::Relaxed) + 1;
    let Page {
        url, body, held, ..
    } = page;
    let bad_page = |kind: catalog::ParseError| bad_answer(store, &url, kind);
    let (body, entries) = off_thread(store, &url, move || {
        let entries = catalog::digest_products_page(&body);
        (body, entries)
    })
    .await?;
    let entries = entries.map_err(bad_page)?;
    listing.read(entries.len());
    if entries.is_empty() {
        return Ok(Fetched::End(listing.end()));
    }
    let same = unchanged_by_raw_hash(store, &url, store_id, &entries, pending, seen, sent).await?;
    let ids = entries.iter().filter_map(|e| e.digest.id).collect();
    // Parsed once the writer has taken the page before (this loop is the channel's only
    // sender, so the free slot stays free): this page's parse overlaps that page's write, and
    // at most one parsed page waits for the writer.
    if pages.reserve().await.is_err() {
        return Err(Error::Interrupted(store.name.clone()));
    }
    let (products, unusable) = if same.iter().all(|s| *s) {
        (same_products(&entries), Vec::new())
    } else {
        off_thread(store, &url, move || {
            let parsed = catalog::parse_page_entries(&body, &entries, |i| !same[i])?;
            let (mut products, mut unusable) = (Vec::new(), Vec::new());
            for (parsed, entry) in parsed.into_iter().zip(&entries) {
                match parsed {
                    Some(Ok(parsed)) => products.push(PageProduct::Parsed(Box::new(parsed))),
                    Some(Err(u)) => unusable.push(u),
                    None => products.push(same_product(entry)),
                }
            }
            Ok((products, unusable))
        })
        .await?
        .map_err(bad_page)?
    };
    sent.push_back((seq, ids));
    Ok(Fetched::Page {
        seq,
        number,
        size,
        url: storefront::redact(&url),
        products,
        unusable,
        held,
    })
}

/// For each product of the page, whether its raw hash equals the stored one. Read after
/// setting aside the pages not yet committed: their products are never taken as unchanged.
async fn unchanged_by_raw_hash(
    store: &StoreConfig,
    url: &Url,
    store_id: i64,
    entries: &[RawEntry],
    pending: &Pending,
    seen: &Arc<Mutex<Reader>>,
    sent: &mut VecDeque<(i64, Vec<i64>)>,
) -> Result<Vec<bool>, Error> {
    let committed = pending.committed.load(Ordering::Acquire);
    sent.retain(|(seq, _)| *seq > committed);
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.digest.id).collect();
    let seen = seen.clone();
    let stored = off_thread(store, url, move || {
        seen.lock()
            .expect("raw hash reader")
            .raw_hashes(store_id, &ids)
    })
    .await?
    .map_err(Error::store(store))?;
    let mut stored = stored.into_iter();
    // A product listed twice on one page is parsed: the first copy may rewrite it.
    let mut on_page = std::collections::HashSet::new();
    let repeated: std::collections::HashSet<i64> = entries
        .iter()
        .filter_map(|e| e.digest.id)
        .filter(|id| !on_page.insert(*id))
        .collect();
    Ok(entries
        .iter()
        .map(|entry| {
            let Some(id) = entry.digest.id else {
                return false;
            };
            let known = stored.next().flatten();
            known == Some(entry.digest.hash)
                && !repeated.contains(&id)
                && !sent.iter().any(|(_, ids)| ids.contains(&id))
        })
        .collect())
}

fn same_products(entries: &[RawEntry]) -> Vec<PageProduct> {
    entries.iter().map(same_product).collect()
}

fn same_product(entry: &RawEntry) -> PageProduct {
    PageProduct::Same {
        id: entry
            .digest
            .id
            .expect("only products with an id are taken as unchanged"),
        raw_hash: entry.digest.hash,
    }
}
