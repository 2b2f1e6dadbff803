//! When each store syncs: the daemon's rules on top of the cron clock. A store's cron plan
//! waits for its tokio-cron-scheduler job to fire (`jobs`), then for its random jitter;
//! backoff after failures, a busy store's retry, breaker holds and times restored from the
//! database run on the planner's own timer (the crate cannot fire at an arbitrary instant
//! without a job per retry). One store never runs twice at once. The planner is pure
//! bookkeeping driven by a `Clock`, so tests run it on tokio's paused clock and play the cron
//! job's part by calling `fired`; it starts nothing and touches no database.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backoff::capped_exponential;
use crate::config::Schedule;
use crate::outcome::RunStatus;
use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::time::Instant;

pub mod jobs;

/// Wall-clock time as the planner sees it.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// Wall time that moves with tokio's clock from an anchor, so paused-time tests control it.
    Anchored {
        instant: Instant,
        utc: DateTime<Utc>,
    },
}

impl Clock {
    /// A clock reading `utc` now and then advancing with tokio's (possibly paused) clock.
    pub fn anchored(utc: DateTime<Utc>) -> Clock {
        Clock::Anchored {
            instant: Instant::now(),
            utc,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Anchored { instant, utc } => *utc + Instant::now().duration_since(*instant),
        }
    }

    /// The tokio instant at which wall time `at` is reached (now if already past).
    pub fn instant_at(&self, at: DateTime<Utc>) -> Instant {
        Instant::now() + (at - self.now()).to_std().unwrap_or(Duration::ZERO)
    }
}

/// Jitter and retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Each scheduled firing is delayed by a random amount up to this.
    pub jitter: Duration,
    /// The first retry delay after a failure; it doubles with each further failure...
    pub retry_base: Duration,
    /// ...up to this cap. A store is never given up.
    pub retry_cap: Duration,
}

/// How a store's next run comes about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// On the store's cron job firing for `tick` (tokio-cron-scheduler is the clock), then
    /// after `jitter`.
    Cron {
        tick: DateTime<Utc>,
        jitter: Duration,
        fired: bool,
    },
    /// At this instant, on the planner's own timer: a retry after a failure or a busy store,
    /// an open breaker's end, now, or a time restored from the database.
    At(DateTime<Utc>),
    /// Never: the schedule does not fire again.
    Never,
}

impl Plan {
    /// The planned run time.
    fn next(&self) -> Option<DateTime<Utc>> {
        match *self {
            Plan::Cron { tick, jitter, .. } => Some(tick + jitter),
            Plan::At(at) => Some(at),
            Plan::Never => None,
        }
    }

    /// When the planner's timer must wake for it (an unfired cron plan waits for its job).
    fn wake(&self) -> Option<DateTime<Utc>> {
        match self {
            Plan::Cron { fired: false, .. } => None,
            plan => plan.next(),
        }
    }
}

/// A firing's tick may lie this far ahead of the planner's clock (the two clocks read the
/// system time a moment apart; ticks are whole seconds).
const FIRING_SLACK: chrono::Duration = chrono::Duration::seconds(1);

#[derive(Debug)]
struct Entry {
    schedule: Schedule,
    plan: Plan,
    failures: u32,
    running: bool,
}

/// Every store's plan, failures and running flag.
#[derive(Debug)]
pub struct Planner {
    clock: Clock,
    timing: Timing,
    entries: BTreeMap<String, Entry>,
}

/// What the daemon knows about a store it adds to the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Due now: it has an unfinished run to resume, or was never synced.
    Now,
    /// The run the database says is planned (`stores.next_sync_at`), if any.
    Planned(Option<DateTime<Utc>>),
}

