//! Politeness towards each host: at most `per_host` requests in flight (one by default), and a
//! pause between one answer and the next request of at least the minimum delay, stretched by
//! jitter and by an adaptive factor that grows quickly on 429s and slow answers and shrinks
//! slowly on healthy ones. A zero minimum delay turns the pauses off (tests, benchmarks).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Pacing settings, from `http.min_delay`, `http.max_delay`, `http.slow_response` and
/// `http.per_host_concurrency`.
#[derive(Debug, Clone)]
pub struct PacingSettings {
    pub min_delay: Duration,
    /// The ceiling of the adaptive delay.
    pub max_delay: Duration,
    /// An answer slower than this stretches the delay.
    pub slow_response: Duration,
    pub per_host: usize,
}

/// How an answer went, for the adaptive delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// 429 (or a lockout): back off hard.
    Throttled,
    /// Anything else; slow answers are told apart by their duration.
    Answered,
}

struct HostPace {
    permits: Arc<Semaphore>,
    /// (earliest start of the next request, current delay)
    slot: Mutex<(Instant, Duration)>,
}

/// Pacing state of every host this process talks to.
pub struct Pacer {
    settings: PacingSettings,
    hosts: Mutex<HashMap<String, Arc<HostPace>>>,
}

/// The right to send one request to a host; dropping it (or `finish`) frees the slot.
pub struct Turn {
    host: Arc<HostPace>,
    settings: PacingSettings,
    started: Instant,
    pace: Pace,
    _permit: OwnedSemaphorePermit,
}

impl Pacer {
    pub fn new(settings: PacingSettings) -> Pacer {
        Pacer {
            settings,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a free request slot on `host` and for its pause to pass.
    pub async fn turn(&self, host: &str) -> Turn {
        let pace = {
            let mut hosts = self.hosts.lock().expect("pacer lock");
            let per_host = self.settings.per_host.max(1);
            let min_delay = self.settings.min_delay;
            hosts
                .entry(host.to_string())
                .or_insert_with(|| {
                    Arc::new(HostPace {
                        permits: Arc::new(Semaphore::new(per_host)),
                        slot: Mutex::new((Instant::now(), min_delay)),
                    })
                })
                .clone()
        };
        let permit = pace
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("pacing semaphore is never closed");
        if !self.settings.min_delay.is_zero() {
            let start = pace.slot.lock().expect("pacer lock").0;
            tokio::time::sleep_until(start).await;
        }
        Turn {
            host: pace,
            settings: self.settings.clone(),
            started: Instant::now(),
            pace: Pace::Answered,
            _permit: permit,
        }
    }

    /// The current adaptive delay of `host` (before jitter).
    #[cfg(test)]
    pub fn delay(&self, host: &str) -> Option<Duration> {
        let hosts = self.hosts.lock().expect("pacer lock");
        hosts
            .get(host)
            .map(|h| h.slot.lock().expect("pacer lock").1)
    }
}

impl Turn {
    /// Times the answer from now: what was waited for after the turn came is not the host's.
    pub fn restart_clock(&mut self) {
        self.started = Instant::now();
    }

    /// Records how the answer went; the next request's pause follows from it.
    pub fn finish(mut self, pace: Pace) {
        self.pace = pace;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let s = &self.settings;
        if s.min_delay.is_zero() {
            return;
        }
        let mut slot = self.host.slot.lock().expect("pacer lock");
        let delay = slot.1;
        let delay = if self.pace == Pace::Throttled {
            (delay * 2).max(s.min_delay * 4)
        } else if self.started.elapsed() > s.slow_response {
            delay.mul_f64(1.5)
        } else {
            delay.mul_f64(0.9)
        };
        let delay = delay.clamp(s.min_delay, s.max_delay.max(s.min_delay));
        let jitter = rand::rng().random_range(1.0..1.5);
        *slot = (Instant::now() + delay.mul_f64(jitter), delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(min_ms: u64) -> Pacer {
        Pacer::new(PacingSettings {
            min_delay: Duration::from_millis(min_ms),
            max_delay: Duration::from_secs(60),
            slow_response: Duration::from_secs(5),
            per_host: 1,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn pause_between_requests_is_the_delay_plus_jitter() {
        let pacer = pacer(1000);
        pacer.turn("h").await.finish(Pace::Answered);
        for _ in 0..20 {
            let start = Instant::now();
            pacer.turn("h").await.finish(Pace::Answered);
            let gap = start.elapsed();
            assert!(gap >= Duration::from_secs(1), "{gap:?}");
            // Jitter is below 1.5, but the paused clock wakes timers on whole milliseconds.
            assert!(gap <= Duration::from_millis(1500), "{gap:?}");
        }
        // Another host is not held up by the first.
        let start = Instant::now();
        drop(pacer.turn("other").await);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn delay_grows_fast_on_throttling_and_shrinks_slowly() {
        let pacer = pacer(1000);
        for _ in 0..3 {
            pacer.turn("h").await.finish(Pace::Throttled);
        }
        assert_eq!(pacer.delay("h"), Some(Duration::from_secs(16)));
        pacer.turn("h").await.finish(Pace::Answered);
        let after_one = pacer.delay("h").unwrap();
        assert!(after_one > Duration::from_secs(14), "{after_one:?}");
        for _ in 0..100 {
            pacer.turn("h").await.finish(Pace::Answered);
        }
        assert_eq!(pacer.delay("h"), Some(Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn slow_answers_stretch_the_delay() {
        let pacer = pacer(1000);
        let turn = pacer.turn("h").await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        turn.finish(Pace::Answered);
        assert_eq!(pacer.delay("h"), Some(Duration::from_millis(1500)));
    }

    #[tokio::test(start_paused = true)]
    async fn one_request_at_a_time_per_host() {
        let pacer = pacer(0);
        let first = pacer.turn("h").await;
        let second = pacer.turn("h");
        tokio::pin!(second);
        assert!(tokio::time::timeout(Duration::from_secs(1), &mut second)
            .await
            .is_err());
        drop(first);
        let start = Instant::now();
        drop(second.await);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "no pause when min_delay is 0"
        );
    }
}
