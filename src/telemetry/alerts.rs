//! Alert events, each one function that logs it and counts it per sink: rows enqueued, an
//! attempt delivered or failed (by reason), a sink paused, and the queue gauges (pending, dead,
//! age of the oldest pending row).

use metrics::{describe_counter, describe_gauge, Unit};
use tracing::{debug, info, warn};

/// Reasons an attempt fails, as `shopmirror_alerts_failed_attempts_total` labels them.
pub const REASONS: [&str; 7] = [
    "5xx", "4xx", "429", "gone", "redirect", "timeout", "connect",
];

pub fn describe() {
    describe_counter!(
        "shopmirror_alerts_enqueued_total",
        "Alert rows written to the outbox, by sink."
    );
    describe_counter!(
        "shopmirror_alerts_delivered_total",
        "Alerts a sink answered with 2xx."
    );
    describe_counter!(
        "shopmirror_alerts_failed_attempts_total",
        "Alert attempts that failed, by sink and reason: 5xx, 4xx, 429, gone, redirect, \
         timeout, connect."
    );
    describe_gauge!(
        "shopmirror_alerts_pending",
        "Alerts waiting for delivery, by sink."
    );
    describe_gauge!("shopmirror_alerts_dead", "Alerts given up on, by sink.");
    describe_gauge!(
        "shopmirror_alerts_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the sink's oldest pending alert (0 when none)."
    );
}

/// Creates a sink's series at 0.
pub fn register_sink(sink: &str) {
    let s = || sink.to_string();
    metrics::counter!("shopmirror_alerts_enqueued_total", "sink" => s()).increment(0);
    metrics::counter!("shopmirror_alerts_delivered_total", "sink" => s()).increment(0);
    for reason in REASONS {
        metrics::counter!("shopmirror_alerts_failed_attempts_total",
                          "sink" => s(), "reason" => reason)
        .increment(0);
    }
    queue(sink, 0, 0, 0.0);
}

pub fn enqueued(sink: &str) {
    metrics::counter!("shopmirror_alerts_enqueued_total", "sink" => sink.to_string()).increment(1);
}

pub fn delivered(sink: &str, alert_id: i64, message_id: &str) {
    metrics::counter!("shopmirror_alerts_delivered_total", "sink" => sink.to_string()).increment(1);
    debug!(sink, alert = alert_id, message_id, "alert delivered");
}

/// An attempt failed; `reason` is one of REASONS, `error` names no secret.
pub fn failed(sink: &str, alert_id: i64, reason: &'static str, error: &str, dead: bool) {
    metrics::counter!("shopmirror_alerts_failed_attempts_total",
                      "sink" => sink.to_string(), "reason" => reason)
    .increment(1);
    if dead {
        warn!(
            sink,
            alert = alert_id,
            reason,
            error,
            "alert dead: not retried"
        );
    } else {
        info!(
            sink,
            alert = alert_id,
            reason,
            error,
            "alert attempt failed: retrying later"
        );
    }
}

/// A sink stops being sent to until `alerts resume`.
pub fn sink_paused(sink: &str, why: &str, error: &str) {
    warn!(
        sink,
        why,
        error,
        "alert sink paused: its alerts are kept; `shopmirror alerts resume {sink}` resumes it"
    );
}

/// The queue gauges of one sink.
pub fn queue(sink: &str, pending: i64, dead: i64, oldest_age: f64) {
    let s = || sink.to_string();
    metrics::gauge!("shopmirror_alerts_pending", "sink" => s()).set(pending as f64);
    metrics::gauge!("shopmirror_alerts_dead", "sink" => s()).set(dead as f64);
    metrics::gauge!("shopmirror_alerts_oldest_pending_age_seconds", "sink" => s()).set(oldest_age);
}
