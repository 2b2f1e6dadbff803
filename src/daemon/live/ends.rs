//! The live loop's reactions: a run ended (metrics, readiness, next plan, held back by an open
//! breaker), a reload (stores, schedules and URLs added, removed or changed, breakers kept; an
//! invalid config keeps the old one), and the graceful stop.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::{Instant, Interval};
use tracing::{error, info, warn};

use super::{http_settings, own_stores, timing, unix, when, Finished, Live};
use crate::config::{Config, StoreConfig};
use crate::outcome::RunStatus;
use crate::store::RunCounts;
use crate::sync;
use crate::telemetry::events::{self, Reload};

impl Live {
    /// A run ended: emit its metrics, plan the store's next run and record it.
    pub(super) async fn finished(&mut self, done: Finished) {
        let Finished {
            store,
            result,
            elapsed,
        } = done;
        self.running.remove(&store);
        let running = self.running.len();
        // Readiness follows the database: lost on a storage failure, back once a run gets
        // through it (any end other than a storage failure recorded itself).
        let storage_failed = matches!(result, Err(sync::Error::Store { .. }));
        self.health
            .db_open
            .store(!storage_failed, Ordering::Relaxed);
        let finished = match &result {
            Err(sync::Error::Busy { pid, .. }) => {
                events::skipped_busy(&store, &crate::lock::describe(*pid), running);
                self.planner.skipped_busy(&store)
            }
            _ => self.plan_after_run(&store, &result, elapsed, storage_failed),
        };
        if let Some((next, failures)) = finished {
            if failures > 0 {
                warn!(store = %store, failures, next = %when(next), "retrying after backoff");
            } else {
                info!(store = %store, next = %when(next), "next sync planned");
            }
            self.record_next(&store, next).await;
        }
        match self.writer.call(|db| db.checkpoint()).await {
            Ok(done) if done.wal_overgrown() => warn!(
                wal_bytes = done.wal_bytes,
                "WAL checkpoint incomplete (a reader holds an old snapshot) and the WAL is past \
                 journal_size_limit: it keeps growing until checkpoints complete"
            ),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "WAL checkpoint failed"),
        }
        self.report_status();
    }

    /// A run ended (it was not skipped): its metrics and log line, then its next plan, held
    /// back by the store's breaker while that stays open after a failure.
    fn plan_after_run(
        &mut self,
        store: &str,
        result: &Result<RunCounts, sync::Error>,
        elapsed: Duration,
        storage: bool,
    ) -> Option<(Option<DateTime<Utc>>, u32)> {
        let (status, error) = match result {
            Ok(counts) => (counts.status, None),
            Err(e) => match e.run_status().unwrap_or(RunStatus::Failed) {
                RunStatus::Failed => (RunStatus::Failed, Some(crate::message::one_line(e))),
                status => (status, None),
            },
        };
        let failure = error
            .as_deref()
            .map(|error| events::Failure { error, storage });
        let times = (elapsed.as_secs_f64(), unix(Utc::now()));
        events::run_ended(store, status, failure, times, self.running.len());
        let finished = self.planner.finished(store, status);
        match self.client.breaker_open_left(store) {
            Some(left) if status == RunStatus::Failed => {
                let until = self.planner.now() + left;
                info!(store = %store, until = %when(Some(until)),
                      "circuit breaker open: the next attempt waits for it");
                let held = self.planner.hold_until(store, until);
                finished.map(|(next, failures)| (held.or(next), failures))
            }
            _ => finished,
        }
    }

    /// Writes a store's next planned sync to the database and its gauge.
    pub(super) async fn record_next(&mut self, store: &str, next: Option<DateTime<Utc>>) {
        if let Some(at) = next {
            events::next_sync(store, unix(at));
        }
        let name = store.to_string();
        if let Err(e) = self
            .writer
            .call(move |db| db.set_next_sync(&name, next))
            .await
        {
            warn!(store = %store, error = %e, "cannot record the next sync time");
        }
    }

    /// Re-reads the config file and applies it; an invalid file changes nothing.
    pub(super) async fn reload(&mut self) {
        let new = match Config::load(
            self.options.config_file.as_deref(),
            self.options.db.as_deref(),
        ) {
            Ok(config) => config,
            Err(e) => return self.refuse_reload(&e),
        };
        if new.db_path != self.config.db_path {
            warn!(old = %self.config.db_path.display(), new = %new.db_path.display(),
                  "database path changes take effect at restart");
        }
        if new.daemon.listen != self.config.daemon.listen {
            warn!("daemon.listen changes take effect at restart");
        }
        let wanted = own_stores(&new);
        let client = match self
            .client
            .reloaded(http_settings(&new), |name| wanted.contains_key(name))
        {
            Ok(client) => client,
            Err(e) => return self.refuse_reload(&e),
        };
        let removed: BTreeSet<String> = self
            .planner
            .names()
            .into_iter()
            .filter(|name| !wanted.contains_key(name))
            .collect();
        for name in &removed {
            self.planner.remove(name);
            if let Err(e) = self.jobs.remove(name).await {
                error!(error = %e, "cannot remove a cron job");
            }
            if let Some(cancel) = self.running.get(name) {
                cancel.cancel();
            }
            let store = name.clone();
            if let Err(e) = self
                .writer
                .call(move |db| db.set_next_sync(&store, None))
                .await
            {
                warn!(store = %name, error = %e, "cannot clear the next sync time");
            }
            self.health.set_removed(name, true);
            info!(store = %name, "store removed from the schedule");
        }
        self.stop_moved_runs(&wanted);
        self.client = std::sync::Arc::new(client);
        self.planner.set_timing(timing(&new));
        self.stores = wanted;
        let db_path = std::mem::replace(&mut self.config, new).db_path;
        self.config.db_path = db_path;
        if let Err(e) = self.register_stores().await {
            error!(error = %e, "cannot register the reloaded stores");
        }
        self.start_alerts().await;
        events::config_reloaded(Reload::Applied {
            stores: self.stores.len(),
            removed: removed.len(),
        });
        self.report_status();
    }

    /// A reload that cannot be applied changes nothing: counted, logged, and said in the
    /// systemd status.
    fn refuse_reload(&self, e: &dyn std::fmt::Display) {
        events::config_reloaded(Reload::Refused(e));
        self.notifier
            .status(&format!("config reload refused, running config kept: {e}"));
    }

    /// A run's cursor belongs to its URL: a running store whose URL changes in `wanted` stops
    /// now, and its next run abandons that cursor and starts afresh on the new URL.
    fn stop_moved_runs(&self, wanted: &BTreeMap<String, StoreConfig>) {
        for (name, store) in wanted {
            let moved = self
                .stores
                .get(name)
                .is_some_and(|old| old.url != store.url);
            if let (true, Some(cancel)) = (moved, self.running.get(name)) {
                info!(store = %name, "store URL changed: stopping its run");
                cancel.cancel();
            }
        }
    }

    /// Stops: no more dispatching, running syncs are cancelled (finished pages stay committed,
    /// runs end `interrupted` with their cursor), and we wait for them up to the grace period.
    pub(super) async fn shutdown(&mut self, mut heartbeat: Interval) {
        let grace = self.config.daemon.grace;
        // Not ready from here on; set before STOPPING=1 so whoever hears that sees it.
        self.health
            .scheduling
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.notifier.stopping(&format!(
            "stopping: interrupting {} running syncs (grace {})",
            self.running.len(),
            humantime::format_duration(grace)
        ));
        info!(running = self.running.len(), "stopping");
        self.root.cancel();
        let deadline = Instant::now() + grace;
        let drained = tokio::time::timeout_at(deadline, async {
            while !self.running.is_empty() {
                tokio::select! {
                    Some(done) = self.done_rx.recv() => self.finished(done).await,
                    _ = heartbeat.tick() => self.beat(),
                }
            }
        })
        .await;
        if drained.is_err() {
            warn!(still_running = ?self.running.keys().collect::<Vec<_>>(),
                  "grace period over: exiting; their runs resume at the next start");
        }
        // Ticking through the grace period, so the heartbeat (and the watchdog) carry on.
        self.jobs.shutdown().await;
    }

    /// STATUS= line: what runs, and what comes next.
    pub(super) fn report_status(&self) {
        let mut running: Vec<&str> = self.running.keys().map(String::as_str).collect();
        running.sort_unstable();
        let next = self
            .planner
            .names()
            .into_iter()
            .filter(|n| !self.running.contains_key(n))
            .filter_map(|n| self.planner.next_of(&n).map(|at| (at, n)))
            .min();
        let next = next
            .map(|(at, n)| format!("next {n} at {}", at.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_else(|| "nothing planned".into());
        let status = if running.is_empty() {
            format!("idle, {} stores; {next}", self.stores.len())
        } else {
            format!("syncing {}; {next}", running.join(", "))
        };
        self.notifier.status(&status);
    }
}
