//! Delivery: committed outbox rows sent over HTTP, each sink on its own (one failing sink never
//! delays another), its rows strictly in alert_id order (so in order per variant). The daemon
//! runs a task per sink until it stops (`run`); a one-shot `sync` and `alerts deliver` send
//! what is due within a deadline (`drain`). One process delivers at a time (a lock beside the
//! database). Every read and write is a short call to the writer; none spans a request.

mod policy;
mod send;
mod sink;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use policy::{Answer, Decision, Policy};
pub use send::{client, send};

use crate::config::{AlertSettings, SinkConfig};
use crate::store::Writer;
use crate::telemetry::alerts as events;
use sink::Next;

/// The lock (see `lock`) held by the one process that delivers.
const LOCK: &str = ".alerts-delivery";

/// How often an idle or paused sink looks at the database again (rows written by another
/// process, `alerts resume` and `alerts retry` from the command line).
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot build the alert HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error(transparent)]
    Lock(#[from] crate::lock::Error),
}

/// What one `drain` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub delivered: u64,
    pub failed: u64,
    /// False when another process holds the delivery lock (it delivers instead).
    pub ran: bool,
}

/// Sends the outbox of every configured sink.
#[derive(Clone)]
pub struct Delivery {
    writer: Writer,
    sinks: BTreeMap<String, SinkConfig>,
    settings: Arc<AlertSettings>,
    client: reqwest::Client,
    wake: Arc<Notify>,
}

impl Delivery {
    pub fn new(writer: Writer, settings: &AlertSettings, wake: Arc<Notify>) -> Result<Self, Error> {
        Ok(Delivery {
            writer,
            sinks: settings.sinks.clone(),
            settings: Arc::new(settings.clone()),
            client: send::client(settings.timeout).map_err(Error::Client)?,
            wake,
        })
    }

    /// The daemon's delivery until `cancel`: takes the delivery lock (waiting while another
    /// process holds it), then runs a task per sink, the queue gauges and pruning.
    pub async fn run(self, cancel: CancellationToken) {
        if self.sinks.is_empty() {
            return;
        }
        let _lock = loop {
            match crate::lock::try_lock(self.writer.path(), LOCK) {
                Ok(crate::lock::Acquired::Held(lock)) => break lock,
                Ok(crate::lock::Acquired::Busy { pid }) => {
                    info!(holder = %crate::lock::describe(pid),
                          "another process delivers alerts: waiting for it to finish");
                }
                Err(e) => warn!(error = %e, "cannot take the alert delivery lock"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(POLL * 5) => {}
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for sink in self.sinks.values() {
            events::register_sink(&sink.name);
            let (this, sink, cancel) = (self.clone(), sink.clone(), cancel.clone());
            tasks.spawn(async move { this.sink_loop(&sink, None, &cancel).await });
        }
        let upkeep = self.clone();
        let stop = cancel.clone();
        tasks.spawn(async move {
            upkeep.upkeep(&stop).await;
            (0, 0)
        });
        while tasks.join_next().await.is_some() {}
    }

    /// Sends the rows of every sink that are due, or come due, within `within` (a retry or a
    /// Retry-After inside it is waited for); rows due later, rows of a paused sink and rows not
    /// sent by then stay for the next run or the daemon.
    pub async fn drain(&self, within: Duration) -> Result<Drained, Error> {
        if self.sinks.is_empty() || within.is_zero() {
            return Ok(Drained::default());
        }
        let _lock = match crate::lock::try_lock(self.writer.path(), LOCK)? {
            crate::lock::Acquired::Held(lock) => lock,
            crate::lock::Acquired::Busy { .. } => return Ok(Drained::default()),
        };
        let deadline = Instant::now() + within;
        let cancel = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        for sink in self.sinks.values() {
            let (this, sink, cancel) = (self.clone(), sink.clone(), cancel.clone());
            tasks.spawn(async move { this.sink_loop(&sink, Some(deadline), &cancel).await });
        }
        let mut drained = Drained {
            ran: true,
            ..Drained::default()
        };
        let joined = tokio::time::timeout_at(deadline, async {
            let mut sums = (0, 0);
            while let Some(Ok((delivered, failed))) = tasks.join_next().await {
                sums = (sums.0 + delivered, sums.1 + failed);
            }
            sums
        })
        .await;
        if let Ok((delivered, failed)) = joined {
            (drained.delivered, drained.failed) = (delivered, failed);
        } else {
            // Requests in flight are abandoned; their rows stay pending.
            cancel.cancel();
        }
        let _ = self.prune().await;
        Ok(drained)
    }

    /// One sink's queue, oldest row first. With `until` (one-shot) it returns once nothing is
    /// due before then; without, it waits for rows until cancelled. Returns (delivered, failed attempts).
    async fn sink_loop(
        &self,
        sink: &SinkConfig,
        until: Option<Instant>,
        cancel: &CancellationToken,
    ) -> (u64, u64) {
        let mut counts = (0, 0);
        while !cancel.is_cancelled() {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = match self.next(sink).await {
                Ok(Next::Send(due)) => {
                    let attempt = tokio::select! {
                        _ = cancel.cancelled() => break,
                        attempt = self.attempt(sink, &due) => attempt,
                    };
                    match attempt {
                        Ok(true) => counts.0 += 1,
                        Ok(false) => counts.1 += 1,
                        Err(e) => {
                            warn!(sink = %sink.name, error = %e, "cannot record an alert attempt");
                            tokio::time::sleep(POLL).await;
                        }
                    }
                    continue;
                }
                Ok(Next::Wait(wait)) => wait,
                Ok(Next::Paused) if until.is_some() => break,
                Ok(Next::Paused) => POLL * 5,
                Ok(Next::Idle) if until.is_some() => break,
                Ok(Next::Idle) => POLL,
                Err(e) => {
                    warn!(sink = %sink.name, error = %e, "cannot read the alert outbox");
                    POLL
                }
            };
            // One-shot: a row due within the deadline is waited for, a later one is left.
            if until.is_some_and(|until| Instant::now() + wait > until) {
                break;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait.min(POLL)) => {}
            }
        }
        counts
    }
}
