//! Read rules that every reader applies the same way (`status`, `history`, the daemon's web
//! pages): a stale `running` run corrected by probing its store's lock, and the fields each
//! content version changed. No SQL here; the rows come from the read-side queries.

use std::collections::BTreeSet;

use serde_json::Value;

use super::read::Reader;
use super::{Error, ProductHistory, StoreStatus};
use crate::outcome::{RunState, RunStatus};

impl Reader {
    /// Every store with its latest run, by name, with a stale `running` run corrected: a run
    /// row says running until its process ends it, and only a live holder of the store's lock
    /// makes that true. A dead holder's run is interrupted (the next run resumes it).
    pub fn store_statuses_now(&self) -> Result<Vec<StoreStatus>, Error> {
        let mut statuses = self.store_statuses()?;
        for s in &mut statuses {
            s.last_run_status = self.run_state_now(&s.store, s.last_run_status);
        }
        Ok(statuses)
    }

    /// `state` of `store`'s latest run as it is now: `running` only while a process holds the
    /// store's lock, else interrupted.
    pub fn run_state_now(&self, store: &str, state: Option<RunState>) -> Option<RunState> {
        match state {
            Some(RunState::Running) if crate::lock::holder(&self.path, store).is_none() => {
                Some(RunState::Ended(RunStatus::Interrupted))
            }
            other => other,
        }
    }
}

impl ProductHistory {
    /// For each version (newest first), the top-level fields that differ from the version
    /// before it; None for the first version. A version whose JSON does not parse changed
    /// nothing nameable (an empty list).
    pub fn changed_fields(&self) -> Vec<Option<Vec<String>>> {
        let parsed: Vec<Option<Value>> = self
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
}
