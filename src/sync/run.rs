//! One run of one store from start to end: the store's lock, starting or resuming the run, the
//! phases in order from the run's cursor, recording how it ended, and a run in its own task so
//! that a panic fails that store alone.

use tracing::{debug, info, warn};

use super::pages::{FeedEnd, FeedStart};
use super::request::RequestCounter;
use super::{collections, deletions, listing, sitemap, Error, SyncContext};
use crate::config::StoreConfig;
use crate::outcome::RunStatus;
use crate::store::{self, HttpTotals, Phase, RunCounts};

/// Runs (or resumes) one sync of `store` to its end and returns the run's totals. Holds the
/// store's lock (see `lock`) for the whole run: when another process holds it, returns
/// `Error::Busy` at once without writing anything for the store.
pub async fn sync_store(ctx: &SyncContext, store: &StoreConfig) -> Result<RunCounts, Error> {
    let _lock = match crate::lock::try_lock(ctx.writer.path(), &store.name)? {
        crate::lock::Acquired::Held(lock) => lock,
        crate::lock::Acquired::Busy { pid } => {
            return Err(Error::Busy {
                store: store.name.clone(),
                pid,
            })
        }
    };
    let store_err = Error::store(store);
    let existed = match store.ad_hoc {
        true => {
            let name = store.name.clone();
            ctx.writer
                .call(move |db| db.has_store(&name))
                .await
                .map_err(store_err)?
        }
        false => true,
    };
    let (store_name, base) = (store.name.clone(), store.printable_url());
    let start = ctx
        .writer
        .call(move |db| {
            db.check_file()?;
            let store_id = db.ensure_store(&store_name, &base)?;
            db.begin_run(store_id, &base)
        })
        .await
        .map_err(store_err)?;
    let store_id = start.store_id;
    if let Some(old) = start.abandoned {
        warn!(store = %store.name, abandoned = old, run = start.run_id,
              "the store's URL changed: its unfinished run is abandoned, a fresh one starts");
    }
    if start.resumed {
        info!(store = %store.name, run = start.run_id, page = start.next_page,
              phase = ?start.phase, "resuming interrupted run");
    }
    let requests = RequestCounter::default();
    let result = run_phases(ctx, store, &start, &requests).await;
    // Its idle connections are of no use to other stores: their buffers go now, not after the
    // pool's idle timeout while other stores sync.
    ctx.client.close_connections(&store.name);
    let (status, error) = match &result {
        Ok(status) => (*status, None),
        Err(e) => (
            e.run_status().unwrap_or(RunStatus::Failed),
            Some(e.to_string()).filter(|_| !matches!(e, Error::Interrupted(_))),
        ),
    };
    if !existed && status == RunStatus::Failed {
        // An ad-hoc URL whose first sync failed before mirroring anything (a typo, a host
        // that is not a store) leaves nothing behind; one that got pages keeps its cursor.
        let name = store.name.clone();
        let forgotten = status == RunStatus::Failed
            && ctx
                .writer
                .call(move |db| match db.mirrored_nothing(&name)? {
                    true => db.forget_store(&name),
                    false => Ok(false),
                })
                .await
                .map_err(store_err)?;
        if forgotten {
            return Err(result.expect_err("only an error fails a run"));
        }
    }
    let run_id = start.run_id;
    let message = error.clone();
    let unflushed = requests.take();
    let report = ctx.client.report(&store.name);
    let http = HttpTotals {
        retries: report.retries as i64,
        wait_ms: report.wait_ms as i64,
        breaker_state: Some(report.breaker.as_str().to_string()),
    };
    let finished = ctx
        .writer
        .call(move |db| {
            db.set_breaker_state(store_id, report.breaker.as_str())?;
            db.finish_run(
                store_id,
                run_id,
                status,
                message.as_deref(),
                unflushed,
                &http,
            )
        })
        .await
        .map_err(store_err);
    // A run that failed on storage cannot record its end either: its own error says why.
    let counts = match (finished, result) {
        (Ok(counts), result) => result.map(|_| counts),
        (Err(e), Ok(_)) => Err(e),
        (Err(_), Err(e)) => Err(e),
    };
    match counts {
        Ok(counts) => {
            info!(store = %store.name, run = run_id, status = %counts.status,
                  pages = counts.pages, requests = counts.requests,
                  requests_listing = counts.requests_by_source.listing,
                  requests_collections = counts.requests_by_source.collections,
                  requests_sitemap = counts.requests_by_source.sitemap,
                  requests_single = counts.requests_by_source.single,
                  requests_deletions = counts.requests_by_source.deletions, new = counts.new,
                  changed = counts.changed, unchanged = counts.unchanged,
                  deleted = counts.deleted, quarantined = counts.quarantined,
                  deletions_inconclusive = counts.deletions_inconclusive,
                  retries = report.retries,
                  wait_ms = report.wait_ms, "sync finished");
            Ok(counts)
        }
        Err(e) => {
            // Said once at its level by whoever ran it (the daemon's "run failed" warning, the
            // command's error line).
            debug!(store = %store.name, run = run_id, error = %e, "sync did not complete");
            Err(e)
        }
    }
}

