//! Logs an operator can filter, through the real binary: journald text carries each line's
//! priority (a retried 429 is a warning, the normal end of a sync is info), and JSON logs
//! write numbers as numbers.

use crate::support;

use support::fakeshop::{Catalog, FakeShop, Fault, RetryAfter};
use support::shopmirror;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_429_is_one_warning_in_the_journal_and_the_rest_is_info_or_debug() {
    let shop = FakeShop::start(Catalog::generate(60, 1)).await;
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::Seconds(1)),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut command = shopmirror();
    command
        .env("SHOPMIRROR_LOG__FORMAT", "journald")
        .arg("--db")
        .arg(dir.path().join("m.db"))
        .args(["-v", "sync", &shop.url()]);
    let done = support::run(command).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(p)),
            "line without a priority: {line:?}"
        );
    }
    let warnings: Vec<_> = lines.iter().filter(|l| l.starts_with("<4>")).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("retrying") && warnings[0].contains("HTTP 429"));
    let store = format!("store={}", shop.addr());
    assert!(warnings[0].contains(&store), "{}", warnings[0]);
    let finished = lines.iter().find(|l| l.contains("sync finished")).unwrap();
    assert!(
        finished.starts_with("<6>") && finished.contains(&store),
        "{finished}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_write_numbers_as_numbers() {
    let shop = FakeShop::start(Catalog::generate(60, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = shopmirror();
    command
        .env("SHOPMIRROR_LOG__FORMAT", "json")
        .arg("--db")
        .arg(dir.path().join("m.db"))
        .args(["-v", "sync", &shop.url()]);
    let done = support::run(command).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let events: Vec<serde_json::Value> = done
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let finished = events
        .iter()
        .find(|e| e["fields"]["message"] == "sync finished")
        .expect("a sync finished event");
    for key in [
        "run",
        "pages",
        "requests",
        "new",
        "unchanged",
        "retries",
        "wait_ms",
    ] {
        assert!(finished["fields"][key].is_u64(), "{key} in {finished}");
    }
    for event in &events {
        for (key, value) in event["fields"].as_object().unwrap() {
            if let Some(text) = value.as_str() {
                assert!(
                    text.parse::<f64>().is_err(),
                    "{key} is a number in a string: {event}"
                );
            }
        }
    }
}
