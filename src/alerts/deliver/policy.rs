//! What one answer means, pure: 2xx delivered; 429 waits for Retry-After without spending an
//! attempt; 410 (and Discord's 404) pauses the sink with the row kept; any other 4xx (but 408)
//! makes the row dead; 5xx, 3xx (redirects are not followed), 408, timeouts and refused
//! connections are retried on the schedule, the row dead past its end, and the sink suspended
//! once it has been failing for `suspend_after`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::SinkKind;
use crate::store::{at_millis, RowFate, SinkFate};

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    Timeout(String),
    Connect(String),
}

/// What to do with the row and the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub row: RowFate,
    pub sink: SinkFate,
    /// The failure's metric label and one-line description; None when delivered.
    pub failure: Option<(&'static str, String)>,
}

/// The retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub retry: &'a [Duration],
    pub suspend_after: Duration,
}

/// A 429 without Retry-After waits this long; a longer Retry-After is cut to a day.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86400);

impl Policy<'_> {
    /// `attempts`: the row's failed attempts before this one; `failing_since`: the sink's
    /// first failure since its last success; `jitter` in [-1, 1] spreads retries by ±10%.
    pub fn decide(
        &self,
        kind: SinkKind,
        answer: &Answer,
        attempts: i64,
        failing_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Decision {
        let later = |wait: Duration, spent: bool| RowFate::Later {
            at: at_millis(now + chrono::Duration::from_std(wait).unwrap_or_default()),
            spent,
        };
        let (reason, error) = match answer {
            Answer::Status { code, .. } if (200..300).contains(code) => {
                return Decision {
                    row: RowFate::Delivered,
                    sink: SinkFate::Healthy,
                    failure: None,
                }
            }
            Answer::Status {
                code: 429,
                retry_after,
            } => {
                let wait = retry_after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .min(MAX_RETRY_AFTER);
                return Decision {
                    row: later(wait, false),
                    sink: SinkFate::Unchanged,
                    failure: Some((
                        "429",
                        format!("429 Too Many Requests: waiting {}s", wait.as_secs_f64()),
                    )),
                };
            }
            Answer::Status { code, .. }
                if *code == 410 || (*code == 404 && kind == SinkKind::Discord) =>
            {
                return Decision {
                    row: later(Duration::ZERO, false),
                    sink: SinkFate::Gone,
                    failure: Some(("gone", format!("answered {code}: the sink is gone"))),
                };
            }
            Answer::Status { code, .. } if (400..500).contains(code) && *code != 408 => {
                return Decision {
                    row: RowFate::Dead,
                    sink: SinkFate::Unchanged,
                    failure: Some(("4xx", format!("answered {code}: refused, not retried"))),
                };
            }
            Answer::Status { code, .. } if (300..400).contains(code) => (
                "redirect",
                format!("answered {code}: redirects are not followed"),
            ),
            Answer::Status { code, .. } if (400..500).contains(code) => {
                ("4xx", format!("answered {code}"))
            }
            Answer::Status { code, .. } => ("5xx", format!("answered {code}")),
            Answer::Timeout(e) => ("timeout", e.clone()),
            Answer::Connect(e) => ("connect", e.clone()),
        };
        let sink = match failing_since {
            Some(since) if (now - since).to_std().unwrap_or_default() >= self.suspend_after => {
                SinkFate::Suspended
            }
            _ => SinkFate::Failing,
        };
        let row = match self.retry.get(attempts.max(0) as usize) {
            Some(wait) => later(wait.mul_f64(1.0 + 0.1 * jitter.clamp(-1.0, 1.0)), true),
            None => RowFate::Dead,
        };
        Decision {
            row,
            sink,
            failure: Some((reason, error)),
        }
    }
}

#[cfg(test)]
mod tests;
