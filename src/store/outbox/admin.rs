//! The operator's view of the outbox from a read-only connection: rows not yet delivered (or
//! only the dead ones), and per sink its pending and dead counts, oldest pending row and
//! paused state, for `alerts list`, `status` and the metrics.

use rusqlite::params;
use serde::Serialize;

use crate::store::{Context, Error, Reader};

/// One outbox row as `alerts list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub message_id: String,
    pub state: String,
    pub sink: String,
    pub rule: String,
    pub event: String,
    pub store: Option<String>,
    pub product_id: i64,
    pub handle: Option<String>,
    pub variant_id: Option<i64>,
    pub attempts: i64,
    pub created_at: String,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
}

/// One sink's queue.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SinkStats {
    pub sink: String,
    pub pending: i64,
    pub dead: i64,
    /// created_at of the oldest pending row.
    pub oldest_pending_at: Option<String>,
    /// 'gone' or 'suspended' while paused.
    pub paused: Option<String>,
    pub last_error: Option<String>,
}

impl Reader {
    /// Pending and dead rows (only dead ones with `dead_only`), oldest first.
    pub fn alerts(&self, dead_only: bool) -> Result<Vec<AlertRow>, Error> {
        self.conn
            .prepare(
                "SELECT o.alert_id, o.message_id, o.state, o.sink, o.rule, o.event, s.name,
                     o.product_id, p.handle, o.variant_id, o.attempts, o.created_at,
                     o.next_attempt_at, o.last_error
                 FROM alert_outbox o
                 LEFT JOIN stores s ON s.store_id = o.store_id
                 LEFT JOIN products p ON p.store_id = o.store_id AND p.product_id = o.product_id
                 WHERE o.state = 'dead' OR (?1 = 0 AND o.state = 'pending')
                 ORDER BY o.alert_id",
            )
            .and_then(|mut s| {
                s.query_map(params![dead_only], |r| {
                    Ok(AlertRow {
                        id: r.get(0)?,
                        message_id: r.get(1)?,
                        state: r.get(2)?,
                        sink: r.get(3)?,
                        rule: r.get(4)?,
                        event: r.get(5)?,
                        store: r.get(6)?,
                        product_id: r.get(7)?,
                        handle: r.get(8)?,
                        variant_id: r.get(9)?,
                        attempts: r.get(10)?,
                        created_at: r.get(11)?,
                        next_attempt_at: r.get(12)?,
                        last_error: r.get(13)?,
                    })
                })?
                .collect()
            })
            .ctx(&self.path, "listing alerts")
    }

    /// Every sink with rows or a recorded state, by name.
    pub fn sink_stats(&self) -> Result<Vec<SinkStats>, Error> {
        sink_stats(&self.conn, &self.path)
    }
}

pub(crate) fn sink_stats(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
) -> Result<Vec<SinkStats>, Error> {
    conn.prepare_cached(
        "WITH names AS (SELECT sink FROM alert_sinks
                        UNION SELECT DISTINCT sink FROM alert_outbox WHERE state != 'delivered')
         SELECT n.sink,
             (SELECT count(*) FROM alert_outbox WHERE sink = n.sink AND state = 'pending'),
             (SELECT count(*) FROM alert_outbox WHERE sink = n.sink AND state = 'dead'),
             (SELECT min(created_at) FROM alert_outbox
              WHERE sink = n.sink AND state = 'pending'),
             k.paused, k.last_error
         FROM names n LEFT JOIN alert_sinks k ON k.sink = n.sink
         ORDER BY n.sink",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(SinkStats {
                sink: r.get(0)?,
                pending: r.get(1)?,
                dead: r.get(2)?,
                oldest_pending_at: r.get(3)?,
                paused: r.get(4)?,
                last_error: r.get(5)?,
            })
        })?
        .collect()
    })
    .ctx(path, "reading the alert queues")
}

impl crate::store::WriteDb {
    /// `sink_stats` on the writer's connection (for the daemon's gauges).
    pub fn sink_stats(&mut self) -> Result<Vec<SinkStats>, Error> {
        sink_stats(&self.conn, &self.path)
    }
}
