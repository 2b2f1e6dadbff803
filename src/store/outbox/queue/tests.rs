//! The queue's bookkeeping on a real database file: attempts, the sink's state, pruning.

use super::*;
use crate::store::Writer;

fn insert(db: &mut WriteDb, id: i64, state: &str, delivered_at: Option<&str>) {
    db.conn
        .execute(
            "INSERT INTO alert_outbox (alert_id, message_id, rule, sink, source, store_id,
                 product_id, event, body, created_at, state, next_attempt_at, delivered_at)
             VALUES (?1, 'msg_' || ?1, 'r', 'ops', 'test:' || ?1, 1, 1, 'product.added', '{}',
                 '2026-01-01 00:00:00', ?2, '2026-01-01 00:00:00.000', ?3)",
            params![id, state, delivered_at],
        )
        .unwrap();
}

#[tokio::test]
async fn attempts_move_rows_and_sinks_and_pruning_keeps_recent_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::open(&dir.path().join("m.db")).unwrap();
    writer
        .call(|db| {
            insert(db, 1, "delivered", Some("2026-01-01 00:00:00"));
            insert(db, 2, "delivered", Some("2026-03-01 00:00:00"));
            insert(db, 3, "pending", None);
            insert(db, 4, "pending", None);
            assert_eq!(db.prune_delivered("2026-02-01 00:00:00")?, 1);
            assert_eq!(db.next_alert("ops")?.unwrap().alert_id, 3);

            let failed = Attempt {
                alert_id: 3,
                sink: "ops".into(),
                row: RowFate::Later {
                    at: "2030-01-01 00:00:00.000".into(),
                    spent: true,
                },
                sink_fate: SinkFate::Failing,
                error: Some("answered 500".into()),
            };
            db.record_attempt(&failed)?;
            let state = db.sink_state("ops")?;
            assert!(state.failing_since.is_some() && state.paused.is_none());
            let head = db.next_alert("ops")?.unwrap();
            assert_eq!(
                (head.alert_id, head.attempts),
                (3, 1),
                "the head waits; order kept"
            );

            let gone = Attempt {
                sink_fate: SinkFate::Gone,
                row: RowFate::Later {
                    at: now_millis(),
                    spent: false,
                },
                ..failed.clone()
            };
            db.record_attempt(&gone)?;
            assert_eq!(db.sink_state("ops")?.paused.as_deref(), Some("gone"));
            assert!(db.resume_sink("ops")?);
            assert_eq!(db.sink_state("ops")?, SinkState::default());

            let dead = Attempt {
                row: RowFate::Dead,
                sink_fate: SinkFate::Unchanged,
                ..failed
            };
            db.record_attempt(&dead)?;
            assert_eq!(
                db.next_alert("ops")?.unwrap().alert_id,
                4,
                "a dead row is passed"
            );
            assert!(db.retry_alert(3)?);
            assert_eq!(db.next_alert("ops")?.unwrap().alert_id, 3);
            let remaining: i64 = db
                .conn
                .query_row("SELECT count(*) FROM alert_outbox", [], |r| r.get(0))
                .unwrap();
            assert_eq!(remaining, 3);
            Ok(())
        })
        .await
        .unwrap();
}
