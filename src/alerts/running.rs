//! Alerts in a process: `attach` gives the writer the configured rules (no rules: none), and
//! `Running` is the daemon's delivery task, restarted when a reload changes the config.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::deliver::{self, Delivery};
use super::event::Observer;
use super::Engine;
use crate::config::AlertSettings;
use crate::store::{self, Outbox, Writer};

/// Sets (or clears) the writer's alert rules; returns the wake-up the writer signals after
/// committing alert rows.
pub async fn attach(
    writer: &Writer,
    settings: &AlertSettings,
) -> Result<Arc<Notify>, store::Error> {
    let wake = Arc::new(Notify::new());
    let rules = Engine::new(settings).map(|engine| Arc::new(engine) as Arc<dyn Observer>);
    let outbox = Outbox {
        rules,
        wake: wake.clone(),
    };
    writer.set_observer(Box::new(outbox)).await?;
    Ok(wake)
}

/// The daemon's delivery task.
pub struct Running {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Attaches the rules and starts delivering to the configured sinks.
    pub async fn start(writer: &Writer, settings: &AlertSettings) -> Result<Running, Error> {
        let wake = attach(writer, settings).await?;
        let delivery = Delivery::new(writer.clone(), settings, wake)?;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(delivery.run(cancel.clone()));
        Ok(Running { cancel, task })
    }

    /// Stops delivering; a request in flight is abandoned and its row stays pending.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Deliver(#[from] deliver::Error),
}
