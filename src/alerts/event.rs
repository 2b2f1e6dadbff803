//! The alert vocabulary, pure data that imports nothing: the seven kinds of change an alert can
//! announce, one change as an alert shows it (built by the store's outbox from a recorded
//! `crate::change::Change` with its product and variant as written: store, product, variant,
//! old and new state), and the rules' interface the outbox asks inside the write's
//! transaction. `store` and `config` use it; the rules that answer it live in `alerts::rules`.

use std::time::Duration;

/// What changed, as a rule names it (`when`) and as it is sent (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    PriceDrop,
    PriceRise,
    BackInStock,
    OutOfStock,
    ProductAdded,
    ProductRemoved,
    ProductRestored,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::PriceDrop,
        AlertKind::PriceRise,
        AlertKind::BackInStock,
        AlertKind::OutOfStock,
        AlertKind::ProductAdded,
        AlertKind::ProductRemoved,
        AlertKind::ProductRestored,
    ];

    /// The name a rule's `when` uses.
    pub fn rule_name(self) -> &'static str {
        match self {
            AlertKind::PriceDrop => "price_drop",
            AlertKind::PriceRise => "price_rise",
            AlertKind::BackInStock => "back_in_stock",
            AlertKind::OutOfStock => "out_of_stock",
            AlertKind::ProductAdded => "product_added",
            AlertKind::ProductRemoved => "product_removed",
            AlertKind::ProductRestored => "product_restored",
        }
    }

    /// The event type as sent (`type` of the webhook payload).
    pub fn event_type(self) -> &'static str {
        match self {
            AlertKind::PriceDrop => "variant.price_dropped",
            AlertKind::PriceRise => "variant.price_increased",
            AlertKind::BackInStock => "variant.back_in_stock",
            AlertKind::OutOfStock => "variant.out_of_stock",
            AlertKind::ProductAdded => "product.added",
            AlertKind::ProductRemoved => "product.removed",
            AlertKind::ProductRestored => "product.restored",
        }
    }

    pub fn from_rule_name(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.rule_name() == name)
    }

    /// Kinds about one variant (they carry old and new price and availability).
    pub fn is_variant(self) -> bool {
        matches!(
            self,
            AlertKind::PriceDrop
                | AlertKind::PriceRise
                | AlertKind::BackInStock
                | AlertKind::OutOfStock
        )
    }
}

/// A product as an alert shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertProduct {
    pub id: i64,
    pub handle: String,
    pub title: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    /// The product's page on the store.
    pub url: String,
    /// Handles of the collections it is in.
    pub collections: Vec<String>,
}

/// A variant as an alert shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertVariant {
    pub id: i64,
    pub title: String,
    pub sku: Option<String>,
}

/// A variant's price (exact text as sent, and hundredths) and availability at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariantState {
    pub price: String,
    pub price_cents: i64,
    pub available: Option<bool>,
}

/// One change that may be announced: the store's change row it comes from (`source`, unique),
/// with the product (and variant) as written by the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    pub kind: AlertKind,
    /// `variant_change:<id>` or `product_event:<id>`: the row that recorded the change.
    pub source: String,
    pub store: String,
    /// When the change was observed: UTC 'YYYY-MM-DD HH:MM:SS'.
    pub observed_at: String,
    pub product: AlertProduct,
    /// Variant kinds only: the variant with its state before and after.
    pub variant: Option<(AlertVariant, VariantState, VariantState)>,
}

/// One outbox row to write for a change: which rule and sink, the body rendered now (a retry
/// sends the same bytes), and the rule's cooldown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAlert {
    pub rule: String,
    pub sink: String,
    pub body: String,
    pub cooldown: Option<Duration>,
}

/// Decides, inside the transaction that records a change, which alerts it raises.
pub trait Observer: Send + Sync {
    fn alerts_for(&self, change: &AlertChange) -> Vec<PlannedAlert>;
}
