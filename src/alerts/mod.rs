//! Alerts: which recorded changes are announced, to whom, and their delivery. `change` is the
//! vocabulary (pure data, imports nothing; the store's writer and the config use it), `rules`
//! decides and `render` writes each sink's body inside the change's transaction (the outbox
//! rows are written by `store`), `deliver` sends committed rows over HTTP afterwards, never
//! holding a database transaction across a request.

pub mod change;
pub mod deliver;
pub mod render;
pub mod rules;
mod running;
pub mod sign;

pub use rules::Engine;
pub use running::{attach, Error, Running};
