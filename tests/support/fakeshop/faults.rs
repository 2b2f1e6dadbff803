//! Fault injection (phase 2 placeholder): configuration and the per-request decision.

use axum::body::Body;
use axum::http::Response;

use super::server::{ConnCtx, Shared};
use super::RequestRecord;

/// Fault configuration; the default injects nothing.
#[derive(Clone, Debug, Default)]
pub struct Faults {}

#[derive(Default)]
pub struct FaultState {
    pub cfg: Faults,
}

impl FaultState {
    pub fn new(cfg: Faults) -> Self {
        FaultState { cfg }
    }
    pub fn set(&mut self, cfg: Faults) {
        self.cfg = cfg;
    }
}

pub enum Action {}

impl Action {
    pub fn name(&self) -> String {
        match *self {}
    }
}

pub fn pick(_sh: &Shared, _path: &str, _ctx: ConnCtx, _host: &str) -> Option<Action> {
    None
}

pub async fn perform(
    _sh: &Shared,
    action: Action,
    _rec: &mut RequestRecord,
) -> (Response<Body>, Option<String>) {
    match action {}
}
