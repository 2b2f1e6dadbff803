//! Alerts: which recorded changes are announced, to whom, and their delivery. `event` is the
//! alert vocabulary (pure data, imports nothing; the store's outbox and the config use it),
//! `rules` decides and `render` writes each sink's body inside the change's transaction (the
//! outbox rows are written by `store`, hooked into the writer's change funnel), `deliver`
//! sends committed rows over HTTP afterwards, never holding a database transaction across a
//! request.

pub mod deliver;
pub mod event;
pub mod render;
pub mod rules;
mod running;
pub mod sign;

pub use rules::Engine;
pub use running::{attach, Error, Running};
