//! Unix signals to daemon controls: SIGTERM or SIGINT asks for a graceful stop (a second one
//! exits at once), SIGHUP asks for a config reload. Handlers are signal-hook's; nothing else
//! here touches process state.

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;
use tokio::sync::mpsc;
use tracing::{error, info};

use super::Control;

/// Exit status when a second stop signal cuts the graceful shutdown short.
const FORCED_EXIT: i32 = 130;

/// Installs the handlers and forwards signals as `Control`s until the receiver is gone.
pub fn forward(controls: mpsc::Sender<Control>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    tokio::spawn(async move {
        let mut stopping = false;
        while let Some(signal) = signals.next().await {
            let control = match signal {
                SIGHUP => {
                    info!("SIGHUP: reloading the config");
                    Control::Reload
                }
                _ if stopping => {
                    error!(signal, "second stop signal: exiting at once");
                    std::process::exit(FORCED_EXIT);
                }
                _ => {
                    // A normal stop (systemctl stop, SIGTERM) is no reason for a warning.
                    info!(
                        signal,
                        "stop signal: finishing in-flight pages, then exiting"
                    );
                    stopping = true;
                    Control::Shutdown
                }
            };
            if controls.send(control).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}
