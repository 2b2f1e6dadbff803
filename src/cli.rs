//! Command-line definitions (clap) only: the contract scripts rely on. No behaviour here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Keeps a local SQLite mirror of Shopify storefront catalogues up to date.
#[derive(Debug, Parser)]
#[command(name = "shopmirror", version, about)]
pub struct Cli {
    /// Config file (TOML, or JSON when it ends in .json).
    #[arg(long, global = true, env = "SHOPMIRROR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database file (default: database.path from the config, else ./shopmirror.db).
    #[arg(long, global = true, env = "SHOPMIRROR_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One-shot sync of configured stores (by name) or store URLs; all configured stores when
    /// no target is given.
    Sync {
        /// A configured store name or a store URL such as https://shop.example.com
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
    },
    /// Run the scheduler: keep every configured store fresh (what systemd starts).
    /// SIGHUP reloads the config; SIGTERM/SIGINT stop gracefully.
    Daemon {
        /// Serve /healthz, /readyz and /metrics here instead of daemon.listen (port 0: any).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Per-store health and last run.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Validate and print the resolved config.
    CheckConfig,
}
