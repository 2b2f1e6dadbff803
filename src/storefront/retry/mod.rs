//! When and how long to retry: which failures count (transient ones only), capped exponential
//! backoff with full jitter, Retry-After in both forms (never retried sooner, a demand longer
//! than the cap opens the breaker instead), and the loop that runs attempts through the
//! store's breaker. Generic over the attempt so tests drive it with a paused clock.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::time::Instant;

use super::breaker::Breaker;
use super::error::ErrorKind;
use crate::telemetry::events;

/// Retry settings, from `http.max_attempts`, `http.backoff_base`, `http.backoff_cap` and
/// `http.max_retry_after`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest single wait (Retry-After or an open breaker) a request sits through.
    pub max_retry_after: Duration,
    /// The longest a request waits for an open breaker to cool down; zero (the daemon's
    /// choice) fails it at once, so the run ends and frees its slot for another store.
    pub max_breaker_wait: Duration,
}

impl RetryPolicy {
    /// The largest backoff before retry number `retry` (1-based): base * 2^(retry-1), capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        crate::backoff::capped_exponential(retry, self.base, self.cap)
    }

    /// Full jitter: a uniform draw between zero and the ceiling (`unit` in [0, 1)).
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Parses Retry-After: delta-seconds or an HTTP-date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    // HTTP-dates have whole seconds: round up so the wait is never shorter than asked.
    let left = date.duration_since(now).unwrap_or_default();
    Some(Duration::from_secs(
        left.as_secs() + u64::from(left.subsec_nanos() > 0),
    ))
}

/// One failed attempt: the classified error and the store's Retry-After, if it sent one.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub retry_after: Option<Duration>,
}

impl From<ErrorKind> for Failure {
    fn from(kind: ErrorKind) -> Self {
        Failure {
            kind,
            retry_after: None,
        }
    }
}

/// Retries and waiting of one store since the last `take`, for the run record.
#[derive(Debug, Default)]
pub struct RetryStats {
    retries: AtomicU64,
    wait_ms: AtomicU64,
}

impl RetryStats {
    fn add_wait(&self, wait: Duration) {
        self.wait_ms
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
    }

    /// Counts the time from now until the returned guard drops, also when the wait is
    /// abandoned half-way (a run interrupted during a Retry-After).
    fn waiting(&self) -> Waiting<'_> {
        Waiting {
            stats: self,
            started: Instant::now(),
        }
    }

    /// (retries, milliseconds waited) since the last call.
    pub fn take(&self) -> (u64, u64) {
        (
            self.retries.swap(0, Ordering::Relaxed),
            self.wait_ms.swap(0, Ordering::Relaxed),
        )
    }
}

/// A wait in progress; see [`RetryStats::waiting`].
struct Waiting<'a> {
    stats: &'a RetryStats,
    started: Instant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.stats.add_wait(self.started.elapsed());
    }
}

/// What an error says about the store's health.
enum Health {
    /// 429, 5xx, timeouts, broken connections: counts towards opening the breaker.
    Trouble,
    /// 430: the store blocks us; open the breaker now.
    Blocked,
    /// Any other answer: the store is up.
    Up,
}

fn health(kind: &ErrorKind) -> Health {
    match kind {
        ErrorKind::Connect(_) | ErrorKind::Timeout | ErrorKind::Dropped(_) => Health::Trouble,
        ErrorKind::Status { status, .. } if *status == 408 || *status == 429 => Health::Trouble,
        ErrorKind::Status { status, .. } if (500..=599).contains(status) => Health::Trouble,
        ErrorKind::Blocked => Health::Blocked,
        _ => Health::Up,
    }
}

/// Puts the breaker back to open-and-expired if a half-open probe is dropped unanswered
/// (a cancelled sync), so the next caller may probe instead of waiting forever.
struct ProbeGuard<'a>(&'a Breaker, bool);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.abandon_probe();
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the attempts run out, waiting between
/// tries and going through `breaker` before every one.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    breaker: &Breaker,
    store: &str,
    stats: &RetryStats,
    mut attempt: F,
) -> Result<T, ErrorKind>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut attempts = 0;
    loop {
        let waiting = stats.waiting();
        let admitted = breaker.admit(policy.max_breaker_wait).await;
        drop(waiting);
        if let Err(left) = admitted {
            return Err(ErrorKind::BreakerOpen {
                seconds: left.as_secs_f64().ceil() as u64,
            });
        }
        attempts += 1;
        let mut guard = ProbeGuard(breaker, false);
        let result = attempt().await;
        guard.1 = true;
        let failure = match result {
            Ok(value) => {
                breaker.record_success();
                return Ok(value);
            }
            Err(failure) => failure,
        };
        match health(&failure.kind) {
            Health::Trouble => {
                breaker.record_failure();
            }
            Health::Blocked => {
                breaker.open_for(Duration::ZERO);
                return Err(failure.kind);
            }
            Health::Up => breaker.record_success(),
        }
        if !failure.kind.is_transient() || attempts >= policy.max_attempts {
            return Err(failure.kind);
        }
        let backoff = policy.backoff(attempts, rand::rng().random::<f64>());
        let wait = match failure.retry_after {
            Some(asked) if asked > policy.max_retry_after => {
                events::retry_after_too_long(store, asked);
                breaker.open_for(asked);
                continue;
            }
            Some(asked) => asked.max(backoff),
            None => backoff,
        };
        stats.retries.fetch_add(1, Ordering::Relaxed);
        let retry_after = failure.retry_after.is_some();
        events::retrying(store, attempts, wait, retry_after, &failure.kind);
        let _waiting = stats.waiting();
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
