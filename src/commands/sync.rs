//! `shopmirror sync`: one-shot sync of the chosen stores in one process, a progress bar per
//! store on a terminal, one summary line per store on stdout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::progress::Display;
use super::Failure;
use crate::alerts::deliver::Delivery;
use crate::config::{Config, StoreConfig};
use crate::message::{one_line, shown, Shown};
use crate::outcome::RunStatus;
use crate::store::{RunCounts, Writer};
use crate::storefront::Client;
use crate::sync::{sync_store_alone, Progress, SyncContext};

/// Syncs `targets`; `quiet` (-q) leaves out the summary lines, so only errors are printed.
pub fn run(
    config: &Config,
    targets: &[String],
    show_progress: bool,
    quiet: bool,
) -> Result<(), Failure> {
    let stores = config.targets(targets)?;
    if stores.is_empty() {
        return Err(Failure::Usage(
            "nothing to sync: give a store URL or configure [stores.NAME] in a config file".into(),
        ));
    }
    let runtime = super::runtime()?;
    runtime.block_on(sync_all(config, stores, show_progress, quiet))
}

async fn sync_all(
    config: &Config,
    stores: Vec<StoreConfig>,
    show_progress: bool,
    quiet: bool,
) -> Result<(), Failure> {
    let writer = Writer::open(&config.db_path)?;
    let wake = crate::alerts::attach(&writer, &config.alerts).await?;
    let client = Client::new(config.http.clone())?;
    let client = Arc::new(client);
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let display = show_progress.then(Display::start);
    let limit = Arc::new(Semaphore::new(config.concurrent_stores));
    let mut tasks = tokio::task::JoinSet::new();
    for store in stores {
        // Each store counts its own progress, for its own bar.
        let ctx = SyncContext::new(
            client.clone(),
            writer.clone(),
            config.page_size,
            cancel.clone(),
            Arc::new(Progress::default()),
        );
        let (limit, display) = (limit.clone(), display.clone());
        tasks.spawn(async move {
            let _slot = limit.acquire_owned().await.expect("semaphore stays open");
            let name = store.name.clone();
            let bar = display
                .as_ref()
                .map(|d| d.add(&shown(&name), ctx.progress.clone()));
            let started = Instant::now();
            // In its own task: a panic there fails this store alone; the others go on.
            let result = sync_store_alone(ctx, store).await;
            let line = result
                .as_ref()
                .ok()
                .filter(|_| !quiet)
                .map(|counts| summary(&name, counts, started.elapsed()));
            match (display, bar) {
                (Some(display), Some(bar)) => display.finish(bar, line.as_deref()),
                _ => line.iter().for_each(|line| super::print_line(line)),
            }
            result
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let result = joined.expect("a store's task only panics in its run, which fails alone");
        if let Err(e) = result {
            failures.push(one_line(&e));
        }
    }
    if let Some(display) = display {
        display.close();
    }
    if !cancel.is_cancelled() {
        deliver_alerts(config, &writer, wake, quiet).await;
    }
    // Everything into the .db file before exit, so copying that file alone copies the mirror.
    if let Err(e) = writer.call(|db| db.checkpoint()).await {
        eprintln!("shopmirror: warning: {}", one_line(&e));
    }
    if cancel.is_cancelled() {
        for failure in &failures {
            eprintln!("shopmirror: {failure}");
        }
        return Err(Failure::Interrupted(
            "interrupted: pages written so far are kept; the next sync resumes".into(),
        ));
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

/// Sends the alerts that are due, within alerts.sync_timeout; what is not sent stays for the
/// next run, `alerts deliver` or the daemon.
async fn deliver_alerts(
    config: &Config,
    writer: &Writer,
    wake: Arc<tokio::sync::Notify>,
    quiet: bool,
) {
    let delivery = match Delivery::new(writer.clone(), &config.alerts, wake) {
        Ok(delivery) => delivery,
        Err(e) => {
            return eprintln!(
                "shopmirror: warning: alerts not delivered: {}",
                one_line(&e)
            )
        }
    };
    match delivery.drain(config.alerts.sync_timeout).await {
        Ok(done) if !quiet && done.delivered + done.failed > 0 => super::print_line(&format!(
            "alerts: {} delivered, {} failed attempts",
            done.delivered, done.failed
        )),
        Ok(_) => {}
        Err(e) => eprintln!(
            "shopmirror: warning: alerts not delivered: {}",
            one_line(&e)
        ),
    }
}

fn summary(store: &str, c: &RunCounts, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let seen = c.new + c.changed + c.unchanged;
    let quarantined = match (c.quarantined, c.deletions_inconclusive) {
        (0, false) => String::new(),
        (0, true) => ", deletions inconclusive".into(),
        (n, false) => format!(", {n} quarantined"),
        (n, true) => format!(", {n} quarantined (one without id: deletions not checked)"),
    };
    let store = Shown(store);
    format!(
        "{store}: {status}{capped}, {seen} products seen ({new} new, {changed} changed, \
         {unchanged} unchanged, {deleted} deleted{quarantined}) in {seconds:.1}s, {pages} pages, \
         {requests} requests (listing {listing}, collections {collections}, sitemap {sitemap}, \
         single {single}, deletion checks {deletions})",
        status = c.status,
        capped = if c.status == RunStatus::Capped {
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
        listing = c.requests_by_source.listing,
        collections = c.requests_by_source.collections,
        sitemap = c.requests_by_source.sitemap,
        single = c.requests_by_source.single,
        deletions = c.requests_by_source.deletions,
    )
}
