//! `shopmirror history STORE PRODUCT`: one product's versions (with which top-level fields each
//! changed), events and variant price/availability changes, newest first, as text for a
//! terminal or JSON for scripts.

use std::collections::BTreeSet;

use serde_json::Value;

use super::export::open_reader;
use super::Failure;
use crate::change::{ProductEvent, VariantField};
use crate::config::Config;
use crate::store::{ProductHistory, VariantChangeRow};

pub fn run(config: &Config, store: &str, product: &str, json: bool) -> Result<(), Failure> {
    let reader = open_reader(config)?;
    let store =
        &super::store_arg::resolve(&reader, &config.db_path, store).map_err(Failure::Usage)?;
    let Some(history) = reader.product_history(store, product)? else {
        return Err(Failure::Failed(format!(
            "store {store} has no product with id or handle {product:?}"
        )));
    };
    let changed = changes_per_version(&history);
    if json {
        super::print_line(&to_json(&history, &changed));
    } else {
        super::print_line(to_text(&history, &changed).trim_end_matches('\n'));
    }
    Ok(())
}

/// For each version (newest first), the top-level fields that differ from the version before
/// it; None for the first version.
fn changes_per_version(h: &ProductHistory) -> Vec<Option<Vec<String>>> {
    let parsed: Vec<Option<Value>> = h
        .versions
        .iter()
        .map(|v| serde_json::from_str(&v.raw_json).ok())
        .collect();
    (0..parsed.len())
        .map(|i| match (parsed.get(i + 1), &parsed[i]) {
            (Some(Some(older)), Some(newer)) => Some(changed_fields(older, newer)),
            (Some(None), _) | (Some(_), None) => Some(Vec::new()),
            (None, _) => None,
        })
        .collect()
}

/// Top-level keys whose values differ, ignoring `updated_at` (stores bump it on every response)
/// at the top and inside arrays of objects (variants, images).
fn changed_fields(older: &Value, newer: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (older.as_object(), newer.as_object()) else {
        return Vec::new();
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| k.as_str() != "updated_at")
        .filter(|k| without_updated_at(a.get(*k)) != without_updated_at(b.get(*k)))
        .map(|k| k.to_string())
        .collect()
}

fn without_updated_at(value: Option<&Value>) -> Option<Value> {
    let mut value = value?.clone();
    if let Value::Array(items) = &mut value {
        for item in items.iter_mut() {
            if let Value::Object(map) = item {
                map.remove("updated_at");
            }
        }
    }
    Some(value)
}

fn to_json(h: &ProductHistory, changed: &[Option<Vec<String>>]) -> String {
    let mut value = serde_json::to_value(h).expect("history serializes");
    if let Some(Value::Array(versions)) = value.get_mut("versions") {
        for (version, fields) in versions.iter_mut().zip(changed) {
            version["changed_fields"] = serde_json::to_value(fields).expect("strings serialize");
        }
    }
    serde_json::to_string_pretty(&value).expect("value serializes")
}

fn to_text(h: &ProductHistory, changed: &[Option<Vec<String>>]) -> String {
    let mut out = format!(
        "{} / product {} ({})\n  {}\n  first seen {}, last seen {}, {}\n",
        h.store,
        h.product_id,
        h.handle,
        h.title,
        h.first_seen_at,
        h.last_seen_at,
        match &h.deleted_at {
            Some(at) => format!("deleted at {at}"),
            None => "live".to_string(),
        }
    );
    out.push_str("\nVersions (newest first)\n");
    for (v, fields) in h.versions.iter().zip(changed) {
        let what = match fields {
            None => "first version".to_string(),
            Some(f) if f.is_empty() => ProductEvent::Changed.as_str().to_string(),
            Some(f) => format!("changed: {}", f.join(", ")),
        };
        out.push_str(&format!(
            "  {} .. {}  {}  {:<7}  {what}\n",
            v.first_observed_at,
            v.last_observed_at,
            &v.content_hash[..v.content_hash.len().min(12)],
            if v.current { "current" } else { "" },
        ));
    }
    out.push_str("\nEvents (newest first)\n");
    for e in &h.events {
        out.push_str(&format!(
            "  {}  {:<8}  run {}\n",
            e.observed_at, e.event, e.run_id
        ));
    }
    out.push_str("\nVariant changes (newest first)\n");
    if h.variant_changes.is_empty() {
        out.push_str("  none recorded\n");
    }
    for c in &h.variant_changes {
        out.push_str(&format!("  {}  {}\n", c.observed_at, describe(c)));
    }
    out
}

/// One variant change as a line: `variant 42 "Small": price 19.99 -> 17.99`.
fn describe(c: &VariantChangeRow) -> String {
    let variant = match &c.variant_title {
        Some(title) => format!("variant {} {title:?}", c.variant_id),
        None => format!("variant {}", c.variant_id),
    };
    let shown = |value: &Option<String>| -> String {
        match (c.field, value.as_deref()) {
            (VariantField::Available, Some("1")) => "in stock".into(),
            (VariantField::Available, Some("0")) => "out of stock".into(),
            (_, Some(v)) => v.to_string(),
            (VariantField::CompareAtPrice, None) => "none".into(),
            (_, None) => "unknown".into(),
        }
    };
    match c.field {
        VariantField::Added => format!("{variant}: added at {}", shown(&c.new_value)),
        VariantField::Removed => format!("{variant}: removed (was {})", shown(&c.old_value)),
        field => format!(
            "{variant}: {} {} -> {}",
            field.as_str().replace('_', " "),
            shown(&c.old_value),
            shown(&c.new_value)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_fields_ignore_updated_at() {
        let a = json!({"id": 1, "title": "A", "updated_at": "x",
                       "variants": [{"id": 2, "price": "1.00", "updated_at": "x"}]});
        let b = json!({"id": 1, "title": "A", "updated_at": "y",
                       "variants": [{"id": 2, "price": "1.00", "updated_at": "y"}]});
        assert!(changed_fields(&a, &b).is_empty());
        let c = json!({"id": 1, "title": "B", "updated_at": "y", "tags": [],
                       "variants": [{"id": 2, "price": "2.00", "updated_at": "y"}]});
        assert_eq!(changed_fields(&a, &c), ["tags", "title", "variants"]);
    }

    #[test]
    fn variant_changes_read_as_sentences() {
        let change = |field: &str, old: Option<&str>, new: Option<&str>| VariantChangeRow {
            variant_id: 42,
            variant_title: Some("Small".into()),
            field: VariantField::parse(field).unwrap(),
            old_value: old.map(str::to_string),
            new_value: new.map(str::to_string),
            observed_at: "t".into(),
            run_id: 1,
        };
        assert_eq!(
            describe(&change("price", Some("19.99"), Some("17.99"))),
            "variant 42 \"Small\": price 19.99 -> 17.99"
        );
        assert_eq!(
            describe(&change("available", Some("1"), Some("0"))),
            "variant 42 \"Small\": available in stock -> out of stock"
        );
        assert_eq!(
            describe(&change("compare_at_price", None, Some("25.00"))),
            "variant 42 \"Small\": compare at price none -> 25.00"
        );
    }
}
