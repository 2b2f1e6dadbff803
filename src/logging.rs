//! Logging setup: tracing to stderr, human-readable by default.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `default_level` applies unless RUST_LOG says otherwise.
pub fn init(default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("shopmirror={default_level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
