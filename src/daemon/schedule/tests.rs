//! Scheduling and backoff on tokio's paused clock.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::time::{advance, sleep_until, Instant};

use super::*;

const H: Duration = Duration::from_secs(3600);

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap()
}

fn timing(jitter: Duration) -> Timing {
    Timing {
        jitter,
        retry_base: Duration::from_secs(60),
        retry_cap: 6 * H,
    }
}

fn every_6h() -> Schedule {
    Schedule::parse("0 0 */6 * * *").unwrap()
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let (base, cap) = (Duration::from_secs(60), 6 * H);
    let delays: Vec<u64> = (1..=11)
        .map(|n| capped_exponential(n, base, cap).as_secs())
        .collect();
    assert_eq!(
        delays,
        [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]
    );
    assert_eq!(capped_exponential(u32::MAX, base, cap), cap);
}

#[tokio::test(start_paused = true)]
async fn fires_on_cron_and_never_twice_at_once() {
    let mut p = Planner::new(Clock::anchored(at(1, 0, 0)), timing(Duration::ZERO));
    assert_eq!(p.upsert("a", &every_6h(), false), Some(Some(at(6, 0, 0))));
    assert!(p.take_due(10).is_empty());
    assert_eq!(p.next_wakeup(), Some(Instant::now() + 5 * H));
    advance(5 * H - Duration::from_secs(1)).await;
    assert!(p.take_due(10).is_empty());
    advance(Duration::from_secs(1)).await;
    assert_eq!(p.take_due(10), ["a"]);
    // Still running at its next firing time: not dispatched again, and no wake-up for it.
    advance(7 * H).await;
    assert!(p.take_due(10).is_empty());
    assert!(p.is_running("a"));
    assert_eq!(p.next_wakeup(), None);
    assert_eq!(
        p.finished("a", RunStatus::Complete),
        Some((Some(at(18, 0, 0)), 0))
    );
    assert!(!p.is_running("a"));
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_are_never_given_up() {
    let mut p = Planner::new(Clock::anchored(at(0, 0, 0)), timing(Duration::ZERO));
    p.upsert("a", &every_6h(), true);
    let mut gaps = Vec::new();
    let mut last = Instant::now();
    for _ in 0..14 {
        sleep_until(p.next_wakeup().expect("always planned")).await;
        assert_eq!(p.take_due(10), ["a"]);
        gaps.push(Instant::now().duration_since(last).as_secs());
        last = Instant::now();
        p.finished("a", RunStatus::Failed);
    }
    assert_eq!(
        gaps,
        [0, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600, 21600]
    );
    // One success resets the backoff: back to the cron schedule.
    sleep_until(p.next_wakeup().unwrap()).await;
    assert_eq!(p.take_due(10), ["a"]);
    let now = p.now();
    let (next, failures) = p.finished("a", RunStatus::Complete).unwrap();
    assert_eq!(failures, 0);
    assert_eq!(next, every_6h().next_after(now));
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_stores_within_its_bound() {
    let jitter = Duration::from_secs(600);
    let mut p = Planner::new(Clock::anchored(at(1, 0, 0)), timing(jitter));
    let mut planned = Vec::new();
    for i in 0..50 {
        let next = p
            .upsert(&format!("s{i}"), &every_6h(), false)
            .unwrap()
            .unwrap();
        assert!(next >= at(6, 0, 0) && next <= at(6, 10, 0), "{next}");
        planned.push(next);
    }
    planned.sort();
    planned.dedup();
    assert!(
        planned.len() > 40,
        "jitter should spread stores: {planned:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn due_now_limit_removal_and_schedule_change() {
    let mut p = Planner::new(Clock::anchored(at(1, 0, 0)), timing(Duration::ZERO));
    p.upsert("resume", &every_6h(), true);
    p.upsert("new", &every_6h(), true);
    p.upsert("later", &every_6h(), false);
    // At most `limit` at once; the rest wait for a free slot.
    assert_eq!(p.take_due(1).len(), 1);
    assert_eq!(p.take_due(5).len(), 1);
    assert_eq!(p.running(), 2);
    // Removing a running store: its end is ignored.
    assert!(p.remove("new"));
    assert_eq!(p.finished("new", RunStatus::Complete), None);
    // A changed schedule replans an idle store; the same schedule changes nothing.
    let hourly = Schedule::parse("0 0 * * * *").unwrap();
    assert_eq!(p.upsert("later", &hourly, false), Some(Some(at(2, 0, 0))));
    assert_eq!(p.upsert("later", &hourly, true), None);
    // Interrupted runs are due again at once.
    assert_eq!(
        p.finished("resume", RunStatus::Interrupted),
        Some((Some(at(1, 0, 0)), 0))
    );
    assert_eq!(p.names(), ["later", "resume"]);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_holds_a_failed_store_past_its_backoff() {
    let mut planner = Planner::new(Clock::anchored(at(0, 0, 0)), timing(Duration::ZERO));
    planner.upsert("s", &every_6h(), true);
    assert_eq!(planner.take_due(1), ["s"]);
    let (backoff, _) = planner.finished("s", RunStatus::Failed).unwrap();
    assert_eq!(backoff, Some(at(0, 1, 0)));
    // The breaker ends after the backoff: the later one wins, and a shorter hold changes nothing.
    assert_eq!(planner.hold_until("s", at(0, 2, 0)), Some(at(0, 2, 0)));
    assert_eq!(planner.hold_until("s", at(0, 0, 30)), Some(at(0, 2, 0)));
    advance(Duration::from_secs(90)).await;
    assert!(planner.take_due(1).is_empty());
    advance(Duration::from_secs(30)).await;
    assert_eq!(planner.take_due(1), ["s"]);
}

#[tokio::test(start_paused = true)]
async fn a_store_skipped_busy_is_retried_after_the_base_delay_without_a_failure() {
    let mut p = Planner::new(Clock::anchored(at(0, 0, 0)), timing(Duration::ZERO));
    p.upsert("s", &every_6h(), true);
    assert_eq!(p.take_due(1), ["s"]);
    assert_eq!(
        p.finished("s", RunStatus::Failed),
        Some((Some(at(0, 1, 0)), 1))
    );
    advance(Duration::from_secs(60)).await;
    assert_eq!(p.take_due(1), ["s"]);
    // Busy is not a run: the failure count stays as it was, and the retry is one base delay.
    assert_eq!(p.skipped_busy("s"), Some((Some(at(0, 2, 0)), 1)));
    assert!(!p.is_running("s"));
    assert_eq!(p.skipped_busy("gone"), None);
}
