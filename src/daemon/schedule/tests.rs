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

/// A store never synced by this planner with nothing planned in the database.
const NEVER: Start = Start::Planned(None);

fn every_6h() -> Schedule {
    Schedule::parse("0 0 */6 * * *", chrono_tz::UTC).unwrap()
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
async fn fires_on_its_cron_job_and_never_twice_at_once() {
    let mut p = Planner::new(Clock::anchored(at(1, 0, 0)), timing(Duration::ZERO));
    assert_eq!(p.upsert("a", &every_6h(), NEVER), Some(Some(at(6, 0, 0))));
    assert!(p.take_due(10).is_empty());
    // The cron job wakes the loop, not the planner's timer.
    assert_eq!(p.next_wakeup(), None);
    advance(5 * H - Duration::from_secs(60)).await;
    // A firing before the planned tick (one the schedule does not expect) changes nothing.
    assert!(!p.fired("a"));
    assert!(p.take_due(10).is_empty());
    advance(Duration::from_secs(60)).await;
    assert!(p.take_due(10).is_empty(), "due only once the job fired");
    assert!(p.fired("a"));
    assert_eq!(p.take_due(10), ["a"]);
    // Still running at its next firing time: the firing is ignored, nothing is due.
    advance(7 * H).await;
    assert!(!p.fired("a"));
    assert!(p.take_due(10).is_empty());
    assert!(p.is_running("a"));
    assert_eq!(p.next_wakeup(), None);
    assert_eq!(
        p.finished("a", RunStatus::Complete),
        Some((Some(at(18, 0, 0)), 0))
    );
    assert!(!p.is_running("a"));
    assert!(!p.fired("unknown"));
}

#[tokio::test(start_paused = true)]
async fn jitter_runs_after_the_firing_on_the_planners_timer() {
    let jitter = Duration::from_secs(600);
    let mut p = Planner::new(Clock::anchored(at(5, 0, 0)), timing(jitter));
    let next = p.upsert("a", &every_6h(), NEVER).unwrap().unwrap();
    let delay = (next - at(6, 0, 0)).to_std().unwrap();
    assert!(delay <= jitter);
    advance(H).await;
    assert!(p.fired("a"));
    assert_eq!(p.next_wakeup(), Some(Instant::now() + delay));
    advance(delay).await;
    assert_eq!(p.take_due(1), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_the_planned_time_neither_early_nor_skipped_nor_twice() {
    let clock = Clock::anchored(at(5, 0, 0));
    let mut p = Planner::new(clock, timing(Duration::from_secs(600)));
    // Planned before the restart for 06:03 (06:00 plus jitter): kept, on the planner's timer.
    let kept = p.upsert("kept", &every_6h(), Start::Planned(Some(at(6, 3, 0))));
    assert_eq!(kept, Some(Some(at(6, 3, 0))));
    // Planned for 04:00, and the daemon was down then: due at once, not at 06:00.
    let missed = p.upsert("missed", &every_6h(), Start::Planned(Some(at(4, 0, 0))));
    assert_eq!(missed, Some(Some(at(5, 0, 0))));
    // Planned for 23:00 under an older, rarer schedule: the schedule wins.
    let changed = p.upsert("changed", &every_6h(), Start::Planned(Some(at(23, 0, 0))));
    let changed = changed.unwrap().unwrap();
    assert!(
        changed >= at(6, 0, 0) && changed <= at(6, 10, 0),
        "{changed}"
    );
    assert_eq!(p.take_due(10), ["missed"]);
    advance(H).await;
    // The 06:00 firing does not add a run to the kept one.
    assert!(!p.fired("kept"));
    assert!(p.take_due(10).iter().all(|n| n != "kept"));
    advance(Duration::from_secs(180)).await;
    assert!(p.take_due(10).contains(&"kept".to_string()));
    p.finished("kept", RunStatus::Complete);
    let next = p.next_of("kept").unwrap();
    assert!(next >= at(12, 0, 0) && next <= at(12, 10, 0), "{next}");
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_are_never_given_up() {
    let mut p = Planner::new(Clock::anchored(at(0, 0, 0)), timing(Duration::ZERO));
    p.upsert("a", &every_6h(), Start::Now);
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
            .upsert(&format!("s{i}"), &every_6h(), NEVER)
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
    p.upsert("resume", &every_6h(), Start::Now);
    p.upsert("new", &every_6h(), Start::Now);
    p.upsert("later", &every_6h(), NEVER);
    // At most `limit` at once; the rest wait for a free slot.
    assert_eq!(p.take_due(1).len(), 1);
    assert_eq!(p.take_due(5).len(), 1);
    assert_eq!(p.running(), 2);
    // Removing a running store: its end is ignored.
    assert!(p.remove("new"));
    assert_eq!(p.finished("new", RunStatus::Complete), None);
    // A changed schedule replans an idle store; the same schedule changes nothing.
    let hourly = Schedule::parse("0 0 * * * *", chrono_tz::UTC).unwrap();
    assert_eq!(p.upsert("later", &hourly, NEVER), Some(Some(at(2, 0, 0))));
    assert_eq!(p.upsert("later", &hourly, Start::Now), None);
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
    planner.upsert("s", &every_6h(), Start::Now);
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
    p.upsert("s", &every_6h(), Start::Now);
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

/// Plays the cron job for store "a" from the planner's start until `end`: at each planned
/// time the job fires and the store runs for 40 minutes (so a run that starts at the fall-back
/// day's first 02:30 ends inside the repeated hour). Returns when each run started.
async fn runs_until(p: &mut Planner, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut runs = Vec::new();
    while let Some(next) = p.next_of("a").filter(|next| *next <= end) {
        advance((next - p.now()).to_std().unwrap_or_default()).await;
        assert!(p.fired("a"));
        assert_eq!(p.take_due(1), ["a"]);
        runs.push(p.now());
        advance(Duration::from_secs(40 * 60)).await;
        p.finished("a", RunStatus::Complete);
    }
    runs
}

fn utc(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_store_at_half_past_two_in_berlin_runs_once_on_each_daylight_saving_day() {
    let schedule = Schedule::parse("30 2 * * *", chrono_tz::Europe::Berlin).unwrap();
    // Spring forward, 29 March: 02:30 does not exist; the run is at 03:00 CEST.
    let mut p = Planner::new(Clock::anchored(utc(3, 28, 0, 0)), timing(Duration::ZERO));
    p.upsert("a", &schedule, NEVER);
    let runs = runs_until(&mut p, utc(3, 31, 0, 0)).await;
    assert_eq!(
        runs,
        [utc(3, 28, 1, 30), utc(3, 29, 1, 0), utc(3, 30, 0, 30)]
    );
    // Fall back, 25 October: 02:30 exists twice; the run is at the first, and ending at
    // 02:10 CET (in the repeated hour) does not bring a second one that day.
    let mut p = Planner::new(Clock::anchored(utc(10, 24, 0, 0)), timing(Duration::ZERO));
    p.upsert("a", &schedule, NEVER);
    let runs = runs_until(&mut p, utc(10, 27, 0, 0)).await;
    assert_eq!(
        runs,
        [utc(10, 24, 0, 30), utc(10, 25, 0, 30), utc(10, 26, 1, 30)]
    );
}
