//! The circuit breaker of one store: consecutive 429s, 5xx answers, timeouts and connection
//! failures open it; while it is open no request goes to the store at all (lockouts such as
//! Cloudflare's last as long as a client keeps polling, so silence is the cure); after the
//! cool-down a single half-open probe decides between closing it and another cool-down.
//! Time is tokio's, so tests drive it with a paused clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The breaker state as recorded in the database and exported as a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    /// `shopmirror_breaker_open`: 1 open, 0.5 half-open, 0 closed.
    fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 0.5,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is in flight; everyone else waits for its verdict.
    HalfOpen,
}

/// One store's breaker.
#[derive(Debug)]
pub struct Breaker {
    store: String,
    /// (threshold, cool-down): changed by a config reload, the state stays.
    limits: Mutex<(u32, Duration)>,
    state: Mutex<State>,
    changed: Notify,
}

impl Breaker {
    /// Opens after `threshold` consecutive failures, for at least `cooldown`.
    pub fn new(store: &str, threshold: u32, cooldown: Duration) -> Breaker {
        let breaker = Breaker {
            store: store.to_string(),
            limits: Mutex::new((threshold.max(1), cooldown)),
            state: Mutex::new(State::Closed { failures: 0 }),
            changed: Notify::new(),
        };
        breaker.publish(BreakerState::Closed);
        breaker
    }

    /// New limits from a reloaded config; an open breaker stays open until its time.
    pub fn set_limits(&self, threshold: u32, cooldown: Duration) {
        *self.limits.lock().expect("breaker lock") = (threshold.max(1), cooldown);
    }

    fn limits(&self) -> (u32, Duration) {
        *self.limits.lock().expect("breaker lock")
    }

    /// How long the breaker stays open from now; None when it is not open (or its time is up).
    pub fn open_left(&self) -> Option<Duration> {
        match *self.state.lock().expect("breaker lock") {
            State::Open { until } if until > Instant::now() => Some(until - Instant::now()),
            _ => None,
        }
    }

    pub fn state(&self) -> BreakerState {
        match *self.state.lock().expect("breaker lock") {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Waits until a request may go. Returns how long it waited, or, when the breaker stays
    /// open longer than `max_wait` from now, the time left without waiting at all.
    pub async fn admit(&self, max_wait: Duration) -> Result<Duration, Duration> {
        let started = Instant::now();
        loop {
            let notified = self.changed.notified();
            let until = {
                let mut state = self.state.lock().expect("breaker lock");
                match *state {
                    State::Closed { .. } => return Ok(started.elapsed()),
                    State::Open { until } if until <= Instant::now() => {
                        *state = State::HalfOpen;
                        drop(state);
                        self.publish(BreakerState::HalfOpen);
                        return Ok(started.elapsed());
                    }
                    State::Open { until } => Some(until),
                    State::HalfOpen => None,
                }
            };
            match until {
                Some(until) => {
                    let left = until - Instant::now();
                    if left > max_wait.saturating_sub(started.elapsed()) {
                        return Err(left);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A request got an answer that shows the store is healthy (or at least not overloaded).
    pub fn record_success(&self) {
        let mut state = self.state.lock().expect("breaker lock");
        let was = matches!(*state, State::Closed { failures: 0 });
        *state = State::Closed { failures: 0 };
        drop(state);
        if !was {
            self.publish(BreakerState::Closed);
            self.changed.notify_waiters();
        }
    }

    /// A 429, 5xx, timeout or connection failure. Returns true if this opened the breaker.
    pub fn record_failure(&self) -> bool {
        let (threshold, cooldown) = self.limits();
        let mut state = self.state.lock().expect("breaker lock");
        let open = match *state {
            State::Closed { failures } if failures + 1 < threshold => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::Open { .. } => false,
            State::Closed { .. } | State::HalfOpen => true,
        };
        drop(state);
        if open {
            self.open_for(cooldown);
        }
        open
    }

    /// Opens the breaker for `hold` (at least the cool-down): a long Retry-After or a block.
    pub fn open_for(&self, hold: Duration) {
        let until = Instant::now() + hold.max(self.limits().1);
        let mut state = self.state.lock().expect("breaker lock");
        let until = match *state {
            State::Open { until: old } => old.max(until),
            _ => until,
        };
        *state = State::Open { until };
        drop(state);
        tracing::warn!(store = %self.store, seconds = (until - Instant::now()).as_secs(),
                       "circuit breaker open: no requests to this store until it cools down");
        self.publish(BreakerState::Open);
        self.changed.notify_waiters();
    }

    /// A half-open probe was dropped before its answer: the next caller may probe.
    pub fn abandon_probe(&self) {
        let mut state = self.state.lock().expect("breaker lock");
        if matches!(*state, State::HalfOpen) {
            *state = State::Open {
                until: Instant::now(),
            };
            drop(state);
            self.changed.notify_waiters();
        }
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!("shopmirror_breaker_open", "store" => self.store.clone())
            .set(state.gauge());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(100);
    const LONG: Duration = Duration::from_secs(1000);

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_only() {
        let breaker = Breaker::new("s", 3, COOL);
        assert!(!breaker.record_failure());
        assert!(!breaker.record_failure());
        breaker.record_success();
        assert!(!breaker.record_failure());
        assert!(!breaker.record_failure());
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.record_failure());
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn open_breaker_waits_out_the_cooldown_then_probes_once() {
        let breaker = Breaker::new("s", 1, COOL);
        breaker.record_failure();
        let start = Instant::now();
        assert_eq!(breaker.admit(LONG).await, Ok(COOL));
        assert_eq!(start.elapsed(), COOL);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        // A second caller waits for the probe's verdict instead of sending its own request.
        let second = breaker.admit(LONG);
        tokio::pin!(second);
        assert!(tokio::time::timeout(Duration::from_secs(5), &mut second)
            .await
            .is_err());
        breaker.record_success();
        assert!(second.await.is_ok());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_for_a_full_cooldown() {
        let breaker = Breaker::new("s", 1, COOL);
        breaker.record_failure();
        breaker.admit(LONG).await.unwrap();
        assert!(breaker.record_failure());
        let start = Instant::now();
        breaker.admit(LONG).await.unwrap();
        assert_eq!(start.elapsed(), COOL);
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_without_waiting_when_open_longer_than_allowed() {
        let breaker = Breaker::new("s", 5, COOL);
        breaker.open_for(Duration::from_secs(3600));
        let start = Instant::now();
        assert_eq!(breaker.admit(LONG).await, Err(Duration::from_secs(3600)));
        assert_eq!(start.elapsed(), Duration::ZERO);
        // A shorter demand never shortens an open breaker; the cool-down is the minimum.
        breaker.open_for(Duration::from_secs(1));
        assert!(breaker.admit(LONG).await.is_err());
        let fresh = Breaker::new("t", 5, COOL);
        fresh.open_for(Duration::from_secs(1));
        assert_eq!(fresh.admit(LONG).await, Ok(COOL));
    }
}
