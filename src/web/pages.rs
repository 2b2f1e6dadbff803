//! The list pages (overview, store, changes, search) and their JSON: each reads what it shows through the read-only `Db` and renders one
//! template (HTML, SVG, Atom) or JSON. Lists are paged by a cursor and capped.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::db::Db;
use super::format::{encode, store_path};
use super::views::{
    ChangeView, ChangesPage, FoundView, Overview, RunView, SearchPage, StorePage, StoreView,
};
use super::Error;
use crate::change::ChangeKind;
use crate::store::{ChangeCursor, ChangeFilter, ChangeRow, ChangeSource};

/// Rows on one page of a list unless `limit` says fewer; `limit` is capped at `MAX_ROWS`.
const PAGE_ROWS: u32 = 50;
pub(super) const MAX_ROWS: u32 = 200;

pub type App = Arc<Db>;

pub(super) fn html(page: impl Template) -> Result<Response, Error> {
    let body = page.render().map_err(|e| Error::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

fn rows(limit: Option<u32>) -> u32 {
    limit.unwrap_or(PAGE_ROWS).clamp(1, MAX_ROWS)
}

/// `before` as written in a next-page link: `TIME|SOURCE|ID`.
fn cursor_text(c: &ChangeCursor) -> String {
    encode(&format!("{}|{}|{}", c.observed_at, c.source.as_str(), c.id))
}

fn parse_cursor(text: &str) -> Result<ChangeCursor, Error> {
    let bad = || Error::BadRequest(format!("before={text:?} is not a page cursor"));
    let mut parts = text.splitn(3, '|');
    let (Some(at), Some(source), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok(ChangeCursor {
        observed_at: at.to_string(),
        source: ChangeSource::parse(source).ok_or_else(bad)?,
        id: id.parse().map_err(|_| bad())?,
    })
}

pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

pub async fn overview(State(db): State<App>) -> Result<Response, Error> {
    let (stores, changes, outbox) = db
        .read(|r| {
            Ok((
                r.store_overviews()?,
                r.changes(&ChangeFilter::default(), PAGE_ROWS)?,
                r.outbox_counts()?,
            ))
        })
        .await?;
    html(Overview {
        stores: stores.iter().map(StoreView::from).collect(),
        changes: changes.iter().map(ChangeView::from).collect(),
        outbox,
    })
}

pub async fn stores_json(State(db): State<App>) -> Result<Response, Error> {
    let stores = db.read(|r| r.store_overviews()).await?;
    Ok(Json(stores).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<u32>,
}

/// The store's name, or NotFound.
pub(super) async fn known_store(db: &App, name: &str) -> Result<String, Error> {
    let store = name.to_string();
    match db.read(move |r| r.store_base_url(&store)).await? {
        Some(base_url) => Ok(base_url),
        None => Err(Error::NotFound(format!("no store named {name:?}"))),
    }
}

pub async fn store(
    State(db): State<App>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Error> {
    let base_url = known_store(&db, &name).await?;
    let limit = rows(q.limit);
    let filter = ChangeFilter {
        store: Some(name.clone()),
        before: q.before.as_deref().map(parse_cursor).transpose()?,
        ..ChangeFilter::default()
    };
    let store = name.clone();
    let (runs, changes) = db
        .read(move |r| Ok((r.recent_runs(&store, 20)?, r.changes(&filter, limit)?)))
        .await?;
    let href = store_path(&name);
    html(StorePage {
        next_href: next_cursor(&changes, limit).map(|c| format!("{href}?before={c}")),
        feed_href: format!("{href}/changes.atom"),
        name,
        href,
        base_url,
        runs: runs.iter().map(RunView::from).collect(),
        changes: changes.iter().map(ChangeView::from).collect(),
    })
}

pub async fn runs_json(State(db): State<App>, Path(name): Path<String>) -> Result<Response, Error> {
    known_store(&db, &name).await?;
    let runs = db.read(move |r| r.recent_runs(&name, 20)).await?;
    Ok(Json(runs).into_response())
}

/// The cursor of the page after `rows`, when the page was full.
fn next_cursor(rows: &[ChangeRow], limit: u32) -> Option<String> {
    (rows.len() as u32 == limit)
        .then(|| rows.last().map(|c| cursor_text(&c.cursor())))
        .flatten()
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangesQuery {
    store: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

impl ChangesQuery {
    fn filter(&self) -> Result<ChangeFilter, Error> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let kind = match given(&self.kind) {
            None => None,
            Some(k) => Some(ChangeKind::parse(&k).ok_or_else(|| {
                let known: Vec<&str> = ChangeKind::all().map(ChangeKind::as_str).collect();
                Error::BadRequest(format!("kind={k:?} is not one of {}", known.join(", ")))
            })?),
        };
        let since = given(&self.since)
            .map(|t| crate::export::parse_time(&t))
            .transpose()
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        Ok(ChangeFilter {
            store: given(&self.store),
            product_id: None,
            kind,
            since,
            before: given(&self.before)
                .as_deref()
                .map(parse_cursor)
                .transpose()?,
        })
    }

    /// This query's link at `path` starting after `cursor`.
    fn link(&self, path: &str, cursor: Option<&str>) -> String {
        let mut pairs = Vec::new();
        for (key, value) in [
            ("store", &self.store),
            ("kind", &self.kind),
            ("since", &self.since),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                pairs.push(format!("{key}={}", encode(v)));
            }
        }
        if let Some(limit) = self.limit {
            pairs.push(format!("limit={limit}"));
        }
        if let Some(c) = cursor {
            pairs.push(format!("before={c}"));
        }
        match pairs.is_empty() {
            true => path.to_string(),
            false => format!("{path}?{}", pairs.join("&")),
        }
    }
}

async fn read_changes(
    db: &App,
    q: &ChangesQuery,
) -> Result<(Vec<ChangeRow>, Option<String>), Error> {
    let filter = q.filter()?;
    let limit = rows(q.limit);
    let changes = db.read(move |r| r.changes(&filter, limit)).await?;
    let next = next_cursor(&changes, limit);
    Ok((changes, next))
}

pub async fn changes(
    State(db): State<App>,
    Query(q): Query<ChangesQuery>,
) -> Result<Response, Error> {
    let (changes, next) = read_changes(&db, &q).await?;
    html(ChangesPage {
        store: q.store.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        since: q.since.clone().unwrap_or_default(),
        kinds: ChangeKind::all().map(ChangeKind::as_str).collect(),
        changes: changes.iter().map(ChangeView::from).collect(),
        next_href: next.as_deref().map(|c| q.link("/changes", Some(c))),
        json_href: q.link("/changes.json", None),
        feed_href: match q.store.as_deref().filter(|s| !s.is_empty()) {
            Some(store) => format!("{}/changes.atom", store_path(store)),
            None => "/changes.atom".into(),
        },
    })
}

pub async fn changes_json(
    State(db): State<App>,
    Query(q): Query<ChangesQuery>,
) -> Result<Response, Error> {
    let (changes, next) = read_changes(&db, &q).await?;
    let next = next.as_deref().map(|c| q.link("/changes.json", Some(c)));
    Ok(Json(serde_json::json!({ "changes": changes, "next": next })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    store: Option<String>,
    limit: Option<u32>,
}

async fn search_rows(db: &App, q: &SearchQuery) -> Result<Vec<crate::store::Found>, Error> {
    let words = q.q.clone().unwrap_or_default();
    if words.len() > 200 {
        return Err(Error::BadRequest(
            "the search is longer than 200 bytes".into(),
        ));
    }
    let store = q.store.clone().filter(|s| !s.is_empty());
    let limit = rows(q.limit);
    db.read(move |r| r.search_products(store.as_deref(), &words, limit))
        .await
}

pub async fn search(
    State(db): State<App>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, Error> {
    let found = search_rows(&db, &q).await?;
    html(SearchPage {
        q: q.q.unwrap_or_default(),
        store: q.store.unwrap_or_default(),
        results: found.iter().map(FoundView::from).collect(),
    })
}

pub async fn search_json(
    State(db): State<App>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, Error> {
    Ok(Json(search_rows(&db, &q).await?).into_response())
}
