//! The real tokio-cron-scheduler, in real time (its tick loop reads the system clock): jobs
//! added, replaced and removed; and when a job must be re-created after a daylight-saving change.

use std::time::Duration;

use chrono::TimeZone;
use chrono_tz::{Europe::Berlin, UTC};
use tokio::sync::mpsc;

use super::*;

fn every_second() -> Schedule {
    Schedule::parse("* * * * * *", UTC).unwrap()
}

/// Waits for `store`'s next firing and returns every firing up to and including it.
async fn until_fired(rx: &mut mpsc::UnboundedReceiver<String>, store: &str) -> Vec<String> {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(name) = rx.recv().await {
            seen.push(name.clone());
            if name == store {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{store} did not fire: {seen:?}"));
    seen
}

/// Firings while `store` fires `n` more times, counted from one of its firings on.
async fn while_firing(
    rx: &mut mpsc::UnboundedReceiver<String>,
    store: &str,
    n: usize,
) -> Vec<String> {
    until_fired(rx, store).await;
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.extend(until_fired(rx, store).await);
    }
    seen
}

#[tokio::test]
async fn one_job_per_store_added_replaced_and_removed() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut jobs = CronJobs::start(tx).await.unwrap();
    assert!(jobs.set("a", &every_second()).await.unwrap());
    assert!(jobs.set("b", &every_second()).await.unwrap());
    assert!(
        !jobs.set("a", &every_second()).await.unwrap(),
        "same schedule"
    );
    let both = while_firing(&mut rx, "b", 3).await;
    assert!(both.iter().filter(|s| *s == "a").count() >= 2, "{both:?}");

    // a's schedule changes to yearly: its job is replaced and stops firing every second.
    let yearly = Schedule::parse("@yearly", UTC).unwrap();
    assert!(jobs.set("a", &yearly).await.unwrap());
    let seen = while_firing(&mut rx, "b", 3).await;
    assert!(!seen.contains(&"a".to_string()), "{seen:?}");

    // b goes, c comes.
    jobs.remove("b").await.unwrap();
    jobs.set("c", &every_second()).await.unwrap();
    let seen = while_firing(&mut rx, "c", 3).await;
    assert!(!seen.contains(&"b".to_string()), "{seen:?}");
    assert_eq!(jobs.stores(), ["a", "c"]);
    jobs.shutdown().await;
}

#[test]
fn a_job_is_rearmed_when_its_next_firing_falls_at_another_offset() {
    let s = Schedule::parse("30 2 * * *", Berlin).unwrap();
    let utc = |mo, d, h, mi| Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap();
    let (winter, summer) = (3600, 7200);
    // A job made in winter: fine all winter; the firing before the spring-forward day's
    // needs a new job (the next one is at +2), and so does the one on that day, if the job
    // was made before the change.
    assert!(!needs_rearm(&s, winter, utc(1, 10, 1, 30)));
    assert!(needs_rearm(&s, winter, utc(3, 28, 1, 30)));
    assert!(needs_rearm(&s, winter, utc(3, 29, 1, 0)));
    assert!(!needs_rearm(&s, summer, utc(3, 29, 1, 0)));
    // And back in autumn: after the fall-back day's (first) 02:30.
    assert!(needs_rearm(&s, summer, utc(10, 25, 0, 30)));
    assert!(!needs_rearm(&s, winter, utc(10, 25, 0, 30)));
    let utc_schedule = Schedule::parse("30 2 * * *", UTC).unwrap();
    assert!(!needs_rearm(&utc_schedule, 0, utc(3, 28, 1, 30)));
}

#[tokio::test]
async fn the_crates_own_tick_loop_is_watched() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut jobs = CronJobs::start(tx).await.unwrap();
    let bound = Duration::from_secs(2);
    // It ticks: the stamp moves on, twice.
    for _ in 0..2 {
        let before = jobs.last_tick();
        tokio::time::timeout(Duration::from_secs(10), async {
            while jobs.last_tick() == before {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the tick job runs");
        assert!(jobs.ticking_within(bound));
    }
    // Its loop stops: the stamp stays, and soon it is older than the bound.
    jobs.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while jobs.ticking_within(bound) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("no longer ticking");
}
