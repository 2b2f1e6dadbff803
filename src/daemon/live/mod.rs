//! The live loop: hears each store's cron job fire, dispatches due stores (never one store
//! twice, at most `sync.concurrent_stores` at once), plans each store's next run from how the
//! last one ended, applies reloaded configs (cron jobs added, replaced, removed), beats the
//! heartbeat that /healthz and systemd's watchdog read, and on shutdown interrupts running
//! syncs and waits for them up to the grace period.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant, Interval};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::http::Health;
use super::notify::Notifier;
use super::schedule::jobs::CronJobs;
use super::schedule::{Planner, Start, Timing};
use super::{Control, Error, Options};
use crate::config::{Config, StoreConfig};
use crate::store::{self, RunCounts, Writer};
use crate::storefront::{Client, ClientSettings};
use crate::sync::{self, sync_store_alone, Progress, SyncContext};

mod ends;

/// One run's end, sent back from its task: its totals, or why it did not complete.
struct Finished {
    store: String,
    result: Result<RunCounts, sync::Error>,
    elapsed: Duration,
}

pub(super) struct Live {
    options: Options,
    config: Config,
    stores: BTreeMap<String, StoreConfig>,
    planner: Planner,
    writer: Writer,
    client: Arc<Client>,
    progress: Arc<Progress>,
    root: CancellationToken,
    running: HashMap<String, CancellationToken>,
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    notifier: Notifier,
    health: Arc<Health>,
    jobs: CronJobs,
    fired: mpsc::UnboundedReceiver<String>,
    /// Alert delivery, restarted with each applied config.
    alerts: Option<crate::alerts::Running>,
    /// The cron scheduler's loop was found silent (said once).
    clock_stalled: bool,
}

/// The daemon's HTTP settings: a request never waits for an open breaker, so the run ends
/// and its slot goes to a store that can work; the store's next run waits for the breaker.
fn http_settings(config: &Config) -> ClientSettings {
    let mut http = config.http.clone();
    http.retry.max_breaker_wait = Duration::ZERO;
    http
}

fn timing(config: &Config) -> Timing {
    Timing {
        jitter: config.daemon.jitter,
        retry_base: config.daemon.retry_base,
        retry_cap: config.daemon.retry_cap,
    }
}

fn own_stores(config: &Config) -> BTreeMap<String, StoreConfig> {
    config
        .own_stores()
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect()
}

impl Live {
    pub(super) async fn new(
        options: Options,
        config: Config,
        writer: Writer,
        notifier: Notifier,
        health: Arc<Health>,
    ) -> Result<Live, Error> {
        let client = Client::new(http_settings(&config)).map_err(Error::Client)?;
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (fired_tx, fired) = mpsc::unbounded_channel();
        let jobs = CronJobs::start(fired_tx).await?;
        if let Some(shard) = config.shard {
            info!(%shard, "sharded: syncing only this shard's stores");
        }
        Ok(Live {
            planner: Planner::new(options.clock, timing(&config)),
            stores: own_stores(&config),
            options,
            config,
            writer,
            client: Arc::new(client),
            progress: Arc::new(Progress::default()),
            root: CancellationToken::new(),
            running: HashMap::new(),
            done_tx,
            done_rx,
            notifier,
            health,
            jobs,
            fired,
            alerts: None,
            clock_stalled: false,
        })
    }

    /// (Re)starts alerts with the current config: the writer's rules and the delivery task.
    pub(super) async fn start_alerts(&mut self) {
        if let Some(running) = self.alerts.take() {
            running.stop().await;
        }
        match crate::alerts::Running::start(&self.writer, &self.config.alerts).await {
            Ok(running) => self.alerts = Some(running),
            Err(e) => tracing::error!(error = %e, "alerts not started"),
        }
    }

    /// Stops alert delivery (pending rows stay for the next start).
    pub(super) async fn stop_alerts(&mut self) {
        if let Some(running) = self.alerts.take() {
            running.stop().await;
        }
    }

    pub(super) fn store_count(&self) -> usize {
        self.stores.len()
    }

    /// Registers every store in the database, plans it and gives it its cron job: stores
    /// with an unfinished run or never synced are due now, the others keep the time the
    /// database has planned for them (run at once if it passed while the daemon was down), or
    /// wait for their next cron firing.
    pub(super) async fn register_stores(&mut self) -> Result<(), Error> {
        let mut fresh = Vec::new();
        for store in self.stores.values() {
            crate::telemetry::register_store(&store.name);
            self.health.set_removed(&store.name, false);
            let (name, url) = (store.name.clone(), store.printable_url());
            self.writer
                .call(move |db| db.ensure_store(&name, &url))
                .await?;
            if !self.planner.contains(&store.name) {
                fresh.push(store.name.clone());
            }
        }
        let asked = fresh.clone();
        let due = self
            .writer
            .call(move |db| db.stores_due_now(&asked))
            .await?;
        let planned: HashMap<String, DateTime<Utc>> = self
            .writer
            .call(move |db| db.planned_syncs(&fresh))
            .await?
            .into_iter()
            .collect();
        let mut changed = Vec::new();
        for name in self.stores.keys() {
            let schedule = self.config.daemon.schedule_of(name);
            let start = if due.contains(name) {
                Start::Now
            } else {
                Start::Planned(planned.get(name).copied())
            };
            self.jobs.set(name, schedule).await?;
            if let Some(next) = self.planner.upsert(name, schedule, start) {
                info!(store = %name, schedule = %schedule.as_str(), zone = %schedule.zone(),
                      next = %when(next), "store scheduled");
                changed.push((name.clone(), next));
            }
        }
        for (name, next) in changed {
            self.record_next(&name, next).await;
        }
        Ok(())
    }

