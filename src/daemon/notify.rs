//! systemd notifications (sd_notify): READY=1, STATUS= lines, WATCHDOG=1 and STOPPING=1 on
//! $NOTIFY_SOCKET. Without NOTIFY_SOCKET every call does nothing; failures only log.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

/// Sends the daemon's state to systemd (or to whoever owns $NOTIFY_SOCKET).
#[derive(Debug, Clone, Copy, Default)]
pub struct Notifier;

impl Notifier {
    /// READY=1 with a first STATUS= line.
    pub fn ready(&self, status: &str) {
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A STATUS= line saying what the daemon is doing.
    pub fn status(&self, status: &str) {
        send(&[NotifyState::Status(status)]);
    }

    /// WATCHDOG=1: the live loop is alive.
    pub fn watchdog(&self) {
        send(&[NotifyState::Watchdog]);
    }

    /// STOPPING=1 with a STATUS= line.
    pub fn stopping(&self, status: &str) {
        send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// How often to ping the watchdog: half of $WATCHDOG_USEC, when systemd set it for us.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        let mut usec = 0;
        sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(10)))
    }
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        debug!(error = %e, "systemd notification not sent");
    }
}
