//! `shopmirror sync`: one-shot sync of the chosen stores in one process, a progress bar on a
//! terminal, one summary line per store on stdout.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{one_line, Failure};
use crate::config::{Config, StoreConfig};
use crate::store::{RunCounts, Writer};
use crate::storefront::Client;
use crate::sync::{sync_store, Progress, SyncContext};

pub fn run(config: &Config, targets: &[String], show_progress: bool) -> Result<(), Failure> {
    let stores = config.targets(targets)?;
    if stores.is_empty() {
        return Err(Failure::Usage(
            "nothing to sync: give a store URL or configure [stores.NAME] in a config file".into(),
        ));
    }
    let runtime = super::runtime()?;
    runtime.block_on(sync_all(config, stores, show_progress))
}

async fn sync_all(
    config: &Config,
    stores: Vec<StoreConfig>,
    show_progress: bool,
) -> Result<(), Failure> {
    let writer = Writer::open(&config.db_path)?;
    let client = Client::new(config.http.clone()).map_err(Failure::Failed)?;
    let ctx = Arc::new(SyncContext {
        client: Arc::new(client),
        writer,
        page_size: config.page_size,
        cancel: CancellationToken::new(),
        progress: Arc::new(Progress::default()),
    });
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let bar = show_progress.then(|| progress_bar(ctx.progress.clone()));
    let limit = Arc::new(Semaphore::new(config.concurrent_stores));
    let mut tasks = tokio::task::JoinSet::new();
    for store in stores {
        let (ctx, limit) = (ctx.clone(), limit.clone());
        tasks.spawn(async move {
            let _slot = limit.acquire_owned().await.expect("semaphore stays open");
            let started = Instant::now();
            let result = sync_store(&ctx, &store).await;
            (store, started.elapsed(), result)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (store, elapsed, result) = joined.expect("sync task does not panic");
        match result {
            Ok(counts) => super::print_line(&summary(&store.name, &counts, elapsed)),
            Err(e) => failures.push(one_line(&e.to_string())),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(Failure::Failed(failures.remove(0))),
        n => {
            for failure in &failures[..n - 1] {
                eprintln!("shopmirror: {failure}");
            }
            Err(Failure::Failed(failures.remove(n - 1)))
        }
    }
}

fn summary(store: &str, c: &RunCounts, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let seen = c.new + c.changed + c.unchanged;
    format!(
        "{store}: {status}{capped}, {seen} products seen ({new} new, {changed} changed, \
         {unchanged} unchanged, {deleted} deleted) in {seconds:.1}s, {pages} pages, \
         {requests} requests",
        status = c.status,
        capped = if c.status == "capped" {
            " (listing hit the 25,000 cap; deletions not checked)"
        } else {
            ""
        },
        new = c.new,
        changed = c.changed,
        unchanged = c.unchanged,
        deleted = c.deleted,
        pages = c.pages,
        requests = c.requests,
    )
}

/// A spinner on stderr showing pages, products and rate; ticks until finished.
fn progress_bar(progress: Arc<Progress>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .expect("static template"),
    );
    let shown = bar.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        while !shown.is_finished() {
            let products = progress.products.load(Ordering::Relaxed);
            let rate = products as f64 / started.elapsed().as_secs_f64().max(0.001);
            shown.set_message(format!(
                "{} pages, {products} products ({rate:.0}/s), {} requests",
                progress.pages.load(Ordering::Relaxed),
                progress.requests.load(Ordering::Relaxed),
            ));
            shown.tick();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}
