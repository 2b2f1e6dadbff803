//! The delivery queue of each sink: its oldest pending row (rows go out in alert_id order, so
//! in order per variant), what an attempt did to the row and to the sink (delivered, retried
//! later, dead; the sink healthy, failing, gone or suspended), and pruning delivered rows. Each
//! call is its own short transaction: no transaction is ever held across a request.

use rusqlite::{params, OptionalExtension};

use super::now_millis;
use crate::store::write::WriteDb;
use crate::store::{now_text, Context, Error};

/// The oldest pending row of a sink.
#[derive(Debug, Clone)]
pub struct DueAlert {
    pub alert_id: i64,
    pub message_id: String,
    pub body: String,
    pub event: String,
    pub attempts: i64,
    /// UTC with milliseconds; the row waits until then.
    pub next_attempt_at: String,
}

/// A sink's delivery state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkState {
    /// 'gone' or 'suspended' while paused.
    pub paused: Option<String>,
    pub failing_since: Option<String>,
}

/// What an attempt does to its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFate {
    Delivered,
    /// Try again at this time (UTC with milliseconds); `spent`: the attempt counts.
    Later {
        at: String,
        spent: bool,
    },
    Dead,
}

/// What an attempt does to its sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFate {
    /// Nothing to record (it answered 429, or refused one row with a 4xx).
    Unchanged,
    /// It answered: not failing any more.
    Healthy,
    /// It failed: failing since now, unless it already was.
    Failing,
    /// Paused until resumed: it answered 410 (or Discord 404).
    Gone,
    /// Paused until resumed: it kept failing past alerts.suspend_after.
    Suspended,
}

/// One attempt's result, recorded at once.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub alert_id: i64,
    pub sink: String,
    pub row: RowFate,
    pub sink_fate: SinkFate,
    pub error: Option<String>,
}

