//! The one vocabulary of changes: everything shopmirror records when a store's catalogue moves
//! (a product added, changed, deleted or restored; a variant's price, compare-at price or
//! availability changed, a variant added or removed; a product entering or leaving a
//! collection), typed, with old and new values, and the word each kind is stored under.
//! A leaf: it imports nothing from the crate. `store`'s change funnel is the one place that
//! writes these into SQL (binding the words below); alerts, metrics and the readers use the
//! same types and words.

use std::fmt;

/// What happened to a product as a whole (`product_events.event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductEvent {
    /// First seen by the mirror.
    Added,
    /// Its content (content hash) changed.
    Changed,
    /// Confirmed gone from the store (tombstoned).
    Deleted,
    /// Seen again after a tombstone.
    Restored,
}

impl ProductEvent {
    pub const ALL: [ProductEvent; 4] = [
        ProductEvent::Added,
        ProductEvent::Changed,
        ProductEvent::Deleted,
        ProductEvent::Restored,
    ];

    /// The word stored in `product_events.event`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProductEvent::Added => "added",
            ProductEvent::Changed => "changed",
            ProductEvent::Deleted => "deleted",
            ProductEvent::Restored => "restored",
        }
    }

    pub fn parse(word: &str) -> Option<ProductEvent> {
        ProductEvent::ALL.into_iter().find(|e| e.as_str() == word)
    }
}

/// Which fact of a variant changed (`variant_changes.field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariantField {
    Price,
    CompareAtPrice,
    Available,
    /// The variant appeared on an existing product.
    Added,
    /// The variant left an existing product.
    Removed,
}

impl VariantField {
    pub const ALL: [VariantField; 5] = [
        VariantField::Price,
        VariantField::CompareAtPrice,
        VariantField::Available,
        VariantField::Added,
        VariantField::Removed,
    ];

    /// The word stored in `variant_changes.field`.
    pub const fn as_str(self) -> &'static str {
        match self {
            VariantField::Price => "price",
            VariantField::CompareAtPrice => "compare_at_price",
            VariantField::Available => "available",
            VariantField::Added => "variant_added",
            VariantField::Removed => "variant_removed",
        }
    }

    pub fn parse(word: &str) -> Option<VariantField> {
        VariantField::ALL.into_iter().find(|f| f.as_str() == word)
    }
}

/// A product entering or leaving a collection (`collection_changes.change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Membership {
    Added,
    Removed,
}

impl Membership {
    pub const ALL: [Membership; 2] = [Membership::Added, Membership::Removed];

    /// The word stored in `collection_changes.change`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Membership::Added => "added",
            Membership::Removed => "removed",
        }
    }

    pub fn parse(word: &str) -> Option<Membership> {
        Membership::ALL.into_iter().find(|m| m.as_str() == word)
    }
}

/// Each word enum prints, serializes and binds (in store/) as its stored word.
macro_rules! word {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

word!(ProductEvent);
word!(VariantField);
word!(Membership);

/// A price as the store wrote it ("19.99") and in cents (1999).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub text: String,
    pub cents: i64,
}

impl Price {
    /// A price known only in cents (a compare-at price is stored that way): 1999 -> "19.99".
    pub fn from_cents(cents: i64) -> Price {
        let sign = if cents < 0 { "-" } else { "" };
        let text = format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs());
        Price { text, cents }
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What happened to one variant, with its old and new values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantChange {
    Price {
        old: Price,
        new: Price,
    },
    /// No compare-at price is `None`.
    CompareAt {
        old: Option<Price>,
        new: Option<Price>,
    },
    /// Only between two stated values: an answer that does not state availability changes
    /// nothing.
    Availability {
        old: bool,
        new: bool,
    },
    Added {
        price: Price,
    },
    Removed {
        price: Price,
    },
}

impl VariantChange {
    pub fn field(&self) -> VariantField {
        match self {
            VariantChange::Price { .. } => VariantField::Price,
            VariantChange::CompareAt { .. } => VariantField::CompareAtPrice,
            VariantChange::Availability { .. } => VariantField::Available,
            VariantChange::Added { .. } => VariantField::Added,
            VariantChange::Removed { .. } => VariantField::Removed,
        }
    }
}

/// One recorded change of a store's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Product {
        product_id: i64,
        event: ProductEvent,
    },
    Variant {
        product_id: i64,
        variant_id: i64,
        change: VariantChange,
    },
    Collection {
        collection_id: i64,
        product_id: i64,
        membership: Membership,
    },
}

impl Change {
    /// The product the change is about.
    pub fn product_id(&self) -> i64 {
        match self {
            Change::Product { product_id, .. }
            | Change::Variant { product_id, .. }
            | Change::Collection { product_id, .. } => *product_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_to_its_kind() {
        for e in ProductEvent::ALL {
            assert_eq!(ProductEvent::parse(e.as_str()), Some(e));
        }
        for f in VariantField::ALL {
            assert_eq!(VariantField::parse(f.as_str()), Some(f));
        }
        for m in Membership::ALL {
            assert_eq!(Membership::parse(m.as_str()), Some(m));
        }
        assert_eq!(ProductEvent::parse("new"), None);
    }

    #[test]
    fn cents_print_as_the_store_would_write_them() {
        assert_eq!(Price::from_cents(1999).text, "19.99");
        assert_eq!(Price::from_cents(5).text, "0.05");
        assert_eq!(Price::from_cents(-250).text, "-2.50");
    }
}
