//! shopmirror keeps a local SQLite mirror of Shopify storefront catalogues up to date.
//!
//! # Layout
//!
//! - [`allocator`]: the allocator's settings, applied when the binary starts (the one `unsafe`).
//! - [`cli`]: command-line definitions (clap), nothing else.
//! - [`config`]: figment layers into a validated [`config::Config`] (cron schedules, shards).
//! - [`catalog`]: the domain apart from HTTP: products, money, canonical form and content hash,
//!   collections, sitemap entries, the raw digest; parsed from any endpoint's shape.
//! - [`change`]: the one vocabulary of changes (product events, variant changes, collection
//!   membership), typed with old and new values, and the words they are stored under.
//! - [`endpoint`]: the one vocabulary of what a request is for (listing, collection, sitemap,
//!   single, deletions).
//! - [`backoff`]: the one capped exponential backoff.
//! - [`storefront`]: talking to stores over HTTP only (client policy, pacing, retry, breaker,
//!   guard, and `proxied`: requests that may go through a proxy, every target and redirect
//!   hop checked by the guard's rules); it builds no URL. Never touches the database.
//! - [`store`]: SQLite, and the only module with SQL: schema, the single writer thread, one
//!   write context and change funnel through which every change row is written (and seen by the
//!   writer's observer inside its transaction), read-only queries.
//! - [`sync`]: one run of one store: every request URL (`urls`) and one fetch path, one walk
//!   over every paged feed (`pages`: short page, 25,000 cap, 404), writing each page with its
//!   cursor, confirming deletions, recording how the run ended.
//! - [`daemon`]: the scheduler process: one tokio-cron-scheduler job per store as the clock,
//!   the planner's rules on top (jitter, backoff, breaker holds, plans kept across restarts),
//!   signals, systemd notifications, health (a heartbeat) and metrics over HTTP, sharding.
//! - [`web`]: the read-only web pages (HTML, JSON, Atom, SVG charts, search) served by `serve`
//!   and beside the daemon's metrics; it uses only the read side of `store`.
//! - [`export`]: export formats (CSV, JSON Lines, Shopify import CSV) written row by row from
//!   the store's streaming reads.
//! - [`alerts`]: which recorded changes are announced and their delivery: `event` (the alert
//!   vocabulary, pure, imports nothing; store and config use it), `rules` and `render` (asked by
//!   the store's outbox, the writer's `ChangeObserver`, inside the change's transaction),
//!   `deliver` (sends committed outbox rows over HTTP, after the commit).
//! - [`commands`]: what each CLI command does, on top of the modules above.
//! - [`lock`]: one crawl per store across processes (a file lock per store).
//! - [`logging`]: tracing setup.
//! - [`message`]: one-line messages shared by commands and the daemon, and store text made
//!   safe for terminals and text logs (control characters escaped).
//! - [`outcome`]: how a run ended ([`outcome::RunStatus`]), the one word the run's row, the
//!   daemon's planning, metrics and the CLI share.
//! - [`telemetry`]: the metrics catalogue, and `events`: one function per notable event that
//!   logs and counts it.
//!
//! Imports run downward only: commands -> daemon -> {sync, web}, web -> {store, config,
//! export, catalog}, commands -> daemon -> sync -> {store, storefront, config} ->
//! catalog, commands -> {export -> store, logging -> config, cli}, and config -> storefront (it
//! builds the client's settings). lock, message, outcome, change, endpoint, backoff and
//! allocator import nothing; telemetry imports only those leaves and catalog; any module above may use them. Data flows config -> sync -> storefront
//! (bytes) -> catalog (canonical products) -> store (one transaction per page, cursor
//! included); readers use their own read-only connections.

pub mod alerts;
pub mod allocator;
pub mod backoff;
pub mod catalog;
pub mod change;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod endpoint;
pub mod export;
pub mod lock;
pub mod logging;
pub mod message;
pub mod outcome;
pub mod store;
pub mod storefront;
pub mod sync;
pub mod telemetry;
pub mod web;
