//! The sections of shopmirror(1) that clap cannot generate: CONFIGURATION (see `config`),
//! FILES, ENVIRONMENT, EXIT STATUS, EXAMPLES and SEE ALSO.

use clap_mangen::roff::{bold, italic, roman, Roff};

/// The sections, SEE ALSO naming `pages` (every command's page) first.
pub fn render(pages: &[String]) -> Roff {
    let mut roff = Roff::new();
    super::config::render(&mut roff);
    list(&mut roff, "FILES", FILES);
    list(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    list(&mut roff, "EXIT STATUS", EXIT_STATUS);
    roff.control("SH", ["EXAMPLES"]);
    for (what, command) in EXAMPLES {
        roff.text([roman(*what)]);
        roff.control("IP", []);
        roff.control("nf", []);
        roff.text([bold(*command)]);
        roff.control("fi", []);
        roff.control("PP", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<(String, &str)> = pages.iter().map(|p| (p.clone(), "1")).collect();
    refs.extend(OTHER_PAGES.iter().map(|(p, s)| (p.to_string(), *s)));
    let last = refs.len() - 1;
    for (i, (page, section)) in refs.into_iter().enumerate() {
        let sep = if i == last { "" } else { "," };
        roff.text([bold(page), roman(format!("({section}){sep} "))]);
    }
    roff
}

/// A section of tagged paragraphs.
fn list(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (tag, text) in items {
        roff.control("TP", []);
        roff.text([italic(*tag)]);
        roff.text([roman(*text)]);
    }
}

const FILES: &[(&str, &str)] = &[
    (
        "/etc/shopmirror/config.toml",
        "The packaged service's config (a conffile: the commented example, no store). Other \
         commands read it only when given --config /etc/shopmirror/config.toml.",
    ),
    (
        "./shopmirror.db",
        "The database when neither database.path, --db nor SHOPMIRROR_DB names one; with its \
         -wal and -shm files beside it (SQLite WAL mode).",
    ),
    (
        "/var/lib/shopmirror/shopmirror.db",
        "The packaged service's database (database.path in the installed config).",
    ),
    (
        "<database>.locks/<store>.lock",
        "One lock file per store beside the database, held by the process crawling that \
         store (holding its pid); an OS lock that dies with its holder.",
    ),
    (
        "/usr/lib/systemd/system/shopmirror.service",
        "The daemon's unit (Type=notify, watchdog, sandboxed, DynamicUser=yes); \
         systemctl reload shopmirror sends SIGHUP (re-read the config).",
    ),
    (
        "/usr/lib/systemd/system/shopmirror@.service",
        "The template unit: instance NAME reads /etc/shopmirror/NAME.toml and writes \
         /var/lib/shopmirror/NAME.db (one per shard).",
    ),
    (
        "/var/log/shopmirror/",
        "Where the packaged units allow log.file (LogsDirectory=shopmirror); logs go to the \
         journal anyway.",
    ),
    (
        "/usr/share/bash-completion/completions/shopmirror",
        "Bash completion (the package; zsh: /usr/share/zsh/vendor-completions/_shopmirror, \
         fish: /usr/share/fish/vendor_completions.d/shopmirror.fish).",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("SHOPMIRROR_CONFIG", "The config file, as --config."),
    ("SHOPMIRROR_DB", "The database file, as --db."),
    (
        "SHOPMIRROR_<TABLE>__<KEY>",
        "Any config key (see CONFIGURATION), over the file: e.g. SHOPMIRROR_HTTP__MIN_DELAY=2s, \
         SHOPMIRROR_STORES__<NAME>__URL=https://shop.example.com, SHOPMIRROR_SHARD=2/4.",
    ),
    (
        "RUST_LOG",
        "Log filter (tracing's EnvFilter syntax), over -v/-q, e.g. shopmirror=debug.",
    ),
    (
        "NO_COLOR",
        "Set to anything: no colours in logs and progress.",
    ),
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC",
        "Set by systemd for daemon: readiness, status and watchdog notifications.",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "A sync or a command failed (the one-line error names the store and URL).",
    ),
    ("2", "Bad usage or an invalid config."),
    (
        "130",
        "A sync stopped by Ctrl-C (SIGINT) after committing its pages; the next sync resumes.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "Mirror a store into ./shopmirror.db (again: incrementally):",
        "shopmirror sync https://shop.example.com",
    ),
    (
        "The health of every store, for scripts:",
        "shopmirror status --json",
    ),
    (
        "One product's history, the store named by its URL:",
        "shopmirror history https://shop.example.com some-handle",
    ),
    (
        "Products changed this month as Shopify's import CSV:",
        "shopmirror export --store shop.example.com --format shopify-csv \\\n    \
         --changed-since 2026-12-01 --output changed.csv",
    ),
    (
        "The installed service: add a store, reload, look:",
        "sudoedit /etc/shopmirror/config.toml\nsudo systemctl reload shopmirror\n\
         shopmirror --config /etc/shopmirror/config.toml status",
    ),
    (
        "Query the mirror while the daemon writes:",
        "sqlite3 -readonly shopmirror.db \\\n    \
         'SELECT store, count(*) FROM current_products GROUP BY store'",
    ),
];

/// Pages of other programs worth reading alongside.
const OTHER_PAGES: &[(&str, &str)] = &[
    ("sqlite3", "1"),
    ("systemctl", "1"),
    ("journalctl", "1"),
    ("systemd.exec", "5"),
];
