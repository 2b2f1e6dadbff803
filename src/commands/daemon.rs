//! `shopmirror daemon`: runs the scheduler until SIGTERM/SIGINT, reloading on SIGHUP. Wires
//! the process (runtime, signal handlers) to `daemon::run`, which gets everything as parameters.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Failure;
use crate::config::Config;
use crate::daemon::{self, schedule::Clock, signals, Options};
use crate::message::one_line;

pub fn run(
    config_file: Option<&Path>,
    db: Option<&Path>,
    config: Config,
    listen: Option<SocketAddr>,
) -> Result<(), Failure> {
    let runtime = super::runtime()?;
    let options = Options {
        config_file: config_file.map(Path::to_path_buf),
        db: db.map(Path::to_path_buf),
        listen: listen.unwrap_or(config.daemon.listen),
        clock: Clock::System,
    };
    let result = runtime.block_on(async move {
        let (controls, receiver) = mpsc::channel(8);
        signals::forward(controls)
            .map_err(|e| Failure::Failed(format!("cannot install signal handlers: {e}")))?;
        daemon::run(options, config, receiver)
            .await
            .map_err(|e| Failure::Failed(one_line(&e)))
    });
    // Abandoned requests and parsers must not hold the exit back past the grace period.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}
