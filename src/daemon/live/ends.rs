//! The live loop's reactions: a run ended (metrics, readiness, next plan, held back by an open
//! breaker), a reload (stores, schedules and URLs added, removed or changed, breakers kept; an
//! invalid config keeps the old one), and the graceful stop.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use tokio::time::{Instant, Interval};
use tracing::{error, info, warn};

use super::{http_settings, own_stores, tick, timing, unix, when, Ended, Finished, Live};
use crate::config::{Config, StoreConfig};
use crate::daemon::schedule::RunResult;

impl Live {
    /// A run ended: emit its metrics, plan the store's next run and record it.
    pub(super) async fn finished(&mut self, done: Finished) {
        let Finished {
            store,
            ended,
            elapsed,
        } = done;
        self.running.remove(&store);
        metrics::gauge!("shopmirror_running_syncs").set(self.running.len() as f64);
        let (result, status) = match &ended {
            Ended::Done(counts) => (RunResult::Succeeded, counts.status.clone()),
            Ended::Interrupted => (RunResult::Interrupted, "interrupted".to_string()),
            Ended::Busy(_) => (RunResult::Busy, String::new()),
            Ended::Failed(..) => (RunResult::Failed, "failed".to_string()),
        };
        // Readiness follows the database: lost on a storage failure, back once a run gets
        // through it (any end other than a storage failure recorded itself).
        let storage_failed = matches!(ended, Ended::Failed(_, true));
        self.health
            .db_open
            .store(!storage_failed, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        // A store skipped because another process crawls it did not run: no run metrics.
        let ran = !matches!(ended, Ended::Busy(_));
        if ran {
            metrics::counter!("shopmirror_runs_total", "store" => store.clone(), "status" => status.clone())
            .increment(1);
            metrics::histogram!("shopmirror_run_duration_seconds", "store" => store.clone())
                .record(seconds);
        }
        match &ended {
            Ended::Done(_) => {
                metrics::gauge!("shopmirror_last_success_timestamp_seconds", "store" => store.clone())
                    .set(unix(Utc::now()));
                info!(store = %store, status = %status, seconds, "run ended");
            }
            Ended::Interrupted => info!(store = %store, seconds, "run interrupted"),
            Ended::Busy(pid) => {
                metrics::counter!("shopmirror_skipped_busy_total", "store" => store.clone())
                    .increment(1);
                info!(store = %store, holder = %crate::lock::describe(*pid),
                                      "store is being synced by another process; skipped")
            }
            Ended::Failed(e, true) => {
                error!(store = %store, seconds, error = %e, "run failed: the database failed")
            }
            Ended::Failed(e, false) => warn!(store = %store, seconds, error = %e, "run failed"),
        }
        let finished = self.planner.finished(&store, result);
        let held = match self.client.breaker_open_left(&store) {
            Some(left) if result == RunResult::Failed => {
                let until = self.planner.now() + left;
                info!(store = %store, until = %when(Some(until)),
                      "circuit breaker open: the next attempt waits for it");
                self.planner.hold_until(&store, until)
            }
            _ => None,
        };
        if let Some((next, failures)) = finished {
            let next = held.or(next);
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

    /// Writes a store's next planned sync to the database and its gauge.
    pub(super) async fn record_next(&mut self, store: &str, next: Option<DateTime<Utc>>) {
        if let Some(at) = next {
            metrics::gauge!("shopmirror_next_sync_timestamp_seconds", "store" => store.to_string())
                .set(unix(at));
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
            Err(e) => {
                error!(error = %e, "config reload refused; the running config stays");
                metrics::counter!("shopmirror_config_reloads_total", "result" => "invalid")
                    .increment(1);
                self.notifier
                    .status(&format!("config reload refused, running config kept: {e}"));
                return;
            }
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
            Err(e) => {
                error!(error = %e, "config reload refused; the running config stays");
                return;
            }
        };
        let removed: BTreeSet<String> = self
            .planner
            .names()
            .into_iter()
            .filter(|name| !wanted.contains_key(name))
            .collect();
        for name in &removed {
            self.planner.remove(name);
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
        metrics::counter!("shopmirror_config_reloads_total", "result" => "applied").increment(1);
        info!(
            stores = self.stores.len(),
            removed = removed.len(),
            "config reloaded"
        );
        self.report_status();
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
    pub(super) async fn shutdown(&mut self, mut watchdog: Option<Interval>) {
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
                    _ = tick(&mut watchdog) => self.notifier.watchdog(),
                }
            }
        })
        .await;
        if drained.is_err() {
            warn!(still_running = ?self.running.keys().collect::<Vec<_>>(),
                  "grace period over: exiting; their runs resume at the next start");
        }
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
