//! The pages' templates (askama, compiled in, HTML-escaped automatically) and the rows they
//! show, built from the store's read types. Store text reaches the templates only as escaped
//! values; the one unescaped insertion is the chart, itself an escaped SVG template.

use askama::Template;

use super::format::{describe, duration, product_name, product_path, store_path};
use crate::store::{ChangeRow, Found, OutboxCount, RunSummary, StoreOverview};

/// One change as a table row.
pub struct ChangeView {
    pub at: String,
    pub store: String,
    pub store_href: String,
    pub product: String,
    pub product_href: String,
    pub what: String,
    pub kind: String,
}

impl From<&ChangeRow> for ChangeView {
    fn from(c: &ChangeRow) -> ChangeView {
        ChangeView {
            at: c.observed_at.clone(),
            store: c.store.clone(),
            store_href: store_path(&c.store),
            product: product_name(c),
            product_href: product_path(&c.store, c.product_id),
            what: describe(c),
            kind: c.kind.as_str().to_string(),
        }
    }
}

/// One run as a table row.
pub struct RunView {
    pub id: i64,
    pub status: String,
    pub started: String,
    pub duration: String,
    pub requests: i64,
    pub changes: String,
    pub error: String,
}

impl From<&RunSummary> for RunView {
    fn from(r: &RunSummary) -> RunView {
        RunView {
            id: r.run_id,
            status: r.status.as_str().to_string(),
            started: r.started_at.clone(),
            duration: r.duration_seconds.map(duration).unwrap_or_default(),
            requests: r.requests,
            changes: format!(
                "+{} ~{} −{} ↺{}",
                r.products_new, r.products_changed, r.products_deleted, r.products_restored
            ),
            error: r.error.clone().unwrap_or_default(),
        }
    }
}

/// One store as an overview row.
pub struct StoreView {
    pub name: String,
    pub href: String,
    pub base_url: String,
    pub live_products: i64,
    pub live_variants: i64,
    pub run: Option<RunView>,
    pub next_run: String,
    pub failure_streak: i64,
    pub last_error: String,
    pub quarantined: i64,
}

impl From<&StoreOverview> for StoreView {
    fn from(s: &StoreOverview) -> StoreView {
        StoreView {
            name: s.store.clone(),
            href: store_path(&s.store),
            base_url: s.base_url.clone(),
            live_products: s.live_products,
            live_variants: s.live_variants,
            run: s.last_run.as_ref().map(RunView::from),
            next_run: s.next_sync_at.clone().unwrap_or_else(|| "—".into()),
            failure_streak: s.failure_streak,
            last_error: s.last_error.clone().unwrap_or_default(),
            quarantined: s.quarantined,
        }
    }
}

/// One search result as a row.
pub struct FoundView {
    pub store: String,
    pub href: String,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub skus: String,
    pub deleted: bool,
}

impl From<&Found> for FoundView {
    fn from(f: &Found) -> FoundView {
        FoundView {
            store: f.store.clone(),
            href: product_path(&f.store, f.product_id),
            title: f.title.clone(),
            handle: f.handle.clone(),
            vendor: f.vendor.clone(),
            skus: f.skus.clone(),
            deleted: f.deleted_at.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct Overview {
    pub stores: Vec<StoreView>,
    pub changes: Vec<ChangeView>,
    pub outbox: Vec<OutboxCount>,
}

#[derive(Template)]
#[template(path = "store.html")]
pub struct StorePage {
    pub name: String,
    pub href: String,
    pub base_url: String,
    pub runs: Vec<RunView>,
    pub changes: Vec<ChangeView>,
    pub next_href: Option<String>,
    pub feed_href: String,
}

#[derive(Template)]
#[template(path = "changes.html")]
pub struct ChangesPage {
    pub store: String,
    pub kind: String,
    pub since: String,
    pub kinds: Vec<&'static str>,
    pub changes: Vec<ChangeView>,
    pub next_href: Option<String>,
    pub json_href: String,
    pub feed_href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub q: String,
    pub store: String,
    pub results: Vec<FoundView>,
}

/// A variant on its product's page.
pub struct VariantView {
    pub title: String,
    pub sku: String,
    pub price: String,
    pub compare_at: String,
    pub availability: &'static str,
    pub chart: String,
    pub chart_href: String,
}

/// A content version as a row.
pub struct VersionView {
    pub first: String,
    pub last: String,
    pub hash: String,
    pub current: bool,
    pub changed: String,
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductView {
    pub store: String,
    pub store_href: String,
    pub product_id: i64,
    pub title: String,
    pub handle: String,
    pub product_url: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    pub images: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub deleted_at: Option<String>,
    pub variants: Vec<VariantView>,
    pub versions: Vec<VersionView>,
    pub changes: Vec<ChangeView>,
}

/// One Atom entry.
pub struct Entry {
    pub id: String,
    pub title: String,
    pub updated: String,
    pub href: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "feed.xml")]
pub struct Feed {
    pub id: String,
    pub title: String,
    pub self_href: String,
    pub alternate_href: String,
    pub updated: String,
    pub entries: Vec<Entry>,
}
