//! systemd notifications (sd_notify): READY=1, STATUS= lines, WATCHDOG=1 and STOPPING=1 on
//! $NOTIFY_SOCKET. Messages go out in order from one dedicated thread, because sending to a
//! datagram socket blocks when its reader lags and the live loop must never block on that;
//! when the queue is full, messages are dropped (and logged at debug level). Without
//! NOTIFY_SOCKET nothing is sent.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

/// One notification, owned so it can cross to the sender thread.
enum Message {
    Ready(String),
    Status(String),
    Watchdog,
    Stopping(String),
    /// Answered once everything queued before it was sent.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Sends the daemon's state to systemd (or to whoever owns $NOTIFY_SOCKET).
#[derive(Debug, Clone)]
pub struct Notifier {
    queue: Option<SyncSender<Message>>,
}

impl Notifier {
    /// Starts the sender thread when $NOTIFY_SOCKET is set.
    pub fn from_env() -> Notifier {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return Notifier { queue: None };
        }
        let (queue, messages) = sync_channel::<Message>(64);
        let spawned = std::thread::Builder::new()
            .name("shopmirror-notify".into())
            .spawn(move || {
                for message in messages {
                    let sent = match &message {
                        Message::Ready(s) => {
                            sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(s)])
                        }
                        Message::Status(s) => sd_notify::notify(false, &[NotifyState::Status(s)]),
                        Message::Watchdog => sd_notify::notify(false, &[NotifyState::Watchdog]),
                        Message::Stopping(s) => sd_notify::notify(
                            false,
                            &[NotifyState::Stopping, NotifyState::Status(s)],
                        ),
                        Message::Flush(done) => {
                            let _ = done.send(());
                            Ok(())
                        }
                    };
                    if let Err(e) = sent {
                        debug!(error = %e, "systemd notification not sent");
                    }
                }
            });
        Notifier {
            queue: spawned.ok().map(|_| queue),
        }
    }

    fn send(&self, message: Message) {
        if let Some(queue) = &self.queue {
            if let Err(TrySendError::Full(_)) = queue.try_send(message) {
                debug!("systemd notification dropped: the socket's reader lags");
            }
        }
    }

    /// READY=1 with a first STATUS= line.
    pub fn ready(&self, status: &str) {
        self.send(Message::Ready(status.to_string()));
    }

    /// A STATUS= line saying what the daemon is doing.
    pub fn status(&self, status: &str) {
        self.send(Message::Status(status.to_string()));
    }

    /// WATCHDOG=1: the live loop is alive.
    pub fn watchdog(&self) {
        self.send(Message::Watchdog);
    }

    /// STOPPING=1 with a STATUS= line.
    pub fn stopping(&self, status: &str) {
        self.send(Message::Stopping(status.to_string()));
    }

    /// Waits (up to a second) until every queued message is sent: call before exiting.
    pub fn flush(&self) {
        let (done, sent) = std::sync::mpsc::channel();
        if self
            .queue
            .as_ref()
            .is_some_and(|q| q.send(Message::Flush(done)).is_ok())
        {
            let _ = sent.recv_timeout(Duration::from_secs(1));
        }
    }

    /// How often to ping the watchdog: half of $WATCHDOG_USEC. As in libsystemd's
    /// sd_watchdog_enabled, a $WATCHDOG_PID naming another process disables it; an absent one
    /// does not (the sd-notify crate insists on it, so this reads the variables itself).
    pub fn watchdog_interval(&self) -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
                return None;
            }
        }
        (usec > 0).then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(10)))
    }
}
