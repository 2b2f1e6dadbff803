//! What a page request can fail with, and the answer each failure gets (status and a short
//! text page; the details of a storage error go to the log, not to the reader).

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::warn;

use crate::message::one_line;
use crate::store;

/// Why a page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the query took longer than {0:?} and was stopped")]
    Timeout(Duration),
    #[error("every database reader is busy; try again")]
    Busy,
    #[error(transparent)]
    Store(store::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Timeout(_) | Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let text = match &self {
            Error::Store(e) => {
                warn!(error = %one_line(e), "web page failed");
                "the database could not be read (see the log)".to_string()
            }
            other => other.to_string(),
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response()
    }
}