/// Runs the phases from the run's cursor, in order of cost per product: listing; collections
/// and their membership (when enabled); the sitemap (after a capped listing, or when live
/// products are left unseen), which fetches one by one only the products no listing or
/// collection page showed; then deletions, which are only checked when the enumeration was
/// complete as a whole.
async fn run_phases(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &store::RunStart,
    requests: &RequestCounter,
) -> Result<RunStatus, Error> {
    let store_err = Error::store(store);
    let enter = |phase: Phase, sitemap_complete: bool| {
        let (store_id, count) = (start.store_id, requests.take());
        ctx.writer
            .call(move |db| db.enter_phase(store_id, phase, sitemap_complete, count))
    };
    let after_collections = |capped: bool| async move {
        match capped || has_candidates(ctx, store, start).await? {
            true => Ok::<_, Error>(Phase::Sitemap),
            false => Ok(Phase::Deletions),
        }
    };
    let (mut phase, mut capped, mut sitemap_done) =
        (start.phase, start.listing_capped, start.sitemap_complete);
    let resumed_page = FeedStart {
        next_page: start.next_page,
        page_size: start.page_size,
    };
    let (mut feed, mut position, mut sitemap_index) =
        (resumed_page, start.position, start.sitemap_index);
    if phase == Phase::Products {
        if listing::enumerate(ctx, store, start, requests).await? == FeedEnd::Capped {
            capped = true;
            let (run_id, count) = (start.run_id, requests.take());
            ctx.writer
                .call(move |db| db.mark_capped(run_id, count))
                .await
                .map_err(store_err)?;
        }
        phase = if store.collections {
            Phase::Collections
        } else {
            after_collections(capped).await?
        };
        enter(phase, false).await.map_err(store_err)?;
        (feed, position, sitemap_index) = (FeedStart::FIRST, phase.start(), 0);
    }
    if !store.collections && matches!(phase, Phase::Collections | Phase::CollectionProducts) {
        // Resumed after collections were switched off for this store.
        phase = after_collections(capped).await?;
        enter(phase, false).await.map_err(store_err)?;
        (feed, position, sitemap_index) = (FeedStart::FIRST, phase.start(), 0);
    }
    if phase == Phase::Collections {
        collections::enumerate(ctx, store, start, feed, requests).await?;
        phase = Phase::CollectionProducts;
        enter(phase, false).await.map_err(store_err)?;
        (feed, position) = (FeedStart::FIRST, phase.start());
    }
    if phase == Phase::CollectionProducts {
        collections::walk_members(ctx, store, start, position, feed, requests).await?;
        phase = after_collections(capped).await?;
        enter(phase, false).await.map_err(store_err)?;
        (position, sitemap_index) = (phase.start(), 0);
    }
    if phase == Phase::Sitemap {
        sitemap_done = sitemap::walk(ctx, store, start, sitemap_index, position, requests).await?;
        if !sitemap_done && capped {
            warn!(store = %store.name, "no usable sitemap: the capped catalogue stays incomplete");
        }
        enter(Phase::Deletions, sitemap_done)
            .await
            .map_err(store_err)?;
        position = Phase::Deletions.start();
    }
    if capped && !sitemap_done {
        return Ok(RunStatus::Capped);
    }
    let (store_id, run_id) = (start.store_id, start.run_id);
    let inconclusive = ctx
        .writer
        .call(move |db| db.deletions_inconclusive(store_id, run_id))
        .await
        .map_err(store_err)?;
    if inconclusive {
        warn!(store = %store.name, run = run_id,
              "a quarantined product has no usable id: deletions not checked this run");
        return Ok(RunStatus::Complete);
    }
    deletions::confirm(ctx, store, start, position, sitemap_done, requests).await?;
    Ok(RunStatus::Complete)
}

/// Whether the store has live products this run has not seen: deletion candidates, which the
/// sitemap is walked for first (it finds a renamed product under its new handle).
async fn has_candidates(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &store::RunStart,
) -> Result<bool, Error> {
    let (store_id, run_id) = (start.store_id, start.run_id);
    let first = ctx
        .writer
        .call(move |db| db.deletion_candidates(store_id, run_id, i64::MIN, 1))
        .await
        .map_err(Error::store(store))?;
    Ok(!first.is_empty())
}

/// `sync_store` in its own task: a panic there fails this store alone, as
/// `Error::Aborted` naming it, and never the caller (the daemon, or the command syncing several
/// stores).
pub async fn sync_store_alone(ctx: SyncContext, store: StoreConfig) -> Result<RunCounts, Error> {
    let name = store.name.clone();
    match tokio::spawn(async move { sync_store(&ctx, &store).await }).await {
        Ok(result) => result,
        Err(e) => Err(Error::Aborted {
            store: name,
            why: e.to_string(),
        }),
    }
}
