//! The deletions phase, run only after a complete enumeration: every live product the run did
//! not see is a candidate, and each candidate is asked for at /products/{handle}.json. A product
//! skipped by a shifting listing answers 200 and stays. A 404 proves only that nothing answers
//! at that handle, so it tombstones a product only when two more things hold:
//! - the product's id was not met under another handle: this run walked the sitemap (whose
//!   unseen handles were fetched, finding renamed products) after the listing; without a usable
//!   sitemap the 404 is deferred, and a product is tombstoned only when an earlier complete run
//!   missed it too;
//! - the endpoint answers at all on this store this run: a product the run saw live is asked for
//!   first (once per run, before the first 404 is trusted); when it answers 404 too (a custom
//!   domain that serves no single product, even through the myshopify.com fallback), the run's
//!   deletions are inconclusive and nothing is tombstoned on that endpoint's word.
//!
//! A handle that now answers another product is inconclusive (the product may have been renamed
//! and skipped): the product stays live and unseen, and is tombstoned only when an earlier
//! complete run missed it too. Candidates are read and decided in small batches, each committed
//! with the cursor.

use tracing::warn;

use super::{is_not_found, Error, Expect, RequestCounter, SyncContext};
use crate::catalog;
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::{DeletionCandidate, DeletionChecks, RunStart};
use crate::telemetry::events;

const BATCH: i64 = 50;

/// How many products the run saw live are asked for before the endpoint is taken to answer 404
/// for every product (one of them may have been deleted since it was seen).
const PROBES: i64 = 3;

/// Checks candidates from `position` (the lowest id not checked yet; product id order) until
/// none are left. `sitemap_walked`: this run walked the product sitemaps completely, so a
/// candidate's id was not met under another handle; without it a 404 is trusted only for a
/// product an earlier complete run missed.
pub(super) async fn confirm(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    mut position: i64,
    sitemap_walked: bool,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    let mut endpoint = Answering::Unknown;
    let mut deferred = 0u64;
    loop {
        let candidates = ctx
            .writer
            .call(move |db| db.deletion_candidates(store_id, run_id, position, BATCH))
            .await
            .map_err(store_err)?;
        let Some(last) = candidates.last() else {
            if deferred > 0 {
                warn!(store = %store.name, run = run_id, products = deferred,
                      "products answering 404 stay live until a second complete run misses them: \
                       no sitemap to rule out a rename");
            }
            if endpoint == Answering::Silent {
                warn!(store = %store.name, run = run_id,
                      "the single-product endpoint answers 404 for products seen live this run: \
                       deletions not checked (set myshopify_domain for a custom domain)");
            }
            return Ok(());
        };
        let after = last.product_id.checked_add(1);
        position = after.unwrap_or(i64::MAX);
        let mut checks = DeletionChecks {
            store_id,
            run_id,
            gone: Vec::new(),
            alive: Vec::new(),
            position,
            requests: Default::default(),
            inconclusive: false,
        };
        for candidate in &candidates {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Interrupted(store.name.clone()));
            }
            match check(ctx, store, candidate, requests).await? {
                Check::Gone if !sitemap_walked && !candidate.missed_before => deferred += 1,
                Check::Gone => {
                    if endpoint == Answering::Unknown {
                        endpoint = probe(ctx, store, start, requests).await?;
                    }
                    match endpoint {
                        Answering::Silent => checks.inconclusive = true,
                        _ => checks.gone.push(candidate.product_id),
                    }
                }
                Check::Alive => checks.alive.push(candidate.product_id),
                Check::HandleTaken if candidate.missed_before => {
                    checks.gone.push(candidate.product_id)
                }
                Check::HandleTaken => {}
            }
        }
        checks.requests = requests.take();
        let gone = checks.gone.len() as u64;
        ctx.writer
            .call(move |db| db.apply_deletion_checks(checks))
            .await
            .map_err(store_err)?;
        events::products_deleted(&store.name, gone);
        if after.is_none() {
            return Ok(()); // no id above i64::MAX
        }
    }
}

/// Whether the single-product endpoint answers on this store this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answering {
    /// Not asked yet (no 404 had to be trusted).
    Unknown,
    /// A product seen live this run answered (or no product was seen live: nothing to ask).
    Answers,
    /// Every product asked for, seen live this run, answered 404.
    Silent,
}

/// Asks /products/{handle}.json for up to `PROBES` products this run saw live: any answer but
/// 404 shows that the endpoint answers on this store.
async fn probe(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    requests: &RequestCounter,
) -> Result<Answering, Error> {
    let (store_id, run_id) = (start.store_id, start.run_id);
    let live = ctx
        .writer
        .call(move |db| db.seen_live(store_id, run_id, PROBES))
        .await
        .map_err(Error::store(store))?;
    if live.is_empty() {
        return Ok(Answering::Answers);
    }
    for handle in &live {
        let url = super::urls::product(store, handle);
        let counted = (requests, Endpoint::Deletions);
        match super::fetch(ctx, store, &url, Expect::Json, counted).await {
            Ok(_) => return Ok(Answering::Answers),
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Answering::Silent)
}

/// What the store says about a candidate.
enum Check {
    /// Its handle answers 404.
    Gone,
    /// Its handle answers this product.
    Alive,
    /// Its handle answers another product (or one whose id cannot be read): deleted, or
    /// renamed and skipped by the listing; this answer cannot tell.
    HandleTaken,
}

/// Asks /products/{handle}.json about a candidate; only the id of the answer is read, so a
/// product that is unusable in other ways still answers for itself.
async fn check(
    ctx: &SyncContext,
    store: &StoreConfig,
    candidate: &DeletionCandidate,
    requests: &RequestCounter,
) -> Result<Check, Error> {
    let url = super::urls::product(store, &candidate.handle);
    let counted = (requests, Endpoint::Deletions);
    match super::fetch(ctx, store, &url, Expect::Json, counted).await {
        Ok(body) if catalog::single_product_id(&body) == Some(candidate.product_id) => {
            Ok(Check::Alive)
        }
        Ok(_) => Ok(Check::HandleTaken),
        Err(e) if is_not_found(&e) => Ok(Check::Gone),
        Err(e) => Err(e),
    }
}