impl WriteDb {
    /// The sink's oldest pending row.
    pub fn next_alert(&mut self, sink: &str) -> Result<Option<DueAlert>, Error> {
        self.conn
            .prepare_cached(
                "SELECT alert_id, message_id, body, event, attempts, next_attempt_at
                 FROM alert_outbox WHERE sink = ?1 AND state = 'pending'
                 ORDER BY alert_id LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row([sink], |r| {
                    Ok(DueAlert {
                        alert_id: r.get(0)?,
                        message_id: r.get(1)?,
                        body: r.get(2)?,
                        event: r.get(3)?,
                        attempts: r.get(4)?,
                        next_attempt_at: r.get(5)?,
                    })
                })
                .optional()
            })
            .ctx(&self.path, "reading the next alert")
    }

    pub fn sink_state(&mut self, sink: &str) -> Result<SinkState, Error> {
        self.conn
            .prepare_cached("SELECT paused, failing_since FROM alert_sinks WHERE sink = ?1")
            .and_then(|mut s| {
                s.query_row([sink], |r| {
                    Ok(SinkState {
                        paused: r.get(0)?,
                        failing_since: r.get(1)?,
                    })
                })
                .optional()
            })
            .map(Option::unwrap_or_default)
            .ctx(&self.path, "reading the sink's state")
    }

    /// Records one attempt on its row and its sink, in one transaction.
    pub fn record_attempt(&mut self, attempt: &Attempt) -> Result<(), Error> {
        self.transaction(|tx, path| {
            let now = now_text();
            let error = attempt.error.as_deref();
            let (sql, values): (&str, Vec<rusqlite::types::Value>) = match &attempt.row {
                RowFate::Delivered => (
                    "UPDATE alert_outbox SET state = 'delivered', delivered_at = ?2,
                         last_error = NULL WHERE alert_id = ?1",
                    vec![attempt.alert_id.into(), now.clone().into()],
                ),
                RowFate::Later { at, spent } => (
                    "UPDATE alert_outbox SET next_attempt_at = ?2, attempts = attempts + ?3,
                         last_error = ?4 WHERE alert_id = ?1",
                    vec![
                        attempt.alert_id.into(),
                        at.clone().into(),
                        i64::from(*spent).into(),
                        error.map(str::to_string).into(),
                    ],
                ),
                RowFate::Dead => (
                    "UPDATE alert_outbox SET state = 'dead', attempts = attempts + 1,
                         last_error = ?2 WHERE alert_id = ?1",
                    vec![attempt.alert_id.into(), error.map(str::to_string).into()],
                ),
            };
            tx.prepare_cached(sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
                .ctx(path, "recording the attempt")?;
            let sql = match attempt.sink_fate {
                SinkFate::Unchanged => return Ok(()),
                SinkFate::Healthy => {
                    "INSERT INTO alert_sinks (sink) VALUES (?1)
                     ON CONFLICT (sink) DO UPDATE SET failing_since = NULL, last_error = NULL"
                }
                SinkFate::Failing => {
                    "INSERT INTO alert_sinks (sink, failing_since, last_error) VALUES (?1, ?2, ?3)
                     ON CONFLICT (sink) DO UPDATE SET last_error = ?3,
                         failing_since = coalesce(failing_since, ?2)"
                }
                SinkFate::Gone | SinkFate::Suspended => {
                    "INSERT INTO alert_sinks (sink, paused, paused_at, failing_since, last_error)
                         VALUES (?1, ?4, ?2, ?2, ?3)
                     ON CONFLICT (sink) DO UPDATE SET paused = ?4, paused_at = ?2,
                         last_error = ?3, failing_since = coalesce(failing_since, ?2)"
                }
            };
            let paused = match attempt.sink_fate {
                SinkFate::Gone => Some("gone"),
                SinkFate::Suspended => Some("suspended"),
                _ => None,
            };
            let mut statement = tx.prepare_cached(sql).ctx(path, "recording the sink")?;
            let result = match attempt.sink_fate {
                SinkFate::Healthy => statement.execute(params![attempt.sink]),
                SinkFate::Failing => statement.execute(params![attempt.sink, now, error]),
                _ => statement.execute(params![attempt.sink, now, error, paused]),
            };
            result.ctx(path, "recording the sink")?;
            Ok(())
        })
    }

    /// Removes delivered rows delivered before `before` (UTC text); returns how many.
    pub fn prune_delivered(&mut self, before: &str) -> Result<usize, Error> {
        self.conn
            .prepare_cached(
                "DELETE FROM alert_outbox WHERE state = 'delivered' AND delivered_at < ?1",
            )
            .and_then(|mut s| s.execute([before]))
            .ctx(&self.path, "pruning delivered alerts")
    }

    /// Makes one dead row pending again, due now; false when there is no such dead row.
    pub fn retry_alert(&mut self, alert_id: i64) -> Result<bool, Error> {
        self.conn
            .prepare_cached(
                "UPDATE alert_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2
                 WHERE alert_id = ?1 AND state = 'dead'",
            )
            .and_then(|mut s| s.execute(params![alert_id, now_millis()]))
            .map(|n| n == 1)
            .ctx(&self.path, "retrying the alert")
    }

    /// Makes every dead row pending again; returns how many.
    pub fn retry_dead_alerts(&mut self) -> Result<usize, Error> {
        self.conn
            .prepare_cached(
                "UPDATE alert_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1
                 WHERE state = 'dead'",
            )
            .and_then(|mut s| s.execute([now_millis()]))
            .ctx(&self.path, "retrying dead alerts")
    }

    /// Un-pauses a sink and makes its pending rows due now; false when it was not paused.
    pub fn resume_sink(&mut self, sink: &str) -> Result<bool, Error> {
        self.transaction(|tx, path| {
            let resumed = tx
                .prepare_cached(
                    "UPDATE alert_sinks SET paused = NULL, paused_at = NULL,
                         failing_since = NULL WHERE sink = ?1 AND paused IS NOT NULL",
                )
                .and_then(|mut s| s.execute([sink]))
                .ctx(path, "resuming the sink")?;
            tx.prepare_cached(
                "UPDATE alert_outbox SET next_attempt_at = ?2
                 WHERE sink = ?1 AND state = 'pending'",
            )
            .and_then(|mut s| s.execute(params![sink, now_millis()]))
            .ctx(path, "making the sink's alerts due")?;
            Ok(resumed == 1)
        })
    }
}

#[cfg(test)]
mod tests;
