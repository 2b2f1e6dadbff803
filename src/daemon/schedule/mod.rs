//! When each store syncs: cron schedules (see config::Schedule), random
//! jitter, exponential backoff after failures, and the rule that one store never runs twice at
//! once. Pure bookkeeping driven by a `Clock`, so tests run it on tokio's paused clock; it
//! starts nothing and touches no database.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backoff::capped_exponential;
use crate::config::Schedule;
use crate::outcome::RunStatus;
use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::time::Instant;

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

#[derive(Debug)]
struct Entry {
    schedule: Schedule,
    next: Option<DateTime<Utc>>,
    failures: u32,
    running: bool,
}

/// Every store's next firing, failures and running flag.
#[derive(Debug)]
pub struct Planner {
    clock: Clock,
    timing: Timing,
    entries: BTreeMap<String, Entry>,
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

    /// Adds a store, or updates its schedule. A new store fires now when `due_now` (it has an
    /// unfinished run or was never synced), else at its next cron time plus jitter. A changed
    /// schedule replans a store that is not waiting out a failure. Returns the store's next
    /// planned time when it changed.
    pub fn upsert(
        &mut self,
        name: &str,
        schedule: &Schedule,
        due_now: bool,
    ) -> Option<Option<DateTime<Utc>>> {
        let now = self.now();
        if let Some(entry) = self.entries.get_mut(name) {
            if entry.schedule == *schedule {
                return None;
            }
            entry.schedule = schedule.clone();
            if entry.failures > 0 || entry.running {
                return None;
            }
            entry.next = next_firing(schedule, now, self.timing.jitter);
            return Some(entry.next);
        }
        let next = if due_now {
            Some(now)
        } else {
            next_firing(schedule, now, self.timing.jitter)
        };
        self.entries.insert(
            name.to_string(),
            Entry {
                schedule: schedule.clone(),
                next,
                failures: 0,
                running: false,
            },
        );
        Some(next)
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
        self.entries.get(name).and_then(|e| e.next)
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.entries.get(name).is_some_and(|e| e.running)
    }

    pub fn running(&self) -> usize {
        self.entries.values().filter(|e| e.running).count()
    }

    /// Stores whose time has come and that are not running; they are marked running.
    pub fn take_due(&mut self, limit: usize) -> Vec<String> {
        let now = self.now();
        let mut due: Vec<(DateTime<Utc>, &String)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.running)
            .filter_map(|(name, e)| e.next.filter(|next| *next <= now).map(|n| (n, name)))
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

    /// When the earliest store that is not running comes due.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| !e.running)
            .filter_map(|e| e.next)
            .min()
            .map(|at| self.clock.instant_at(at))
    }

    /// Moves a waiting store's next run to no earlier than `at` (an open breaker's end);
    /// returns its next planned time.
    pub fn hold_until(&mut self, name: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let entry = self.entries.get_mut(name)?;
        if !entry.running {
            entry.next = Some(entry.next.map_or(at, |next| next.max(at)));
        }
        entry.next
    }

    /// Records the end of a store's run and plans its next one: the next firing after a
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
        let entry = self.entries.get_mut(name)?;
        entry.running = false;
        entry.next = match status {
            RunStatus::Complete | RunStatus::Capped => {
                entry.failures = 0;
                next_firing(&entry.schedule, now, timing.jitter)
            }
            RunStatus::Failed => {
                entry.failures = entry.failures.saturating_add(1);
                let delay = capped_exponential(entry.failures, timing.retry_base, timing.retry_cap);
                Some(now + delay)
            }
            RunStatus::Interrupted | RunStatus::Abandoned => Some(now),
        };
        Some((entry.next, entry.failures))
    }

    /// Plans a store that was not run because another process was crawling it: again after
    /// the retry base delay, without counting a failure. None when the store was removed.
    pub fn skipped_busy(&mut self, name: &str) -> Option<(Option<DateTime<Utc>>, u32)> {
        let at = self.now() + self.timing.retry_base;
        let entry = self.entries.get_mut(name)?;
        entry.running = false;
        entry.next = Some(at);
        Some((entry.next, entry.failures))
    }
}

/// The next cron firing after `now`, delayed by a random jitter of at most `jitter`.
fn next_firing(schedule: &Schedule, now: DateTime<Utc>, jitter: Duration) -> Option<DateTime<Utc>> {
    let at = schedule.next_after(now)?;
    let max = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
    let delay = if max == 0 {
        0
    } else {
        rand::rng().random_range(0..=max)
    };
    Some(at + Duration::from_millis(delay))
}

#[cfg(test)]
mod tests;
