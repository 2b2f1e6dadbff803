//! The deletions phase, run only after a complete listing: every live product the run did not
//! see is a candidate, and each candidate is confirmed gone (its /products/{handle}.json answers
//! 404) before it is tombstoned. A product skipped by a shifting listing answers 200 and stays.
//! A handle that now answers another product is inconclusive (the product may have been renamed
//! and skipped): the product stays live and unseen, and is tombstoned only when an earlier
//! complete run missed it too. Candidates are read and decided in small batches, each
//! committed with the cursor.

use super::{is_not_found, Error, Expect, RequestCounter, SyncContext};
use crate::catalog;
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::{DeletionCandidate, DeletionChecks, RunStart};
use crate::telemetry::events;

const BATCH: i64 = 50;

/// Checks candidates after `position` (product id order) until none are left.
pub(super) async fn confirm(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    mut position: i64,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    loop {
        let candidates = ctx
            .writer
            .call(move |db| db.deletion_candidates(store_id, run_id, position, BATCH))
            .await
            .map_err(store_err)?;
        let Some(last) = candidates.last() else {
            return Ok(());
        };
        position = last.product_id;
        let mut checks = DeletionChecks {
            store_id,
            run_id,
            gone: Vec::new(),
            alive: Vec::new(),
            position,
            requests: Default::default(),
        };
        for candidate in &candidates {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Interrupted(store.name.clone()));
            }
            match check(ctx, store, candidate, requests).await? {
                Check::Gone => checks.gone.push(candidate.product_id),
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
    }
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
