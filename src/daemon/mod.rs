//! The daemon: keeps every configured store fresh on its schedule. Owns the live loop
//! (dispatching runs, planning the next ones, reloading the config), signal handling, systemd
//! notifications, and the health/metrics endpoint. Syncing itself lives in `sync`.

pub mod schedule;
pub mod shard;
