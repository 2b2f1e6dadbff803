//! The product page (facts, variants, a price chart per variant, changes, versions) and the
//! chart alone as SVG.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::chart::Chart;
use super::format::{encode, product_path, store_path};
use super::pages::{html, App, MAX_ROWS};
use super::series::Series;
use super::views::{ChangeView, ProductView, VariantView, VersionView};
use super::Error;
use crate::change::ProductEvent;
use crate::store::{ChangeFilter, ChangeRow, ProductPage};

async fn read_product(
    db: &App,
    store: &str,
    product: &str,
) -> Result<(ProductPage, Vec<ChangeRow>), Error> {
    let (s, p) = (store.to_string(), product.to_string());
    let found = db
        .read(move |r| {
            let Some(page) = r.product_page(&s, &p)? else {
                return Ok(None);
            };
            let filter = ChangeFilter {
                store: Some(s.clone()),
                product_id: Some(page.history.product_id),
                ..ChangeFilter::default()
            };
            let changes = r.changes(&filter, MAX_ROWS)?;
            Ok(Some((page, changes)))
        })
        .await?;
    found.ok_or_else(|| {
        Error::NotFound(format!(
            "store {store:?} has no product with id or handle {product:?}"
        ))
    })
}

pub async fn product(
    State(db): State<App>,
    Path((store, product)): Path<(String, String)>,
) -> Result<Response, Error> {
    let (page, changes) = read_product(&db, &store, &product).await?;
    let h = &page.history;
    let href = product_path(&store, h.product_id);
    let variants = page
        .variants
        .iter()
        .map(|v| {
            let series = Series::of(&page, v);
            let chart = Chart::draw(&series, &format!("{} — {}", h.title, v.title), false);
            Ok(VariantView {
                title: v.title.clone(),
                sku: v.sku.clone().unwrap_or_default(),
                price: v.price.clone(),
                compare_at: v
                    .compare_at_price
                    .clone()
                    .filter(|_| v.compare_at_price_cents.is_some())
                    .unwrap_or_default(),
                availability: match v.available {
                    Some(true) => "in stock",
                    Some(false) => "out of stock",
                    None => "not stated",
                },
                chart: chart.render().map_err(|e| Error::Internal(e.to_string()))?,
                chart_href: format!("{href}/price.svg?variant={}", v.variant_id),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let versions = h
        .versions
        .iter()
        .zip(h.changed_fields())
        .map(|(v, fields)| VersionView {
            first: v.first_observed_at.clone(),
            last: v.last_observed_at.clone(),
            hash: v.content_hash.chars().take(12).collect(),
            current: v.current,
            changed: match fields {
                None => "first version".into(),
                Some(f) if f.is_empty() => ProductEvent::Changed.as_str().into(),
                Some(f) => f.join(", "),
            },
        })
        .collect();
    html(ProductView {
        store_href: store_path(&store),
        product_url: format!(
            "{}/products/{}",
            page.base_url.trim_end_matches('/'),
            encode(&h.handle)
        ),
        store,
        product_id: h.product_id,
        title: h.title.clone(),
        handle: h.handle.clone(),
        vendor: page.vendor.clone(),
        product_type: page.product_type.clone(),
        tags: page.tags.clone(),
        images: page.images.clone(),
        first_seen: h.first_seen_at.clone(),
        last_seen: h.last_seen_at.clone(),
        deleted_at: h.deleted_at.clone(),
        variants,
        versions,
        changes: changes.iter().map(ChangeView::from).collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct ChartQuery {
    variant: i64,
    days: Option<u32>,
}

pub async fn price_svg(
    State(db): State<App>,
    Path((store, product)): Path<(String, String)>,
    Query(q): Query<ChartQuery>,
) -> Result<Response, Error> {
    let (page, _) = read_product(&db, &store, &product).await?;
    let variant = page
        .variants
        .iter()
        .find(|v| v.variant_id == q.variant)
        .ok_or_else(|| {
            Error::NotFound(format!("product {product} has no variant {}", q.variant))
        })?;
    let mut series = Series::of(&page, variant);
    if let Some(days) = q.days {
        let from = chrono::NaiveDateTime::parse_from_str(&series.end, "%Y-%m-%d %H:%M:%S")
            .map_err(|e| Error::Internal(e.to_string()))?
            - chrono::Duration::days(i64::from(days.min(36_500)));
        series = series.since(&from.format("%Y-%m-%d %H:%M:%S").to_string());
    }
    let name = format!("{} — {}", page.history.title, variant.title);
    let body = Chart::draw(&series, &name, true)
        .render()
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body,
    )
        .into_response())
}
