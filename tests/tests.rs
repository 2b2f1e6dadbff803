//! The integration tests, one binary (as ripgrep does): a module per area, all sharing the
//! support kit (the fake storefront, the real binary as a child process, mirror checks), which is
//! compiled and linked once.

mod support;

mod alerts;
mod alerts_delivery;
mod big_stores;
mod catalog;
mod collection_walks;
mod config_env;
mod corners;
mod corners3;
mod crash;
mod credentials;
mod daemon;
mod daemon_faults;
mod daemon_upkeep;
mod exclusive;
mod export;
mod export_stream;
mod fakeshop_faults;
mod fakeshop_selftest;
mod journal;
mod listener;
mod motion;
mod newcomer;
mod pages_in_flight;
mod pipes;
mod progress;
mod readme_plans;
mod resilience;
mod safety;
mod schedule;
mod seen;
mod shipping;
mod stores;
mod sync;
mod web;
mod web_browser;
