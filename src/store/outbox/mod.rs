//! The alert outbox: rows written inside the transaction of the change they announce
//! (`observe`: the writer's `ChangeObserver`), the delivery queue each sink is sent
//! from with the sink's paused state (`queue`), and the operator's view and commands
//! (`admin`). Rendering and deciding live in `alerts`; this module only stores.

mod admin;
mod observe;
mod queue;

pub use admin::{AlertRow, SinkStats};
pub use queue::{Attempt, DueAlert, RowFate, SinkFate, SinkState};

pub use observe::Outbox;

/// UTC now with milliseconds, the format of `next_attempt_at`.
pub fn now_millis() -> String {
    at_millis(chrono::Utc::now())
}

/// A UTC time with milliseconds, as `next_attempt_at` holds it.
pub fn at_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// Parses a stored UTC time, with or without fractional seconds.
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}
