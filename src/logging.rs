//! Logging setup: tracing to stderr, readable text by default, JSON lines or journald-friendly
//! text (no colours, no timestamps: journald adds its own) when configured, and optionally the
//! same events appended to a log file.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

use crate::config::{LogFormat, LogSettings};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber. `default_level` applies unless RUST_LOG says otherwise.
/// Fails only when the log file cannot be opened.
pub fn init(default_level: &str, settings: &LogSettings) -> Result<(), String> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("shopmirror={default_level},warn")))
    };
    let stderr: BoxedLayer = match settings.format {
        LogFormat::Text => fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(std::io::stderr).boxed(),
        LogFormat::Journald => fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .boxed(),
    };
    let mut layers = vec![stderr.with_filter(filter()).boxed()];
    if let Some(path) = &settings.file {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
        let writer = Mutex::new(file);
        let layer: BoxedLayer = match settings.format {
            LogFormat::Json => fmt::layer().json().with_writer(writer).boxed(),
            _ => fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_target(false)
                .boxed(),
        };
        layers.push(layer.with_filter(filter()).boxed());
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Ok(())
}
