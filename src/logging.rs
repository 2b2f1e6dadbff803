//! Logging setup: tracing to stderr, readable text by default, JSON lines or journald text
//! when configured, and optionally the same events appended to a log file. Journald text (no
//! colours, no timestamps: journald adds its own) starts each line with its sd-daemon priority
//! (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug/trace), so `journalctl -p warning`
//! filters; it is used when `log.format = "journald"` or when stderr is the journal
//! (`JOURNAL_STREAM` names stderr's device and inode, as systemd sets it). While `sync` shows
//! progress bars, stderr lines are printed above them. Colours only on a terminal and when
//! NO_COLOR is unset.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use indicatif::MultiProgress;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
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

/// Why logging could not be set up: the configured log file cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open log file {}: {source}", path.display())]
pub struct InitError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Installs the global subscriber. `default_level` applies unless RUST_LOG says otherwise.
/// Fails only when the log file cannot be opened.
pub fn init(default_level: &str, settings: &LogSettings) -> Result<(), InitError> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("shopmirror={default_level},warn")))
    };
    let format = match settings.format {
        LogFormat::Text if stderr_is_journal() => LogFormat::Journald,
        other => other,
    };
    let stderr: BoxedLayer = match format {
        LogFormat::Text => fmt::layer()
            .fmt_fields(EscapedFields::default())
            .with_writer(|| Stderr)
            .with_ansi(colours())
            .with_target(false)
            .boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(|| Stderr).boxed(),
        LogFormat::Journald => journald_layer(|| Stderr),
    };
    let mut layers = vec![stderr.with_filter(filter()).boxed()];
    if let Some(path) = &settings.file {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| InitError {
                path: path.clone(),
                source,
            })?;
        let writer = Mutex::new(file);
        let layer: BoxedLayer = match settings.format {
            LogFormat::Json => fmt::layer().json().with_writer(writer).boxed(),
            _ => fmt::layer()
                .fmt_fields(EscapedFields::default())
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

/// Field formatting for text lines: tracing's own, then every control character escaped
/// (`message::shown`), so store text in a field (a handle, a quarantine reason) can neither
/// forge a log line nor drive the terminal. JSON lines escape by themselves.
#[derive(Default)]
struct EscapedFields(fmt::format::DefaultFields);

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut text = String::new();
        self.0.format_fields(Writer::new(&mut text), fields)?;
        writer.write_str(&crate::message::shown(&text))
    }
}

/// Text for the journal: every event prefixed with its priority, no colours, no timestamps.
pub fn journald_layer<W>(writer: W) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = fmt::format()
        .without_time()
        .with_target(false)
        .with_ansi(false);
    fmt::layer()
        .fmt_fields(EscapedFields::default())
        .with_writer(writer)
        .with_ansi(false)
        .event_format(Prioritized(format))
        .boxed()
}

/// True when systemd connected stderr to the journal: `JOURNAL_STREAM=dev:inode` matches
/// stderr (a redirected stderr of a child keeps the variable but not the match).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    stream.to_string_lossy() == format!("{}:{}", meta.dev(), meta.ino())
}

/// The sd-daemon priority of a level (syslog numbering).
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Writes `<N>` before whatever the inner format writes.
struct Prioritized<F>(F);

impl<S, N, F> FormatEvent<S, N> for Prioritized<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// A writer into a shared buffer, handed out per event like stderr.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn a_log_file_that_cannot_be_opened_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("shopmirror.log");
        let settings = LogSettings {
            format: LogFormat::Json,
            file: Some(path.clone()),
        };
        let e = init("info", &settings).unwrap_err();
        assert_eq!(e.path, path);
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        let message = e.to_string();
        let named = format!("cannot open log file {}: ", path.display());
        assert!(message.starts_with(&named), "{message}");
    }

    #[test]
    fn journald_lines_carry_their_priority_and_unquoted_store_fields() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(journald_layer(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(store = %"big-shop", "run failed");
            tracing::warn!(store = %"big-shop", attempt = 2, "retrying");
            tracing::info!(signal = 15, "stop signal");
            tracing::debug!("page written");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for (line, prefix) in lines.iter().zip(["<3>", "<4>", "<6>", "<7>"]) {
            assert!(
                line.starts_with(prefix),
                "{line:?} should start with {prefix}"
            );
        }
        assert!(
            lines[1].contains("store=big-shop attempt=2"),
            "{}",
            lines[1]
        );
        assert!(!text.contains('\u{1b}'), "no colour codes for the journal");
    }

    #[test]
    fn store_text_in_fields_cannot_forge_lines_or_drive_the_terminal() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(journald_layer(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let reason = "handle \"x\nERROR forged\u{1b}]0;t\u{7}\u{202e}\"";
            tracing::warn!(store = %"s\u{9b}", reason = %reason, "product quarantined");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            !text.trim_end().chars().any(crate::message::is_control),
            "{text:?}"
        );
        assert!(text.contains(r"x\u{a}ERROR forged\u{1b}]0;t"), "{text}");
    }
}
