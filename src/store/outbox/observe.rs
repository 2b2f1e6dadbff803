//! Alert rows for the changes of one transaction: before the body runs the writer notes the
//! last change rows (`Marks`); before it commits, every change row written since is read back
//! with its product and variant as now written, shown to the observer, and each planned alert
//! is inserted unless the store has no complete run yet (its baseline alerts nothing), the
//! rule's cooldown holds, or the row already exists (rule, sink and change are unique).

use std::collections::HashMap;
use std::path::Path;

use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{params, OptionalExtension, Transaction};

use super::now_millis;
use crate::alerts::change::{
    AlertChange, AlertKind, AlertProduct, AlertVariant, Observer, VariantState,
};
use crate::catalog::Money;
use crate::store::{now_text, Context, Error};

/// The last change rows before a transaction's body.
pub struct Marks {
    event: i64,
    change: i64,
}

pub fn marks(tx: &Transaction, path: &Path) -> Result<Marks, Error> {
    let last = |sql| {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .ctx(path, "reading the last change rows")
    };
    Ok(Marks {
        event: last("SELECT coalesce(max(event_id), 0) FROM product_events")?,
        change: last("SELECT coalesce(max(change_id), 0) FROM variant_changes")?,
    })
}

/// A variant change row.
struct Row {
    id: i64,
    store_id: i64,
    product_id: i64,
    variant_id: i64,
    field: String,
    old: Option<String>,
    new: Option<String>,
    observed_at: String,
}

/// Writes the alert rows of the changes recorded since `marks`; returns the sink of each row
/// written.
pub fn observe(
    tx: &Transaction,
    path: &Path,
    observer: &dyn Observer,
    marks: &Marks,
) -> Result<Vec<String>, Error> {
    let mut baseline = HashMap::new();
    let mut sinks = Vec::new();
    let mut changes = product_changes(tx, path, marks.event)?;
    changes.extend(variant_changes(tx, path, marks.change)?);
    for (store_id, product_id, variant_id, change) in changes {
        let done = match baseline.get(&store_id) {
            Some(done) => *done,
            None => {
                let done = baseline_done(tx, path, store_id)?;
                baseline.insert(store_id, done);
                done
            }
        };
        if !done {
            continue;
        }
        let planned = observer.alerts_for(&change);
        let mut cooled: HashMap<&str, bool> = HashMap::new();
        for alert in &planned {
            let skip = match cooled.get(alert.rule.as_str()) {
                Some(skip) => *skip,
                None => {
                    let skip = match alert.cooldown {
                        Some(period) => {
                            let ids = (store_id, product_id, variant_id);
                            cooling(tx, path, &alert.rule, ids, period)?
                        }
                        None => false,
                    };
                    cooled.insert(&alert.rule, skip);
                    skip
                }
            };
            if skip {
                continue;
            }
            let message_id = format!("msg_{}", Alphanumeric.sample_string(&mut rand::rng(), 24));
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO alert_outbox (message_id, rule, sink, source, store_id,
                         product_id, variant_id, event, body, created_at, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        message_id,
                        alert.rule,
                        alert.sink,
                        change.source,
                        store_id,
                        product_id,
                        variant_id,
                        change.kind.event_type(),
                        alert.body,
                        now_text(),
                        now_millis(),
                    ])
                })
                .ctx(path, "writing alert")?;
            if inserted == 1 {
                sinks.push(alert.sink.clone());
            }
        }
    }
    Ok(sinks)
}

/// A store's baseline is done once one of its runs finished (complete, or capped).
fn baseline_done(tx: &Transaction, path: &Path, store_id: i64) -> Result<bool, Error> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM sync_runs
                        WHERE store_id = ?1 AND status IN ('complete', 'capped'))",
    )
    .and_then(|mut s| s.query_row([store_id], |r| r.get(0)))
    .ctx(path, "reading the store's baseline")
}

/// Whether `rule` wrote a row for this product or variant within `period`.
fn cooling(
    tx: &Transaction,
    path: &Path,
    rule: &str,
    (store_id, product_id, variant_id): (i64, i64, Option<i64>),
    period: std::time::Duration,
) -> Result<bool, Error> {
    let since = chrono::Utc::now() - chrono::Duration::from_std(period).unwrap_or_default();
    let since = since.format("%Y-%m-%d %H:%M:%S").to_string();
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM alert_outbox
                        WHERE rule = ?1 AND store_id = ?2 AND product_id = ?3
                          AND variant_id IS ?4 AND created_at > ?5)",
    )
    .and_then(|mut s| {
        s.query_row(
            params![rule, store_id, product_id, variant_id, since],
            |r| r.get(0),
        )
    })
    .ctx(path, "checking the alert cooldown")
}

type Found = (i64, i64, Option<i64>, AlertChange);

