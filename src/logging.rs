//! Logging setup: tracing to stderr, readable text by default, JSON lines or journald-friendly
//! text (no colours, no timestamps: journald adds its own) when configured, and optionally the
//! same events appended to a log file. While `sync` shows progress bars, stderr lines are
//! printed above them. Colours only on a terminal and when NO_COLOR is unset.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Mutex, RwLock};

use indicatif::MultiProgress;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

use crate::config::{LogFormat, LogSettings};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The progress display on screen, if any: log lines are printed above it.
static PROGRESS: RwLock<Option<MultiProgress>> = RwLock::new(None);

/// Sets (or with None, ends) the progress display that log lines go above.
pub fn above_progress(display: Option<MultiProgress>) {
    *PROGRESS.write().unwrap_or_else(|e| e.into_inner()) = display;
}

/// stderr, or above the progress display while one is shown.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let write = || std::io::stderr().write_all(buf).map(|()| buf.len());
        match PROGRESS.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(display) => display.suspend(write),
            None => write(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Colours: on a terminal, unless NO_COLOR is set to anything (https://no-color.org).
fn colours() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber. `default_level` applies unless RUST_LOG says otherwise.
/// Fails only when the log file cannot be opened.
pub fn init(default_level: &str, settings: &LogSettings) -> Result<(), String> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("shopmirror={default_level},warn")))
    };
    let stderr: BoxedLayer = match settings.format {
        LogFormat::Text => fmt::layer()
            .with_writer(|| Stderr)
            .with_ansi(colours())
            .with_target(false)
            .boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(|| Stderr).boxed(),
        LogFormat::Journald => fmt::layer()
            .with_writer(|| Stderr)
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