    /// Seeds the last-success gauges from the database, so they survive restarts.
    pub(super) async fn restore_last_successes(&mut self) -> Result<(), store::Error> {
        for (store, at) in self.writer.call(|db| db.last_successes()).await? {
            if self.stores.contains_key(&store) {
                crate::telemetry::events::last_success(&store, at as f64);
            }
        }
        Ok(())
    }

    /// Runs until Shutdown (or the control channel closes), then stops gracefully.
    pub(super) async fn run(&mut self, mut controls: mpsc::Receiver<Control>) {
        let mut heartbeat = self.heartbeat();
        loop {
            self.dispatch();
            let free = self.running.len() < self.config.concurrent_stores;
            let wake = self.planner.next_wakeup().filter(|_| free);
            tokio::select! {
                _ = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
                Some(store) = self.fired.recv() => self.cron_fired(&store).await,
                Some(done) = self.done_rx.recv() => self.finished(done).await,
                control = controls.recv() => match control {
                    Some(Control::Reload) => self.reload().await,
                    Some(Control::Shutdown) | None => break,
                },
                _ = heartbeat.tick() => self.beat(),
            }
        }
        self.shutdown(heartbeat).await;
    }

    /// The loop's heartbeat: often enough for systemd's watchdog (half of WatchdogSec=) and
    /// for /healthz (a quarter of daemon.liveness_timeout).
    fn heartbeat(&self) -> Interval {
        let bound = self.config.daemon.liveness_timeout / 4;
        let every = self
            .notifier
            .watchdog_interval()
            .map_or(bound, |watchdog| watchdog.min(bound));
        tokio::time::interval(every)
    }

    /// One heartbeat, given while the cron scheduler's own loop ticks too: /healthz stays
    /// 200, and systemd's watchdog hears from us. A silent cron clock withholds it.
    pub(super) fn beat(&mut self) {
        let bound = self.config.daemon.liveness_timeout;
        if !self.jobs.ticking_within(bound) {
            if !self.clock_stalled {
                error!(silent_for = ?self.jobs.last_tick().elapsed(),
                       "the cron scheduler stopped ticking: no more heartbeats (/healthz \
                        answers 503 and the watchdog goes unfed)");
                self.clock_stalled = true;
            }
            return;
        }
        self.clock_stalled = false;
        self.health.beat();
        if self.notifier.watchdog_interval().is_some() {
            self.notifier.watchdog();
        }
    }

    /// A store's cron job fired: the planner decides whether it counts; the job is
    /// re-created when the crate would compute its next firing at the wrong UTC offset.
    async fn cron_fired(&mut self, store: &str) {
        let counted = self.planner.fired(store);
        tracing::debug!(store, counted, "cron job fired");
        let now = self.planner.now();
        match self.jobs.rearm(store, now).await {
            Ok(true) => info!(store, "cron job re-created for the new UTC offset"),
            Ok(false) => {}
            Err(e) => error!(error = %e, "cannot re-create a cron job"),
        }
    }

    fn dispatch(&mut self) {
        let free = self
            .config
            .concurrent_stores
            .saturating_sub(self.running.len());
        if free == 0 {
            return;
        }
        let due = self.planner.take_due(free);
        for name in &due {
            // A removed-then-re-added store may still be finishing its old run: the old run's
            // end replans it, so it is never run twice at once.
            if self.running.contains_key(name) {
                continue;
            }
            let Some(store) = self.stores.get(name).cloned() else {
                self.planner.remove(name);
                continue;
            };
            let cancel = self.root.child_token();
            self.running.insert(name.clone(), cancel.clone());
            let ctx = SyncContext::new(
                self.client.clone(),
                self.writer.clone(),
                self.config.page_size,
                cancel,
                self.progress.clone(),
            );
            crate::telemetry::events::run_started(name, self.running.len());
            let (done, store_name) = (self.done_tx.clone(), name.clone());
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let result = sync_store_alone(ctx, store).await;
                let _ = done.send(Finished {
                    store: store_name,
                    result,
                    elapsed: started.elapsed(),
                });
            });
        }
        if !due.is_empty() {
            self.report_status();
        }
    }
}

/// A planned time for logs: UTC, or "never" when the schedule does not fire again.
fn when(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

/// Unix seconds of a UTC time, for gauges.
fn unix(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64
}
