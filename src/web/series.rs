//! A variant's recorded values over time, rebuilt from its changes: the price at first sight
//! and after every price change, the compare-at price and the availability likewise. What the
//! chart draws and what its tests count.

use chrono::NaiveDateTime;

use crate::catalog::Money;
use crate::change::{Price, VariantField};
use crate::store::{ProductPage, VariantChangeRow, VariantNow};

/// Seconds since the epoch of a stored 'YYYY-MM-DD HH:MM:SS' UTC time (0 when unreadable).
pub fn seconds(at: &str) -> i64 {
    NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// One recorded value from `at` until the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<T> {
    pub at: String,
    pub value: T,
}

/// A compare-at price as recorded, or None when there is none (absent, unreadable or zero).
fn recorded_price(text: Option<&str>) -> Option<Price> {
    let text = text?;
    let money = Money::parse(text)?;
    let cents = money.cents()?;
    (!money.is_zero()).then(|| Price {
        text: text.to_string(),
        cents,
    })
}

/// Everything recorded about one variant's price and stock, oldest first, up to `end`.
#[derive(Debug, Clone)]
pub struct Series {
    pub variant_id: i64,
    /// One step per recorded price: the first, then one per price change.
    pub prices: Vec<Step<Price>>,
    /// None while there is no compare-at price.
    pub compare_at: Vec<Step<Option<Price>>>,
    /// None while the store never stated it.
    pub available: Vec<Step<Option<bool>>>,
    /// The last time the product was seen (or its deletion).
    pub end: String,
}

impl Series {
    /// The series of `variant` of `page`.
    pub fn of(page: &ProductPage, variant: &VariantNow) -> Series {
        let h = &page.history;
        let mut changes: Vec<&VariantChangeRow> = h
            .variant_changes
            .iter()
            .filter(|c| c.variant_id == variant.variant_id)
            .collect();
        changes.reverse(); // oldest first
        let added = changes.iter().find(|c| c.field == VariantField::Added);
        let start = added.map_or(h.first_seen_at.clone(), |c| c.observed_at.clone());
        let of = |field: VariantField| -> Vec<&VariantChangeRow> {
            changes
                .iter()
                .copied()
                .filter(|c| c.field == field)
                .collect()
        };
        let price_changes = of(VariantField::Price);
        let first_price = added
            .and_then(|c| c.new_value.clone())
            .or_else(|| price_changes.first().and_then(|c| c.old_value.clone()))
            .unwrap_or_else(|| variant.price.clone());
        let price = |text: &str| Price {
            text: text.to_string(),
            cents: Money::parse(text).and_then(|m| m.cents()).unwrap_or(0),
        };
        let mut prices = vec![Step {
            at: start.clone(),
            value: price(&first_price),
        }];
        prices.extend(price_changes.iter().filter_map(|c| {
            Some(Step {
                at: c.observed_at.clone(),
                value: price(c.new_value.as_deref()?),
            })
        }));
        let compare_changes = of(VariantField::CompareAtPrice);
        let first_compare = match compare_changes.first() {
            Some(c) => c.old_value.clone(),
            None => variant.compare_at_price.clone(),
        };
        let mut compare_at = vec![Step {
            at: start.clone(),
            value: recorded_price(first_compare.as_deref()),
        }];
        compare_at.extend(compare_changes.iter().map(|c| Step {
            at: c.observed_at.clone(),
            value: recorded_price(c.new_value.as_deref()),
        }));
        let stock_changes = of(VariantField::Available);
        let stated = |v: Option<&str>| v.map(|v| v == "1");
        let first_stock = match stock_changes.first() {
            Some(c) => stated(c.old_value.as_deref()),
            None => variant.available,
        };
        let mut available = vec![Step {
            at: start,
            value: first_stock,
        }];
        available.extend(stock_changes.iter().map(|c| Step {
            at: c.observed_at.clone(),
            value: stated(c.new_value.as_deref()),
        }));
        Series {
            variant_id: variant.variant_id,
            prices,
            compare_at,
            available,
            end: h
                .deleted_at
                .clone()
                .unwrap_or_else(|| h.last_seen_at.clone()),
        }
    }

    /// Only what was in force from `from` on: steps before it are dropped, the one in force
    /// then moves to `from`.
    pub fn since(mut self, from: &str) -> Series {
        fn clip<T: Clone>(steps: &mut Vec<Step<T>>, from: &str) {
            let before = steps.iter().take_while(|s| s.at.as_str() <= from).count();
            if before > 0 {
                let mut kept = steps.split_off(before - 1);
                if kept[0].at.as_str() < from {
                    kept[0].at = from.to_string();
                }
                *steps = kept;
            }
        }
        if self.end.as_str() < from {
            return self;
        }
        clip(&mut self.prices, from);
        clip(&mut self.compare_at, from);
        clip(&mut self.available, from);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step<T>(at: &str, value: T) -> Step<T> {
        Step {
            at: at.into(),
            value,
        }
    }

    #[test]
    fn clipping_keeps_the_value_in_force() {
        let series = Series {
            variant_id: 1,
            prices: vec![
                step(
                    "2026-01-01 00:00:00",
                    Price {
                        text: "3".into(),
                        cents: 300,
                    },
                ),
                step(
                    "2026-01-05 00:00:00",
                    Price {
                        text: "2".into(),
                        cents: 200,
                    },
                ),
                step(
                    "2026-01-09 00:00:00",
                    Price {
                        text: "1".into(),
                        cents: 100,
                    },
                ),
            ],
            compare_at: vec![step("2026-01-01 00:00:00", None)],
            available: vec![step("2026-01-01 00:00:00", Some(true))],
            end: "2026-01-10 00:00:00".into(),
        }
        .since("2026-01-06 00:00:00");
        let prices: Vec<(&str, i64)> = series
            .prices
            .iter()
            .map(|s| (s.at.as_str(), s.value.cents))
            .collect();
        assert_eq!(
            prices,
            [("2026-01-06 00:00:00", 200), ("2026-01-09 00:00:00", 100)]
        );
        assert_eq!(series.available[0].at, "2026-01-06 00:00:00");
    }
}
