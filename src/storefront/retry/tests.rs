//! The retry loop against scripted attempts on tokio's paused clock: what is retried, how
//! long it waits, and how it works with the breaker.

use std::cell::Cell;

use super::*;

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(4),
        max_retry_after: Duration::from_secs(120),
        max_breaker_wait: Duration::from_secs(120),
    }
}

fn status(status: u16) -> Failure {
    ErrorKind::Status {
        status,
        detail: String::new(),
    }
    .into()
}

/// Runs the loop over `script` (one entry per attempt; past its end every attempt succeeds)
/// and returns the result, the number of attempts and the paused time that passed.
async fn drive(
    breaker: &Breaker,
    stats: &RetryStats,
    script: Vec<Failure>,
) -> (Result<u32, ErrorKind>, u32, Duration) {
    let calls = Cell::new(0u32);
    let script = std::cell::RefCell::new(script.into_iter());
    let start = Instant::now();
    let result = run(&policy(), breaker, "s", stats, || {
        calls.set(calls.get() + 1);
        let next = script.borrow_mut().next();
        let n = calls.get();
        async move { next.map_or(Ok(n), Err) }
    })
    .await;
    (result, calls.get(), start.elapsed())
}

#[test]
fn backoff_is_full_jitter_under_a_capped_exponential() {
    let p = policy();
    let ceilings: Vec<u64> = (1..=5).map(|n| p.ceiling(n).as_secs()).collect();
    assert_eq!(ceilings, [1, 2, 4, 4, 4]);
    assert_eq!(p.backoff(3, 0.0), Duration::ZERO);
    assert_eq!(p.backoff(3, 0.5), Duration::from_secs(2));
    assert!(p.backoff(100, 0.999_999) <= p.cap);
}

#[test]
fn retry_after_in_both_forms() {
    let now = SystemTime::now();
    assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
    let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
    let parsed = parse_retry_after(&date, now).unwrap();
    assert!((29..=30).contains(&parsed.as_secs()), "{parsed:?}");
    let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_bounded_backoff() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let script = vec![status(503), ErrorKind::Timeout.into(), status(429)];
    let (result, calls, elapsed) = drive(&breaker, &stats, script).await;
    assert_eq!((result.unwrap(), calls), (4, 4));
    // Full jitter: never more than the sum of the ceilings 1 + 2 + 4 s.
    assert!(elapsed <= Duration::from_secs(7), "{elapsed:?}");
    let (retries, wait_ms) = stats.take();
    assert_eq!((retries, wait_ms), (3, elapsed.as_millis() as u64));
}

#[tokio::test(start_paused = true)]
async fn other_client_errors_are_not_retried() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::PasswordProtected,
        status(403).kind,
    ] {
        let (result, calls, elapsed) = drive(&breaker, &stats, vec![kind.into()]).await;
        assert!(result.is_err());
        assert_eq!((calls, elapsed), (1, Duration::ZERO));
    }
    assert_eq!(stats.take(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn attempts_run_out() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let script = (0..10).map(|_| status(502)).collect();
    let (result, calls, _) = drive(&breaker, &stats, script).await;
    assert!(matches!(result, Err(ErrorKind::Status { status: 502, .. })));
    assert_eq!(calls, 4);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_a_lower_bound() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let script = vec![Failure {
        kind: status(429).kind,
        retry_after: Some(Duration::from_secs(9)),
    }];
    let (result, calls, elapsed) = drive(&breaker, &stats, script).await;
    assert_eq!((result.unwrap(), calls), (2, 2));
    assert!(elapsed >= Duration::from_secs(9), "{elapsed:?}");
    assert!(elapsed <= Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_longer_retry_after_opens_the_breaker_without_a_request() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let script = vec![Failure {
        kind: status(429).kind,
        retry_after: Some(Duration::from_secs(3600)),
    }];
    let (result, calls, elapsed) = drive(&breaker, &stats, script).await;
    assert!(matches!(
        result,
        Err(ErrorKind::BreakerOpen { seconds: 3600 })
    ));
    assert_eq!((calls, elapsed), (1, Duration::ZERO));
    assert_eq!(breaker.state(), super::super::breaker::BreakerState::Open);
    let (result, calls, _) = drive(&breaker, &stats, Vec::new()).await;
    assert!(matches!(result, Err(ErrorKind::BreakerOpen { .. })));
    assert_eq!(calls, 0, "no request while the breaker is open");
}

#[tokio::test(start_paused = true)]
async fn repeated_trouble_opens_the_breaker_and_silence_follows() {
    let cool = Duration::from_secs(100);
    let (breaker, stats) = (Breaker::new("s", 2, cool), RetryStats::default());
    let script = vec![status(429), status(429)];
    let (result, calls, elapsed) = drive(&breaker, &stats, script).await;
    assert_eq!((result.unwrap(), calls), (3, 3));
    // The third attempt is the half-open probe, sent only after the full cool-down.
    assert!(elapsed >= cool, "{elapsed:?}");
    assert_eq!(breaker.state(), super::super::breaker::BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_block_opens_the_breaker_and_is_not_retried() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let (result, calls, _) = drive(&breaker, &stats, vec![ErrorKind::Blocked.into()]).await;
    assert!(matches!(result, Err(ErrorKind::Blocked)));
    assert_eq!(calls, 1);
    assert_eq!(breaker.state(), super::super::breaker::BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn without_breaker_waits_an_open_breaker_ends_the_request_at_once() {
    let cool = Duration::from_secs(100);
    let (breaker, stats) = (Breaker::new("s", 2, cool), RetryStats::default());
    let policy = RetryPolicy {
        max_breaker_wait: Duration::ZERO,
        ..policy()
    };
    let calls = Cell::new(0u32);
    let start = Instant::now();
    let result: Result<(), ErrorKind> = run(&policy, &breaker, "s", &stats, || {
        calls.set(calls.get() + 1);
        async { Err(status(503)) }
    })
    .await;
    // What is left of the cool-down after the backoff before the refused third attempt.
    assert!(
        matches!(result, Err(ErrorKind::BreakerOpen { seconds: 95..=100 })),
        "{result:?}"
    );
    assert_eq!(
        calls.get(),
        2,
        "the request that opened the breaker was the last"
    );
    assert!(start.elapsed() < cool, "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_wait_is_counted() {
    let (breaker, stats) = (
        Breaker::new("s", 10, Duration::from_secs(100)),
        RetryStats::default(),
    );
    let asked = Failure {
        kind: ErrorKind::Status {
            status: 429,
            detail: String::new(),
        },
        retry_after: Some(Duration::from_secs(60)),
    };
    let (mut script, policy) = (Some(asked), policy());
    let waiting = run(&policy, &breaker, "s", &stats, || {
        let next = script.take();
        async move { next.map_or(Ok(()), Err) }
    });
    // Dropped (a cancelled run) ten seconds into the minute it was asked to wait.
    assert!(tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .is_err());
    assert_eq!(stats.take(), (1, 10_000));
}
