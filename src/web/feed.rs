//! The Atom 1.0 feeds of changes (all stores, one store): the latest changes, one entry per
//! change, its id stable across requests (store, table and row id).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::format::{describe, encode, product_name, product_path, store_path};
use super::pages::{known_store, App};
use super::views::{Entry, Feed};
use super::Error;
use crate::store::{ChangeFilter, ChangeRow};

/// Entries in a feed.
const FEED_ENTRIES: u32 = 100;

/// A stored time as Atom wants it (RFC 3339, UTC).
fn atom_time(at: &str) -> String {
    format!("{}Z", at.replacen(' ', "T", 1))
}

/// The stable id of a change: its store, table and row id.
fn entry_id(c: &ChangeRow) -> String {
    format!(
        "urn:shopmirror:{}:{}:{}",
        encode(&c.store),
        c.source.as_str(),
        c.id
    )
}

fn feed(
    id: String,
    title: String,
    self_href: String,
    html_href: String,
    changes: &[ChangeRow],
) -> Result<Response, Error> {
    let feed = Feed {
        id,
        title,
        self_href,
        alternate_href: html_href,
        updated: changes.first().map_or_else(
            || "1970-01-01T00:00:00Z".into(),
            |c| atom_time(&c.observed_at),
        ),
        entries: changes
            .iter()
            .map(|c| Entry {
                id: entry_id(c),
                title: format!("{}: {}", product_name(c), describe(c)),
                updated: atom_time(&c.observed_at),
                href: product_path(&c.store, c.product_id),
                summary: format!("{} — {}: {}", c.store, product_name(c), describe(c)),
            })
            .collect(),
    };
    let body = feed.render().map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

pub async fn feed_all(State(db): State<App>) -> Result<Response, Error> {
    let changes = db
        .read(|r| r.changes(&ChangeFilter::default(), FEED_ENTRIES))
        .await?;
    feed(
        "urn:shopmirror:changes".into(),
        "shopmirror: all changes".into(),
        "/changes.atom".into(),
        "/changes".into(),
        &changes,
    )
}

pub async fn feed_store(
    State(db): State<App>,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    known_store(&db, &name).await?;
    let filter = ChangeFilter {
        store: Some(name.clone()),
        ..ChangeFilter::default()
    };
    let changes = db.read(move |r| r.changes(&filter, FEED_ENTRIES)).await?;
    let href = store_path(&name);
    feed(
        format!("urn:shopmirror:{}", encode(&name)),
        format!("shopmirror: changes of {name}"),
        format!("{href}/changes.atom"),
        href,
        &changes,
    )
}
