//! Rule evaluation, pure: whether a change matches a rule (its kinds, thresholds and filters),
//! and the engine the store's writer asks inside the change's transaction, which renders one
//! body per (rule, sink) matched. Baseline, cooldown and uniqueness are the outbox's (store).

use std::collections::BTreeMap;

use super::event::{AlertChange, AlertKind, Observer, PlannedAlert};
use super::render;
use crate::config::{AlertSettings, Filters, RuleConfig, SinkConfig};

/// The configured rules and sinks, as the writer's observer.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<RuleConfig>,
    sinks: BTreeMap<String, SinkConfig>,
}

impl Engine {
    /// None when no rule is configured: the writer then looks at nothing.
    pub fn new(settings: &AlertSettings) -> Option<Engine> {
        (!settings.rules.is_empty()).then(|| Engine {
            rules: settings.rules.clone(),
            sinks: settings.sinks.clone(),
        })
    }
}

impl Observer for Engine {
    fn alerts_for(&self, change: &AlertChange) -> Vec<PlannedAlert> {
        let mut planned = Vec::new();
        for rule in self.rules.iter().filter(|r| matches(r, change)) {
            for name in &rule.sinks {
                let Some(sink) = self.sinks.get(name) else {
                    continue;
                };
                planned.push(PlannedAlert {
                    rule: rule.name.clone(),
                    sink: name.clone(),
                    body: render::body(sink, change),
                    cooldown: rule.cooldown,
                });
            }
        }
        planned
    }
}

/// Whether `change` raises `rule`: one of its kinds, its thresholds met, every filter given
/// matched.
pub fn matches(rule: &RuleConfig, change: &AlertChange) -> bool {
    rule.when.contains(&change.kind) && thresholds(rule, change) && filtered(&rule.filters, change)
}

fn thresholds(rule: &RuleConfig, change: &AlertChange) -> bool {
    let Some((_, old, new)) = &change.variant else {
        return true;
    };
    if rule
        .below_cents
        .is_some_and(|below| new.price_cents >= below)
    {
        return false;
    }
    if rule
        .above_cents
        .is_some_and(|above| new.price_cents <= above)
    {
        return false;
    }
    if change.kind == AlertKind::PriceDrop {
        let drop = old.price_cents - new.price_cents;
        if rule.min_drop_cents.is_some_and(|min| drop < min) {
            return false;
        }
        if let Some(min) = rule.min_drop_percent {
            let percent = if old.price_cents > 0 {
                drop as f64 * 100.0 / old.price_cents as f64
            } else {
                0.0
            };
            // Hundredths of a percent, so that 10% of 19.90 (a drop of 1.99) counts as 10.
            if (percent * 100.0).round() < (min * 100.0).round() {
                return false;
            }
        }
    }
    true
}

fn filtered(filters: &Filters, change: &AlertChange) -> bool {
    let p = &change.product;
    let any = |list: &Option<Vec<String>>, values: &[&str]| {
        list.as_ref().is_none_or(|list| {
            list.iter().any(|want| {
                values
                    .iter()
                    .any(|v| v.trim().eq_ignore_ascii_case(want.trim()))
            })
        })
    };
    let tags: Vec<&str> = p.tags.iter().map(String::as_str).collect();
    let collections: Vec<&str> = p.collections.iter().map(String::as_str).collect();
    // Store names are exact: they are the config's own keys.
    filters
        .stores
        .as_ref()
        .is_none_or(|stores| stores.iter().any(|s| s == &change.store))
        && any(&filters.vendors, &[&p.vendor])
        && any(&filters.product_types, &[&p.product_type])
        && any(&filters.tags_any, &tags)
        && any(&filters.collections, &collections)
        && any(&filters.handles, &[&p.handle])
}

#[cfg(test)]
mod tests;
