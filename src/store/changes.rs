//! Reads for the web pages' change lists and feeds: product events, variant changes and
//! collection membership changes as one list, newest first, filtered by store, kind and time,
//! paged by a cursor. Each table is read in index order up to the page size and the three
//! are merged here, so a page costs the same on a database of millions of changes.

use std::cmp::Ordering;

use rusqlite::types::Value;
use serde::Serialize;

use super::read::Reader;
use super::{Context, Error};
use crate::change::ChangeKind;

/// Which table a change row comes from; part of its stable identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    Collection,
    Product,
    Variant,
}

impl ChangeSource {
    pub const ALL: [ChangeSource; 3] = [
        ChangeSource::Collection,
        ChangeSource::Product,
        ChangeSource::Variant,
    ];

    /// The short word used in cursors and feed ids.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Collection => "collection",
            ChangeSource::Product => "product",
            ChangeSource::Variant => "variant",
        }
    }

    pub fn parse(word: &str) -> Option<ChangeSource> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// The table that records changes of `kind`.
    pub fn of(kind: ChangeKind) -> ChangeSource {
        match kind {
            ChangeKind::Product(_) => ChangeSource::Product,
            ChangeKind::Variant(_) => ChangeSource::Variant,
            ChangeKind::Collection(_) => ChangeSource::Collection,
        }
    }
}

/// The word `kind` is stored under in its own table's column.
fn stored_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Product(event) => event.as_str(),
        ChangeKind::Variant(field) => field.as_str(),
        ChangeKind::Collection(membership) => membership.as_str(),
    }
}

/// One recorded change of one product.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    pub source: ChangeSource,
    /// The row's id in its table: with `source`, a stable identity.
    pub id: i64,
    pub store: String,
    pub product_id: i64,
    pub handle: Option<String>,
    pub title: Option<String>,
    pub kind: ChangeKind,
    pub variant_id: Option<i64>,
    pub variant_title: Option<String>,
    pub collection: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub observed_at: String,
    pub run_id: i64,
}

/// Where a page of changes starts: strictly after (older than) this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeCursor {
    pub observed_at: String,
    pub source: ChangeSource,
    pub id: i64,
}

impl ChangeRow {
    pub fn cursor(&self) -> ChangeCursor {
        ChangeCursor {
            observed_at: self.observed_at.clone(),
            source: self.source,
            id: self.id,
        }
    }

    /// Newest first: by time, then source, then id, all descending.
    fn order(&self, other: &ChangeRow) -> Ordering {
        (&other.observed_at, other.source, other.id).cmp(&(&self.observed_at, self.source, self.id))
    }
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub store: Option<String>,
    pub product_id: Option<i64>,
    pub kind: Option<ChangeKind>,
    /// Observed at or after this time ('YYYY-MM-DD HH:MM:SS' UTC).
    pub since: Option<String>,
    pub before: Option<ChangeCursor>,
}

/// The change's store name, looked up per row (a join let the planner scan `stores` per row).
const STORE_NAME: &str = "(SELECT s.name FROM stores s WHERE s.store_id = c.store_id)";

impl Reader {
    /// Up to `limit` changes matching `filter`, newest first.
    pub fn changes(&self, filter: &ChangeFilter, limit: u32) -> Result<Vec<ChangeRow>, Error> {
        let mut rows = Vec::new();
        for source in ChangeSource::ALL {
            if filter
                .kind
                .is_some_and(|kind| ChangeSource::of(kind) != source)
            {
                continue;
            }
            rows.extend(self.changes_of(source, filter, limit)?);
        }
        rows.sort_by(ChangeRow::order);
        rows.truncate(limit as usize);
        Ok(rows)
    }

