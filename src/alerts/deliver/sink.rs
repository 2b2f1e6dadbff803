//! One sink's steps: what comes next in its queue (a row to send now, a wait, nothing), one
//! attempt (sent with no transaction open, then recorded at once), and the daemon's upkeep:
//! queue gauges and pruning delivered rows past their retention.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::policy::Policy;
use super::{send, Delivery};
use crate::config::SinkConfig;
use crate::store::{self, parse_time, Attempt, DueAlert, RowFate, SinkFate};
use crate::telemetry::alerts as events;

/// What a sink does next.
pub(super) enum Next {
    Send(DueAlert),
    /// The head row is due in this long.
    Wait(Duration),
    /// The sink is paused (gone or suspended) until resumed.
    Paused,
    Idle,
}

/// How often the daemon refreshes the queue gauges, and prunes.
const GAUGES: Duration = Duration::from_secs(5);
const PRUNE: Duration = Duration::from_secs(3600);

impl Delivery {
    pub(super) async fn next(&self, sink: &SinkConfig) -> Result<Next, store::Error> {
        let name = sink.name.clone();
        let (state, head) = self
            .writer
            .call(move |db| Ok((db.sink_state(&name)?, db.next_alert(&name)?)))
            .await?;
        if state.paused.is_some() {
            return Ok(Next::Paused);
        }
        let Some(due) = head else {
            return Ok(Next::Idle);
        };
        let at = parse_time(&due.next_attempt_at).unwrap_or_else(Utc::now);
        match (at - Utc::now()).to_std() {
            Ok(wait) if !wait.is_zero() => Ok(Next::Wait(wait)),
            _ => Ok(Next::Send(due)),
        }
    }

    /// Sends `due` once and records what it did; true when delivered.
    pub(super) async fn attempt(
        &self,
        sink: &SinkConfig,
        due: &DueAlert,
    ) -> Result<bool, store::Error> {
        let answer = send(&self.client, sink, &due.message_id, &due.body).await;
        let name = sink.name.clone();
        let state = self.writer.call(move |db| db.sink_state(&name)).await?;
        let policy = Policy {
            retry: &self.settings.retry,
            suspend_after: self.settings.suspend_after,
        };
        let failing_since = state.failing_since.as_deref().and_then(parse_time);
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        let decision = policy.decide(
            sink.kind,
            &answer,
            due.attempts,
            failing_since,
            Utc::now(),
            jitter,
        );
        let attempt = Attempt {
            alert_id: due.alert_id,
            sink: sink.name.clone(),
            row: decision.row.clone(),
            sink_fate: decision.sink,
            error: decision.failure.as_ref().map(|(_, e)| e.clone()),
        };
        self.writer
            .call(move |db| db.record_attempt(&attempt))
            .await?;
        match &decision.failure {
            None => events::delivered(&sink.name, due.alert_id, &due.message_id),
            Some((reason, error)) => {
                let dead = decision.row == RowFate::Dead;
                events::failed(&sink.name, due.alert_id, reason, error, dead);
                match decision.sink {
                    SinkFate::Gone => events::sink_paused(&sink.name, "gone", error),
                    SinkFate::Suspended => events::sink_paused(&sink.name, "suspended", error),
                    _ => {}
                }
            }
        }
        Ok(decision.failure.is_none())
    }

    /// Queue gauges every few seconds and pruning every hour, until `cancel`.
    pub(super) async fn upkeep(&self, cancel: &CancellationToken) {
        let mut gauges = tokio::time::interval(GAUGES);
        let mut prune = tokio::time::interval(PRUNE);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = gauges.tick() => self.gauges().await,
                _ = prune.tick() => {
                    if let Err(e) = self.prune().await {
                        warn!(error = %e, "cannot prune delivered alerts");
                    }
                }
            }
        }
    }

    async fn gauges(&self) {
        let stats = match self.writer.call(|db| db.sink_stats()).await {
            Ok(stats) => stats,
            Err(e) => return warn!(error = %e, "cannot read the alert queues"),
        };
        for name in self.sinks.keys() {
            let s = stats.iter().find(|s| &s.sink == name);
            let age = s
                .and_then(|s| s.oldest_pending_at.as_deref())
                .and_then(parse_time)
                .map_or(0.0, |t| {
                    (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                });
            let (pending, dead) = s.map_or((0, 0), |s| (s.pending, s.dead));
            events::queue(name, pending, dead, age);
        }
    }

    /// Removes delivered rows older than the retention (or the longest cooldown).
    pub(super) async fn prune(&self) -> Result<usize, store::Error> {
        let keep = chrono::Duration::from_std(self.settings.keep_delivered())
            .unwrap_or(chrono::Duration::MAX);
        let before = Utc::now()
            .checked_sub_signed(keep)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        self.writer
            .call(move |db| db.prune_delivered(&before))
            .await
    }
}
