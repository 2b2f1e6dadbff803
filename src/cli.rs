//! Command-line definitions (clap) only: the contract scripts rely on. No behaviour here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The version and the git commit the binary was built from ("unknown" outside a checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHOPMIRROR_COMMIT"),
    ")"
);

/// Keeps a local SQLite mirror of Shopify storefront catalogues up to date.
#[derive(Debug, Parser)]
#[command(name = "shopmirror", version = VERSION, about)]
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
    /// Print nothing but errors (no summaries, no warnings).
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
        /// Serve /healthz, /readyz, /metrics and the web pages here instead of daemon.listen
        /// (port 0: any).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Serve the read-only web pages (stores, changes, price charts, feeds, search) and
    /// /healthz over the database, without syncing, until SIGTERM/SIGINT.
    Serve {
        /// Listen here (default 127.0.0.1:9188; another address than loopback needs web.auth).
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
    /// Write the mirrored products as CSV, JSON Lines or Shopify's product-import CSV.
    Export(ExportArgs),
    /// List, rename or forget the stores in the database.
    Stores {
        #[command(subcommand)]
        action: StoresAction,
    },
    /// Versions and price/availability changes of one product, newest first.
    History {
        /// The store: its name (a configured name, or host[:port] for URL targets) or its URL.
        store: String,
        /// Product id or handle.
        product: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// The alert outbox: list, retry and resume what was not delivered, test a sink, deliver.
    Alerts {
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// Ask a running daemon's /healthz; exit 0 when it answers 200, else 1 (for container
    /// HEALTHCHECKs and scripts).
    Healthcheck {
        /// Where to ask (default: /healthz on daemon.listen, via 127.0.0.1 when that is an
        /// any-address such as 0.0.0.0).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Print a shell completion script.
    ///
    /// The Debian package installs all three. For your own user:
    ///
    ///   shopmirror completions bash > ~/.local/share/bash-completion/completions/shopmirror
    ///
    ///   shopmirror completions zsh > ~/.zfunc/_shopmirror   (with fpath+=(~/.zfunc) in ~/.zshrc)
    ///
    ///   shopmirror completions fish > ~/.config/fish/completions/shopmirror.fish
    #[command(verbatim_doc_comment)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, e.g. `shopmirror man | man -l -`; with --dir,
    /// write every page (shopmirror.1 and one per command, e.g. shopmirror-sync.1) there.
    Man {
        /// Write all pages into this directory (printing each path) instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoresAction {
    /// Every store in the database: name, base URL, live products, last run.
    List,
    /// Give a store a new name (rename it in the config file too).
    Rename {
        /// The store's current name, or its URL.
        old: String,
        /// Its new name.
        new: String,
    },
    /// Remove a store and all its rows in one transaction; refused while it is being synced.
    Forget {
        /// The store's name, or its URL.
        name: String,
        /// Required: forgetting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Upgrade an older database to this shopmirror's schema, in place, after a backup copy
    /// beside it (named in the output); needs no configured store.
    Upgrade,
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Alerts not delivered yet (pending and dead), oldest first.
    List {
        /// Only the dead ones (refused, or out of retries).
        #[arg(long)]
        dead: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Make a dead alert (or every dead one) pending again, due now.
    Retry {
        /// The alert's id (from `alerts list`).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<i64>,
        #[arg(long)]
        all_dead: bool,
    },
    /// Resume a sink paused because it answered 410 (Discord 404) or kept failing.
    Resume { sink: String },
    /// Send one sample alert to a sink now and print its answer.
    Test { sink: String },
    /// Send the alerts that are due, within alerts.sync_timeout (for cron users).
    Deliver,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this store, by name or URL (default: every store).
    #[arg(long, value_name = "NAME")]
    pub store: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Only products whose content changed at or after TIME (RFC 3339, YYYY-MM-DD or
    /// 'YYYY-MM-DD HH:MM:SS' UTC); with --include-deleted also products deleted since.
    #[arg(long, value_name = "TIME")]
    pub changed_since: Option<String>,
    /// Include products that have left the store.
    #[arg(long)]
    pub include_deleted: bool,
    /// Only products of the collection with this handle, in collection order.
    #[arg(long, value_name = "HANDLE")]
    pub collection: Option<String>,
    /// CSV: one row per variant instead of one per product.
    #[arg(long)]
    pub variants: bool,
    /// Output file, or - for stdout. A file is written atomically.
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// CSV formats: start with a UTF-8 byte-order mark, for spreadsheet programs that need one.
    #[arg(long)]
    pub bom: bool,
    /// --format csv: write cells that start with =, +, -, @, tab or CR as the store sent them,
    /// instead of with a leading ' that keeps spreadsheets from running them as formulas.
    #[arg(long)]
    pub raw_cells: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Products (or variants with --variants) as CSV.
    Csv,
    /// One JSON object per line: the product as the store sent it, plus `_shopmirror`.
    Jsonl,
    /// Shopify's product-import CSV (needs --store when the database holds several stores).
    ShopifyCsv,
}
