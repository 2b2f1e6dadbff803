//! The read-only web pages: stores, runs, changes (HTML, JSON, Atom), products with SVG
//! price-history charts, and product search. Served by `shopmirror serve` and beside the
//! daemon's /metrics. Read-only by construction: the pages get a `Db` of read-only
//! `store::Reader`s and nothing else from `store`. Every answer carries a Content-Security-
//! Policy without script; store text is escaped by the templates everywhere.

mod auth;
mod chart;
mod db;
mod error;
mod feed;
mod format;
mod pages;
mod product;
mod series;
mod views;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use db::Db;
pub use error::Error;

use crate::config::{Exposed, WebSettings};

/// How long one page may read the database before its query is stopped.
pub const QUERY_DEADLINE: Duration = Duration::from_secs(10);

/// The longest path and query a page request may have.
const MAX_URI: usize = 2048;

/// Why the pages cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Exposed(#[from] Exposed),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// The pages over the database at `db`, for a listener on `addr` (refused beyond loopback
/// without `web.auth`).
pub fn pages(db: &Path, settings: &WebSettings, addr: SocketAddr) -> Result<Router, StartError> {
    settings.check_exposure(addr)?;
    let db = Arc::new(Db::open(db, QUERY_DEADLINE)?);
    Ok(router(db, settings))
}

/// The page routes over `db`, behind `settings`' authentication.
pub fn router(db: Arc<Db>, settings: &WebSettings) -> Router {
    let routes = Router::new()
        .route("/", get(pages::overview))
        .route("/stores.json", get(pages::stores_json))
        .route("/static/style.css", get(pages::style))
        .route("/changes", get(pages::changes))
        .route("/changes.json", get(pages::changes_json))
        .route("/changes.atom", get(feed::feed_all))
        .route("/search", get(pages::search))
        .route("/search.json", get(pages::search_json))
        .route("/stores/{name}", get(pages::store))
        .route("/stores/{name}/runs.json", get(pages::runs_json))
        .route("/stores/{name}/changes.atom", get(feed::feed_store))
        .route("/stores/{name}/products/{product}", get(product::product))
        .route(
            "/stores/{name}/products/{product}/price.svg",
            get(product::price_svg),
        )
        .with_state(db);
    auth::guard(routes, settings)
        .layer(middleware::from_fn(bounded))
        .layer(middleware::from_fn(headers))
}

/// Refuses overlong request URIs and anything but GET and HEAD.
async fn bounded(request: Request, next: Next) -> Response {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI {
        return (StatusCode::URI_TOO_LONG, "request URI too long\n").into_response();
    }
    next.run(request).await
}

/// The policy every page answer carries: no script at all, styles and images from here only,
/// no framing, no referrer.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