    fn changes_of(
        &self,
        source: ChangeSource,
        filter: &ChangeFilter,
        limit: u32,
    ) -> Result<Vec<ChangeRow>, Error> {
        let (select, kind_column) = match source {
            ChangeSource::Product => (
                "SELECT c.event_id, {STORE_NAME}, c.product_id, p.handle, p.title, c.event, NULL, NULL,
                     NULL, NULL, NULL, c.observed_at, c.run_id
                 FROM product_events c",
                "c.event",
            ),
            ChangeSource::Variant => (
                "SELECT c.change_id, {STORE_NAME}, c.product_id, p.handle, p.title, c.field,
                     c.variant_id, v.title, NULL, c.old_value, c.new_value, c.observed_at, c.run_id
                 FROM variant_changes c
                 LEFT JOIN variants v ON v.store_id = c.store_id AND v.product_id = c.product_id
                     AND v.variant_id = c.variant_id",
                "c.field",
            ),
            ChangeSource::Collection => (
                "SELECT c.change_id, {STORE_NAME}, c.product_id, p.handle, p.title,
                     c.change, NULL, NULL, k.title, NULL, NULL, c.observed_at, c.run_id
                 FROM collection_changes c
                 LEFT JOIN collections k ON k.store_id = c.store_id
                     AND k.collection_id = c.collection_id",
                "c.change",
            ),
        };
        let id = match source {
            ChangeSource::Product => "c.event_id",
            _ => "c.change_id",
        };
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut bind = |condition: &str, value: Value, values: &mut Vec<Value>| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("?{}", values.len())));
        };
        if let Some(store) = &filter.store {
            let by_name = "c.store_id = (SELECT store_id FROM stores WHERE name = ?)";
            bind(by_name, Value::Text(store.clone()), &mut values);
        }
        if let Some(product) = filter.product_id {
            bind("c.product_id = ?", Value::Integer(product), &mut values);
        }
        if let Some(kind) = filter.kind {
            let word = Value::Text(stored_word(kind).to_string());
            bind(&format!("{kind_column} = ?"), word, &mut values);
        }
        if let Some(since) = &filter.since {
            bind(
                "c.observed_at >= ?",
                Value::Text(since.clone()),
                &mut values,
            );
        }
        if let Some(cursor) = &filter.before {
            let at = Value::Text(cursor.observed_at.clone());
            match source.cmp(&cursor.source) {
                Ordering::Less => bind("c.observed_at <= ?", at, &mut values),
                Ordering::Greater => bind("c.observed_at < ?", at, &mut values),
                Ordering::Equal => {
                    values.push(at);
                    values.push(Value::Integer(cursor.id));
                    let (t, i) = (values.len() - 1, values.len());
                    conditions.push(format!(
                        "(c.observed_at < ?{t} OR (c.observed_at = ?{t} AND {id} < ?{i}))"
                    ));
                }
            }
        }
        let mut sql = format!(
            "{}
             LEFT JOIN products p ON p.store_id = c.store_id AND p.product_id = c.product_id",
            select.replace("{STORE_NAME}", STORE_NAME)
        );
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY c.observed_at DESC, {id} DESC LIMIT {limit}"
        ));
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(values), |r| {
                    Ok(ChangeRow {
                        source,
                        id: r.get(0)?,
                        store: r.get(1)?,
                        product_id: r.get(2)?,
                        handle: r.get(3)?,
                        title: r.get(4)?,
                        kind: match source {
                            ChangeSource::Product => ChangeKind::Product(r.get(5)?),
                            ChangeSource::Variant => ChangeKind::Variant(r.get(5)?),
                            ChangeSource::Collection => ChangeKind::Collection(r.get(5)?),
                        },
                        variant_id: r.get(6)?,
                        variant_title: r.get(7)?,
                        collection: r.get(8)?,
                        old_value: r.get(9)?,
                        new_value: r.get(10)?,
                        observed_at: r.get(11)?,
                        run_id: r.get(12)?,
                    })
                })?
                .collect()
            })
            .ctx(&self.path, "reading changes")
    }
}