impl Planner {
    pub fn new(clock: Clock, timing: Timing) -> Planner {
        Planner {
            clock,
            timing,
            entries: BTreeMap::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    fn cron_plan(&self, schedule: &Schedule, now: DateTime<Utc>) -> Plan {
        match schedule.next_after(now) {
            Some(tick) => Plan::Cron {
                tick,
                jitter: draw(self.timing.jitter),
                fired: false,
            },
            None => Plan::Never,
        }
    }

    /// Adds a store, or updates its schedule; returns the store's next planned time when it
    /// changed. A new store due now runs at once. A planned time from the database is kept
    /// (a restart neither runs the store early nor twice), or run at once when it passed
    /// while the daemon was down (nor skips it), unless it lies beyond the schedule's next
    /// firing (the schedule changed meanwhile). A changed schedule replans a store that is
    /// not running, not waiting out a failure and not already due.
    pub fn upsert(
        &mut self,
        name: &str,
        schedule: &Schedule,
        start: Start,
    ) -> Option<Option<DateTime<Utc>>> {
        let now = self.now();
        if let Some(entry) = self.entries.get(name) {
            if entry.schedule == *schedule {
                return None;
            }
            let keep = entry.failures > 0
                || entry.running
                || matches!(entry.plan, Plan::At(at) if at <= now);
            let plan = if keep {
                entry.plan
            } else {
                self.cron_plan(schedule, now)
            };
            let entry = self.entries.get_mut(name).expect("present");
            entry.schedule = schedule.clone();
            if keep {
                return None;
            }
            entry.plan = plan;
            return Some(plan.next());
        }
        let cron = self.cron_plan(schedule, now);
        let plan = match start {
            Start::Now => Plan::At(now),
            Start::Planned(Some(at)) if at <= now => Plan::At(now),
            Start::Planned(Some(at))
                if cron
                    .next()
                    .is_some_and(|next| at <= next + self.timing.jitter) =>
            {
                Plan::At(at)
            }
            Start::Planned(_) => cron,
        };
        self.entries.insert(
            name.to_string(),
            Entry {
                schedule: schedule.clone(),
                plan,
                failures: 0,
                running: false,
            },
        );
        Some(plan.next())
    }

    /// Forgets a store; true when it was running at the time.
    pub fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(name).is_some_and(|e| e.running)
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn next_of(&self, name: &str) -> Option<DateTime<Utc>> {
        self.entries.get(name).and_then(|e| e.plan.next())
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.entries.get(name).is_some_and(|e| e.running)
    }

    pub fn running(&self) -> usize {
        self.entries.values().filter(|e| e.running).count()
    }

    /// A store's cron job fired. It counts when the store waits for exactly that firing
    /// (its tick has come); a firing while the store runs, backs off, is held, or waits for a
    /// time of its own changes nothing, and so does one the schedule does not expect. True
    /// when it counted: the store is due after its jitter.
    pub fn fired(&mut self, name: &str) -> bool {
        let now = self.now();
        let Some(entry) = self.entries.get_mut(name) else {
            return false;
        };
        match &mut entry.plan {
            Plan::Cron { tick, fired, .. } if !entry.running && *tick <= now + FIRING_SLACK => {
                *fired = true;
                true
            }
            _ => false,
        }
    }

    /// Stores whose time has come and that are not running; they are marked running.
    pub fn take_due(&mut self, limit: usize) -> Vec<String> {
        let now = self.now();
        let mut due: Vec<(DateTime<Utc>, &String)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.running)
            .filter_map(|(name, e)| e.plan.wake().filter(|at| *at <= now).map(|at| (at, name)))
            .collect();
        due.sort();
        let names: Vec<String> = due
            .into_iter()
            .take(limit)
            .map(|(_, n)| n.clone())
            .collect();
        for name in &names {
            if let Some(entry) = self.entries.get_mut(name) {
                entry.running = true;
            }
        }
        names
    }

    /// When the earliest store that is not running comes due on the planner's timer.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| !e.running)
            .filter_map(|e| e.plan.wake())
            .min()
            .map(|at| self.clock.instant_at(at))
    }

    /// Moves a waiting store's next run to no earlier than `at` (an open breaker's end);
    /// returns its next planned time.
    pub fn hold_until(&mut self, name: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let entry = self.entries.get_mut(name)?;
        if !entry.running {
            entry.plan = Plan::At(entry.plan.next().map_or(at, |next| next.max(at)));
        }
        entry.plan.next()
    }

    /// Records the end of a store's run and plans its next one: its next cron firing after a
    /// finished run, a backoff after a failure, at once after an interruption (it resumes).
    /// None when the store was removed meanwhile; otherwise the next planned time (None if its
    /// cron never fires) and the failures in a row.
    pub fn finished(
        &mut self,
        name: &str,
        status: RunStatus,
    ) -> Option<(Option<DateTime<Utc>>, u32)> {
        let now = self.now();
        let timing = self.timing;
        let schedule = self.entries.get(name)?.schedule.clone();
        let cron = self.cron_plan(&schedule, now);
        let entry = self.entries.get_mut(name)?;
        entry.running = false;
        entry.plan = match status {
            RunStatus::Complete | RunStatus::Capped => {
                entry.failures = 0;
                cron
            }
            RunStatus::Failed => {
                entry.failures = entry.failures.saturating_add(1);
                let delay = capped_exponential(entry.failures, timing.retry_base, timing.retry_cap);
                Plan::At(now + delay)
            }
            RunStatus::Interrupted | RunStatus::Abandoned => Plan::At(now),
        };
        Some((entry.plan.next(), entry.failures))
    }

    /// Plans a store that was not run because another process was crawling it: again after
    /// the retry base delay, without counting a failure. None when the store was removed.
    pub fn skipped_busy(&mut self, name: &str) -> Option<(Option<DateTime<Utc>>, u32)> {
        let at = self.now() + self.timing.retry_base;
        let entry = self.entries.get_mut(name)?;
        entry.running = false;
        entry.plan = Plan::At(at);
        Some((entry.plan.next(), entry.failures))
    }
}

/// A random jitter of at most `jitter`.
fn draw(jitter: Duration) -> Duration {
    let max = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
    if max == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::rng().random_range(0..=max))
}

#[cfg(test)]
mod tests;
