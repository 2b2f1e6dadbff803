//! The daemon's cron clock: one tokio-cron-scheduler job per store, on the store's schedule in
//! its time zone, added, replaced and removed as stores come and go; each firing sends the
//! store's name to the live loop, whose planner decides what it means. One more job, every
//! second, stamps when the crate's tick loop last ran, so the daemon's heartbeat can tell
//! whether the clock itself still ticks.
//!
//! tokio-cron-scheduler 0.15 computes a job's first tick in the job's zone but every later
//! tick at the UTC offset the zone had when the job was created, so after a daylight-saving
//! change its ticks are an hour off. `rearm` re-creates a job whose next firing falls at
//! another offset than the one its job was created with; a new job's first tick is right.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;
use tokio_cron_scheduler::job::JobId;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tracing::debug;

use crate::config::Schedule;

/// The cron scheduler refused something.
#[derive(Debug, thiserror::Error)]
#[error("cron scheduler: cannot {what} (store {store}): {source}")]
pub struct Error {
    what: &'static str,
    store: String,
    #[source]
    source: JobSchedulerError,
}

/// One store's job: its id, the schedule it was made from, and the zone's UTC offset (seconds
/// east) when it was created, which the crate keeps for every tick after the first.
struct StoreJob {
    id: JobId,
    schedule: Schedule,
    offset: i32,
}

/// The running scheduler and every store's job.
pub struct CronJobs {
    scheduler: JobScheduler,
    jobs: BTreeMap<String, StoreJob>,
    fired: UnboundedSender<String>,
    /// When the crate last ran the every-second stamp job.
    ticked: Arc<Mutex<Instant>>,
}

impl CronJobs {
    /// Starts the scheduler's tick loop; firings go to `fired`.
    pub async fn start(fired: UnboundedSender<String>) -> Result<CronJobs, Error> {
        let fail = |what| {
            move |source| Error {
                what,
                store: "-".into(),
                source,
            }
        };
        let scheduler = JobScheduler::new().await.map_err(fail("create"))?;
        let ticked = Arc::new(Mutex::new(Instant::now()));
        let stamp = ticked.clone();
        let job = Job::new_repeated(Duration::from_secs(1), move |_, _| {
            *stamp.lock().expect("tick stamp") = Instant::now();
        })
        .map_err(fail("make the tick job"))?;
        scheduler.add(job).await.map_err(fail("add the tick job"))?;
        scheduler.start().await.map_err(fail("start"))?;
        Ok(CronJobs {
            scheduler,
            jobs: BTreeMap::new(),
            fired,
            ticked,
        })
    }

    /// When the crate's tick loop last ran (its stamp job fires every second).
    pub fn last_tick(&self) -> Instant {
        *self.ticked.lock().expect("tick stamp")
    }

    /// Whether the crate's tick loop ran within `bound`.
    pub fn ticking_within(&self, bound: Duration) -> bool {
        self.last_tick().elapsed() <= bound
    }

    /// Gives `store` a job on `schedule`, replacing one on another schedule; true when it
    /// added or replaced one.
    pub async fn set(&mut self, store: &str, schedule: &Schedule) -> Result<bool, Error> {
        if self
            .jobs
            .get(store)
            .is_some_and(|j| j.schedule == *schedule)
        {
            return Ok(false);
        }
        self.remove(store).await?;
        let fail = |what| {
            move |source| Error {
                what,
                store: store.to_string(),
                source,
            }
        };
        let (tx, name) = (self.fired.clone(), store.to_string());
        let job = Job::new_async_tz(schedule.six_fields(), schedule.zone(), move |_, _| {
            let (tx, name) = (tx.clone(), name.clone());
            Box::pin(async move {
                let _ = tx.send(name);
            })
        })
        .map_err(fail("make a job"))?;
        let offset = schedule.offset_at(Utc::now());
        let id = self.scheduler.add(job).await.map_err(fail("add a job"))?;
        let schedule = schedule.clone();
        debug!(store, job = %id, schedule = schedule.six_fields(), zone = %schedule.zone(),
               "cron job set");
        self.jobs.insert(
            store.to_string(),
            StoreJob {
                id,
                schedule,
                offset,
            },
        );
        Ok(true)
    }

    /// Removes `store`'s job, if it has one.
    pub async fn remove(&mut self, store: &str) -> Result<(), Error> {
        let Some(job) = self.jobs.remove(store) else {
            return Ok(());
        };
        self.scheduler
            .remove(&job.id)
            .await
            .map_err(|source| Error {
                what: "remove a job",
                store: store.to_string(),
                source,
            })
    }

    /// After a firing of `store`'s job at `now`: re-creates the job when its next firing
    /// falls at another UTC offset than the one the crate keeps for it. True when it did.
    pub async fn rearm(&mut self, store: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let Some(job) = self.jobs.get(store) else {
            return Ok(false);
        };
        if !needs_rearm(&job.schedule, job.offset, now) {
            return Ok(false);
        }
        let schedule = job.schedule.clone();
        self.remove(store).await?;
        self.set(store, &schedule).await
    }

    /// The stores that have a job.
    pub fn stores(&self) -> Vec<String> {
        self.jobs.keys().cloned().collect()
    }

    /// Stops the tick loop.
    pub async fn shutdown(&mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            debug!(error = %e, "cron scheduler shutdown");
        }
    }
}

/// Whether a job created at UTC offset `offset` would compute the firing after `now` at the
/// wrong offset.
fn needs_rearm(schedule: &Schedule, offset: i32, now: DateTime<Utc>) -> bool {
    schedule
        .next_after(now)
        .is_some_and(|next| schedule.offset_at(next) != offset)
}

#[cfg(test)]
mod tests;