/// Products added, removed (tombstoned) or restored since `after`.
fn product_changes(tx: &Transaction, path: &Path, after: i64) -> Result<Vec<Found>, Error> {
    let rows: Vec<(i64, i64, i64, String, String)> = tx
        .prepare_cached(
            "SELECT event_id, store_id, product_id, event, observed_at FROM product_events
             WHERE event_id > ?1 AND event IN ('added', 'deleted', 'restored')
             ORDER BY event_id",
        )
        .and_then(|mut s| {
            s.query_map([after], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .ctx(path, "reading product events")?;
    let mut found = Vec::new();
    for (id, store_id, product_id, event, observed_at) in rows {
        let kind = match event.as_str() {
            "added" => AlertKind::ProductAdded,
            "deleted" => AlertKind::ProductRemoved,
            _ => AlertKind::ProductRestored,
        };
        let Some((store, product)) = product(tx, path, store_id, product_id)? else {
            continue;
        };
        let change = AlertChange {
            kind,
            source: format!("product_event:{id}"),
            store,
            observed_at,
            product,
            variant: None,
        };
        found.push((store_id, product_id, None, change));
    }
    Ok(found)
}

/// Price and availability changes since `after`, each with the variant's state before and
/// after (a variant whose price and availability both changed shows both in each).
fn variant_changes(tx: &Transaction, path: &Path, after: i64) -> Result<Vec<Found>, Error> {
    let rows: Vec<Row> = tx
        .prepare_cached(
            "SELECT change_id, store_id, product_id, variant_id, field, old_value, new_value,
                 observed_at
             FROM variant_changes
             WHERE change_id > ?1 AND field IN ('price', 'available') ORDER BY change_id",
        )
        .and_then(|mut s| {
            s.query_map([after], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    store_id: r.get(1)?,
                    product_id: r.get(2)?,
                    variant_id: r.get(3)?,
                    field: r.get(4)?,
                    old: r.get(5)?,
                    new: r.get(6)?,
                    observed_at: r.get(7)?,
                })
            })?
            .collect()
        })
        .ctx(path, "reading variant changes")?;
    let mut found = Vec::new();
    for row in &rows {
        let Some((store, product)) = product(tx, path, row.store_id, row.product_id)? else {
            continue;
        };
        let Some((variant, now)) = variant(tx, path, row)? else {
            continue;
        };
        let sibling = |field: &str| {
            rows.iter().find(|r| {
                r.field == field
                    && (r.store_id, r.product_id, r.variant_id)
                        == (row.store_id, row.product_id, row.variant_id)
            })
        };
        let (mut old, mut new) = (now.clone(), now);
        if let Some(price) = sibling("price") {
            old.price = price.old.clone().unwrap_or_default();
            old.price_cents = cents(&old.price);
            new.price = price.new.clone().unwrap_or_default();
            new.price_cents = cents(&new.price);
        }
        if let Some(available) = sibling("available") {
            old.available = available.old.as_deref().map(|v| v == "1");
            new.available = available.new.as_deref().map(|v| v == "1");
        }
        let kind = match row.field.as_str() {
            "price" if new.price_cents < old.price_cents => AlertKind::PriceDrop,
            "price" if new.price_cents > old.price_cents => AlertKind::PriceRise,
            "available" if new.available == Some(true) => AlertKind::BackInStock,
            "available" if new.available == Some(false) => AlertKind::OutOfStock,
            _ => continue,
        };
        let change = AlertChange {
            kind,
            source: format!("variant_change:{}", row.id),
            store,
            observed_at: row.observed_at.clone(),
            product,
            variant: Some((variant, old, new)),
        };
        found.push((row.store_id, row.product_id, Some(row.variant_id), change));
    }
    Ok(found)
}

fn cents(text: &str) -> i64 {
    Money::parse(text).map_or(0, |m| m.cents())
}

/// The store's name and the product as now written, with its collections.
fn product(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    product_id: i64,
) -> Result<Option<(String, AlertProduct)>, Error> {
    let found = tx
        .prepare_cached(
            "SELECT s.name, s.base_url, p.handle, p.title, p.vendor, p.product_type, p.tags
             FROM products p JOIN stores s USING (store_id)
             WHERE p.store_id = ?1 AND p.product_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row([store_id, product_id], |r| {
                let tags: String = r.get(6)?;
                let base: String = r.get(1)?;
                let handle: String = r.get(2)?;
                Ok((
                    r.get::<_, String>(0)?,
                    AlertProduct {
                        id: product_id,
                        url: product_url(&base, &handle),
                        handle,
                        title: r.get(3)?,
                        vendor: r.get(4)?,
                        product_type: r.get(5)?,
                        tags: serde_json::from_str(&tags).unwrap_or_default(),
                        collections: Vec::new(),
                    },
                ))
            })
            .optional()
        })
        .ctx(path, "reading the changed product")?;
    let Some((store, mut product)) = found else {
        return Ok(None);
    };
    product.collections = tx
        .prepare_cached(
            "SELECT c.handle FROM collection_products cp
             JOIN collections c ON c.store_id = cp.store_id AND c.collection_id = cp.collection_id
             WHERE cp.store_id = ?1 AND cp.product_id = ?2 ORDER BY c.handle",
        )
        .and_then(|mut s| s.query_map([store_id, product_id], |r| r.get(0))?.collect())
        .ctx(path, "reading the changed product's collections")?;
    Ok(Some((store, product)))
}

/// `https://shop.example.com/products/HANDLE`.
fn product_url(base: &str, handle: &str) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().push("products").push(handle);
            }
            url.to_string()
        }
        Err(_) => format!("{}/products/{handle}", base.trim_end_matches('/')),
    }
}

/// The variant of a change row as now written.
fn variant(
    tx: &Transaction,
    path: &Path,
    row: &Row,
) -> Result<Option<(AlertVariant, VariantState)>, Error> {
    tx.prepare_cached(
        "SELECT title, sku, price, price_cents, available FROM variants
         WHERE store_id = ?1 AND product_id = ?2 AND variant_id = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![row.store_id, row.product_id, row.variant_id], |r| {
            Ok((
                AlertVariant {
                    id: row.variant_id,
                    title: r.get(0)?,
                    sku: r.get(1)?,
                },
                VariantState {
                    price: r.get(2)?,
                    price_cents: r.get(3)?,
                    available: r.get(4)?,
                },
            ))
        })
        .optional()
    })
    .ctx(path, "reading the changed variant")
}
