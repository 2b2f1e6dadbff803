//! Alert rows for the changes of one write: the writer's change funnel hands the outbox (its
//! `ChangeObserver`) every change of the write before it commits; each change is read with its
//! product and variant as now written, shown to the alert rules, and each planned alert is
//! inserted unless the store has no complete run yet (its baseline alerts nothing), the rule's
//! cooldown holds, or the row already exists (rule, sink and change are unique).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{params, OptionalExtension, Transaction};
use tokio::sync::Notify;

use super::now_millis;
use crate::alerts::event::{
    AlertChange, AlertKind, AlertProduct, AlertVariant, Observer, VariantState,
};
use crate::change::{Change, ProductEvent, VariantChange};
use crate::store::funnel::{ChangeObserver, ChangeView, Recorded};
use crate::store::{now_text, Context, Error};

/// The writer's change observer for alerts: the rules (None: no rules, nothing to do) and the
/// delivery task's wake-up.
pub struct Outbox {
    pub rules: Option<Arc<dyn Observer>>,
    pub wake: Arc<Notify>,
}

impl ChangeObserver for Outbox {
    fn observe(&mut self, view: &ChangeView<'_>, changes: &[Recorded]) -> Result<(), Error> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        let sinks = observe(view, rules.as_ref(), changes)?;
        for sink in &sinks {
            crate::telemetry::alerts::enqueued(sink);
        }
        if !sinks.is_empty() {
            // The delivery task reads through this writer, so it reads after this commit.
            self.wake.notify_waiters();
        }
        Ok(())
    }
}

/// Writes the alert rows of `changes`; returns the sink of each row written.
fn observe(
    view: &ChangeView<'_>,
    observer: &dyn Observer,
    changes: &[Recorded],
) -> Result<Vec<String>, Error> {
    let (tx, path) = (view.tx, view.path);
    let mut baseline = HashMap::new();
    let mut sinks = Vec::new();
    for recorded in changes {
        let done = match baseline.get(&recorded.store_id) {
            Some(done) => *done,
            None => {
                let done = view.past_baseline(recorded.store_id)?;
                baseline.insert(recorded.store_id, done);
                done
            }
        };
        if !done {
            continue;
        }
        let Some((product_id, variant_id, change)) = alert_change(tx, path, recorded, changes)?
        else {
            continue;
        };
        let store_id = recorded.store_id;
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

/// The alert view of one recorded change: product events added, deleted (tombstoned) and
/// restored, variant price and availability changes; None for any other change. A variant
/// whose price and availability both changed in this write shows both in each.
fn alert_change(
    tx: &Transaction,
    path: &Path,
    recorded: &Recorded,
    all: &[Recorded],
) -> Result<Option<(i64, Option<i64>, AlertChange)>, Error> {
    let store_id = recorded.store_id;
    let (kind, product_id, variant_id, source) = match &recorded.change {
        Change::Product { product_id, event } => {
            let kind = match event {
                ProductEvent::Added => AlertKind::ProductAdded,
                ProductEvent::Deleted => AlertKind::ProductRemoved,
                ProductEvent::Restored => AlertKind::ProductRestored,
                ProductEvent::Changed => return Ok(None),
            };
            let source = format!("product_event:{}", recorded.row_id);
            (kind, *product_id, None, source)
        }
        Change::Variant {
            product_id,
            variant_id,
            change,
        } => {
            let kind = match change {
                VariantChange::Price { old, new } if new.cents < old.cents => AlertKind::PriceDrop,
                VariantChange::Price { old, new } if new.cents > old.cents => AlertKind::PriceRise,
                VariantChange::Availability { new: true, .. } => AlertKind::BackInStock,
                VariantChange::Availability { new: false, .. } => AlertKind::OutOfStock,
                _ => return Ok(None),
            };
            let source = format!("variant_change:{}", recorded.row_id);
            (kind, *product_id, Some(*variant_id), source)
        }
        Change::Collection { .. } => return Ok(None),
    };
    let Some((store, product)) = product(tx, path, store_id, product_id)? else {
        return Ok(None);
    };
    let variant = match variant_id {
        None => None,
        Some(variant_id) => {
            let Some((variant, now)) = variant(tx, path, store_id, product_id, variant_id)? else {
                return Ok(None);
            };
            let (mut old, mut new) = (now.clone(), now);
            let same_variant = all.iter().filter(|r| {
                r.store_id == store_id
                    && matches!(&r.change, Change::Variant { product_id: p, variant_id: v, .. }
                                if *p == product_id && *v == variant_id)
            });
            for r in same_variant {
                match &r.change {
                    Change::Variant {
                        change: VariantChange::Price { old: o, new: n },
                        ..
                    } => {
                        (old.price, old.price_cents) = (o.text.clone(), o.cents);
                        (new.price, new.price_cents) = (n.text.clone(), n.cents);
                    }
                    Change::Variant {
                        change: VariantChange::Availability { old: o, new: n },
                        ..
                    } => (old.available, new.available) = (Some(*o), Some(*n)),
                    _ => {}
                }
            }
            Some((variant, old, new))
        }
    };
    let change = AlertChange {
        kind,
        source,
        store,
        observed_at: recorded.observed_at.clone(),
        product,
        variant,
    };
    Ok(Some((product_id, variant_id, change)))
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
    store_id: i64,
    product_id: i64,
    variant_id: i64,
) -> Result<Option<(AlertVariant, VariantState)>, Error> {
    tx.prepare_cached(
        "SELECT title, sku, price, price_cents, available FROM variants
         WHERE store_id = ?1 AND product_id = ?2 AND variant_id = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![store_id, product_id, variant_id], |r| {
            Ok((
                AlertVariant {
                    id: variant_id,
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
