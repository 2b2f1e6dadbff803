//! The deletions phase, run only after a complete listing: every live product the run did not
//! see is a candidate, and each candidate is confirmed gone (its /products/{handle}.json answers
//! 404) before it is tombstoned. A product skipped by a shifting listing answers 200 and stays.
//! Candidates are read and decided in small batches, each committed with the cursor.

use super::{Error, RequestCounter, Source, SyncContext};
use crate::config::StoreConfig;
use crate::store::{DeletionCandidate, DeletionChecks, RunStart};
use crate::storefront::{self, ErrorKind};

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
            requests.record(Source::Deletions);
            if is_gone(ctx, store, candidate).await? {
                checks.gone.push(candidate.product_id);
            } else {
                checks.alive.push(candidate.product_id);
            }
        }
        checks.requests = requests.take();
        let gone = checks.gone.len() as u64;
        ctx.writer
            .call(move |db| db.apply_deletion_checks(checks))
            .await
            .map_err(store_err)?;
        if gone > 0 {
            tracing::info!(store = %store.name, deleted = gone, "products confirmed deleted");
            metrics::counter!("shopmirror_products_total", "store" => store.name.clone(),
                              "change" => "deleted")
            .increment(gone);
        }
    }
}

/// True when the store confirms the product is gone: 404 for its handle, or the handle now
/// belongs to a different product.
async fn is_gone(
    ctx: &SyncContext,
    store: &StoreConfig,
    candidate: &DeletionCandidate,
) -> Result<bool, Error> {
    let mut url = store.url.clone();
    url.path_segments_mut()
        .expect("store URLs are http(s) with a path")
        .pop_if_empty()
        .push("products")
        .push(&format!("{}.json", candidate.handle));
    let result = tokio::select! {
        _ = ctx.cancel.cancelled() => return Err(Error::Interrupted(store.name.clone())),
        result = ctx.client.get_json(&store.name, &url) => result,
    };
    match result {
        Ok(body) => match storefront::parse_single_product(&body) {
            Ok(product) => Ok(product.product.id != candidate.product_id),
            Err(kind) => Err(storefront::Error {
                store: store.name.clone(),
                url: storefront::redact(&url),
                kind,
            }
            .into()),
        },
        Err(e) if matches!(e.kind, ErrorKind::NotFound) => Ok(true),
        Err(e) => Err(e.into()),
    }
}
