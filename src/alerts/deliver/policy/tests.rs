//! Answers to decisions, with a fixed clock.

use super::*;

fn now() -> DateTime<Utc> {
    "2026-12-06T07:00:00Z".parse().unwrap()
}

const SCHEDULE: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(300)];

fn decide(kind: SinkKind, answer: Answer, attempts: i64, since: Option<i64>) -> Decision {
    let policy = Policy {
        retry: &SCHEDULE,
        suspend_after: Duration::from_secs(86400),
    };
    let since = since.map(|s| now() - chrono::Duration::seconds(s));
    policy.decide(kind, &answer, attempts, since, now(), 0.0)
}

fn status(code: u16) -> Answer {
    Answer::Status {
        code,
        retry_after: None,
    }
}

#[test]
fn success_delivers_and_heals_the_sink() {
    let d = decide(SinkKind::Webhook, status(204), 3, Some(100));
    assert_eq!(
        (d.row, d.sink, d.failure),
        (RowFate::Delivered, SinkFate::Healthy, None)
    );
}

#[test]
fn failures_follow_the_schedule_then_die() {
    let d = decide(SinkKind::Webhook, status(500), 0, None);
    let at = "2026-12-06 07:00:05.000".to_string();
    assert_eq!(d.row, RowFate::Later { at, spent: true });
    assert_eq!(d.sink, SinkFate::Failing);
    let d = decide(SinkKind::Slack, Answer::Timeout("t".into()), 1, None);
    let at = "2026-12-06 07:05:00.000".to_string();
    assert_eq!(d.row, RowFate::Later { at, spent: true });
    assert_eq!(d.failure.unwrap().0, "timeout");
    assert_eq!(
        decide(SinkKind::Webhook, status(503), 2, None).row,
        RowFate::Dead
    );
    assert_eq!(
        decide(SinkKind::Webhook, status(302), 0, None)
            .failure
            .unwrap()
            .0,
        "redirect"
    );
}

#[test]
fn rate_limits_wait_without_spending_an_attempt() {
    let answer = Answer::Status {
        code: 429,
        retry_after: Some(Duration::from_secs(7)),
    };
    let d = decide(SinkKind::Webhook, answer, 2, None);
    let at = "2026-12-06 07:00:07.000".to_string();
    assert_eq!(
        (d.row, d.sink),
        (RowFate::Later { at, spent: false }, SinkFate::Unchanged)
    );
}

#[test]
fn gone_pauses_the_sink_and_other_4xx_kill_the_row() {
    let d = decide(SinkKind::Webhook, status(410), 0, None);
    assert_eq!(d.sink, SinkFate::Gone);
    assert!(matches!(d.row, RowFate::Later { spent: false, .. }));
    assert_eq!(
        decide(SinkKind::Discord, status(404), 0, None).sink,
        SinkFate::Gone
    );
    let d = decide(SinkKind::Webhook, status(404), 0, None);
    assert_eq!((d.row, d.sink), (RowFate::Dead, SinkFate::Unchanged));
    assert!(matches!(
        decide(SinkKind::Webhook, status(408), 0, None).row,
        RowFate::Later { .. }
    ));
}

#[test]
fn a_sink_failing_for_a_day_is_suspended() {
    assert_eq!(
        decide(SinkKind::Ntfy, status(502), 0, Some(86399)).sink,
        SinkFate::Failing
    );
    assert_eq!(
        decide(SinkKind::Ntfy, status(502), 0, Some(86400)).sink,
        SinkFate::Suspended
    );
}
