//! What each command does, built from the library's modules, and how failures map to exit
//! codes. One file per command.

mod alerts;
mod check_config;
mod daemon;
mod db;
mod export;
mod healthcheck;
mod history;
mod manual;
mod progress;
mod serve;
mod status;
mod store_arg;
mod stores;
mod sync;

use std::fmt;

use crate::cli::{Cli, Command, DbAction};
use crate::config::{self, Config};
use crate::message::one_line;

/// The runtime of `sync` and `daemon`. Blocking threads (page scans and parses, DNS lookups)
/// are capped at the CPU count: glibc gives each allocating thread its own malloc arena, which
/// keeps its peak, so an uncapped pool (one more thread per store in flight) made peak RSS grow
/// with `concurrent_stores`. More threads than cores would not parse faster anyway.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores.max(2))
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start runtime: {e}")))
}

/// A command's failure: its one-line message and its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or config: exit 2.
    Usage(String),
    /// A sync or command failed: exit 1.
    Failed(String),
    /// Stopped by Ctrl-C (SIGINT) after committing what it had: exit 130, as shells expect.
    Interrupted(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
            Failure::Interrupted(_) => 130,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Failed(m) | Failure::Interrupted(m) => f.write_str(m),
        }
    }
}

impl From<config::Error> for Failure {
    fn from(e: config::Error) -> Self {
        Failure::Usage(one_line(&e))
    }
}

impl From<crate::logging::InitError> for Failure {
    fn from(e: crate::logging::InitError) -> Self {
        Failure::Usage(e.to_string())
    }
}

impl From<crate::storefront::BuildError> for Failure {
    fn from(e: crate::storefront::BuildError) -> Self {
        Failure::Failed(e.to_string())
    }
}

impl From<crate::store::Error> for Failure {
    fn from(e: crate::store::Error) -> Self {
        Failure::Failed(one_line(&e))
    }
}

/// Prints one line on stdout; a closed pipe (`| head`) is not an error worth a panic.
pub(crate) fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Prints one line of human-readable text that carries store text, control characters escaped
/// (see `message::shown`).
pub(crate) fn print_shown(text: &str) {
    print_line(&crate::message::shown(text));
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    // Generated from the command line alone: no config needed.
    match cli.command {
        Command::Completions { shell: which } => return manual::completions(which),
        Command::Man { dir } => return manual::man(dir.as_deref()),
        _ => {}
    }
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // A one-shot sync reports on stdout and in its exit code; logs are for -v.
        (false, 0) if matches!(cli.command, Command::Sync { .. }) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let config = Config::load(cli.config.as_deref(), cli.db.as_deref())?;
    crate::logging::init(level, &config.log)?;
    match cli.command {
        Command::Daemon { listen } => {
            daemon::run(cli.config.as_deref(), cli.db.as_deref(), config, listen)
        }
        Command::Sync { targets } => {
            sync::run(&config, &targets, interactive && !cli.quiet, cli.quiet)
        }
        Command::Serve { listen } => serve::run(&config, listen),
        Command::Status { json } => status::run(&config, json),
        Command::CheckConfig => check_config::run(&config),
        Command::Stores { action } => stores::run(&config, &action),
        Command::Export(args) => export::run(&config, &args),
        Command::History {
            store,
            product,
            json,
        } => history::run(&config, &store, &product, json),
        Command::Db {
            action: DbAction::Upgrade,
        } => db::upgrade(&config),
        Command::Healthcheck { url } => healthcheck::run(&config, url.as_deref()),
        Command::Alerts { action } => alerts::run(&config, &action),
        Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("handled before the config")
        }
    }
}
