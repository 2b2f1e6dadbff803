//! Rules against changes: kinds, thresholds, filters.

use super::*;
use crate::alerts::event::{AlertProduct, AlertVariant, VariantState};
use crate::config::Config;

fn change(kind: AlertKind, old_cents: i64, new_cents: i64) -> AlertChange {
    let state = |cents: i64| VariantState {
        price: crate::alerts::render::decimal(cents),
        price_cents: cents,
        available: Some(true),
    };
    AlertChange {
        kind,
        source: "variant_change:1".into(),
        store: "acme".into(),
        observed_at: "2026-12-06 07:00:00".into(),
        product: AlertProduct {
            id: 1,
            handle: "red-shirt".into(),
            title: "Red shirt".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            tags: vec!["Sale".into(), "summer".into()],
            url: "https://acme.example/products/red-shirt".into(),
            collections: vec!["tops".into()],
        },
        variant: Some((AlertVariant::default(), state(old_cents), state(new_cents))),
    }
}

/// The rules of a config with sinks `a` and `b` and the given rule tables.
fn rules(tables: &str) -> Vec<RuleConfig> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let text = format!(
        "[alerts.sinks.a]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n\
         [alerts.sinks.b]\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:1/topic\"\n{tables}"
    );
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), None).unwrap().alerts.rules
}

#[test]
fn percent_and_amount_thresholds_are_on_the_drop() {
    let rule = &rules(
        "[alerts.rules.r]\nwhen = [\"price_drop\"]\nmin_drop_percent = 10\nsinks = [\"a\"]\n",
    )[0];
    assert!(
        matches(rule, &change(AlertKind::PriceDrop, 2000, 1800)),
        "exactly 10%"
    );
    assert!(
        !matches(rule, &change(AlertKind::PriceDrop, 2000, 1801)),
        "9.95%"
    );
    assert!(
        matches(rule, &change(AlertKind::PriceDrop, 1990, 1791)),
        "1.99 of 19.90"
    );
    assert!(
        !matches(rule, &change(AlertKind::PriceRise, 1000, 2000)),
        "not its kind"
    );
    let rule = &rules(
        "[alerts.rules.r]\nwhen = [\"price_drop\"]\nmin_drop_amount = \"2.50\"\nsinks = [\"a\"]\n",
    )[0];
    assert!(matches(rule, &change(AlertKind::PriceDrop, 10000, 9750)));
    assert!(!matches(rule, &change(AlertKind::PriceDrop, 10000, 9751)));
}

#[test]
fn below_and_above_compare_the_new_price() {
    let rule = &rules(
        "[alerts.rules.r]\nwhen = [\"price_drop\", \"back_in_stock\"]\nbelow = 20\nabove = 5\n\
         sinks = [\"a\"]\n",
    )[0];
    assert!(matches(rule, &change(AlertKind::PriceDrop, 2500, 1999)));
    assert!(!matches(rule, &change(AlertKind::PriceDrop, 2500, 2000)));
    assert!(matches(rule, &change(AlertKind::BackInStock, 1000, 1000)));
    assert!(!matches(rule, &change(AlertKind::BackInStock, 500, 500)));
}

#[test]
fn every_given_filter_must_match_any_of_its_entries() {
    let base = "[alerts.rules.r]\nwhen = [\"price_drop\"]\nsinks = [\"a\"]\n";
    let drop = change(AlertKind::PriceDrop, 2000, 1000);
    for (filter, expected) in [
        ("stores = [\"acme\", \"other\"]", true),
        ("stores = [\"Acme\"]", false),
        ("vendors = [\"acme\"]", true),
        ("vendors = [\"globex\"]", false),
        ("product_types = [\"shirts\"]", true),
        ("tags_any = [\"sale\", \"x\"]", true),
        ("tags_any = [\"winter\"]", false),
        ("collections = [\"tops\"]", true),
        ("collections = [\"bottoms\"]", false),
        ("handles = [\"red-shirt\"]", true),
        ("handles = [\"blue-shirt\"]", false),
        ("vendors = [\"acme\"]\ntags_any = [\"winter\"]", false),
    ] {
        let rule = &rules(&format!("{base}{filter}\n"))[0];
        assert_eq!(matches(rule, &drop), expected, "{filter}");
    }
}

#[test]
fn the_engine_renders_one_body_per_sink_of_each_matching_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let text = "[alerts.sinks.a]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n\
                [alerts.sinks.b]\nkind = \"discord\"\nurl = \"http://127.0.0.1:1/x\"\n\
                [alerts.rules.drops]\nwhen = [\"price_drop\"]\nsinks = [\"a\", \"b\"]\n\
                cooldown = \"1h\"\n\
                [alerts.rules.news]\nwhen = [\"product_added\"]\nsinks = [\"a\"]\n";
    std::fs::write(&path, text).unwrap();
    let config = Config::load(Some(&path), None).unwrap();
    let engine = Engine::new(&config.alerts).unwrap();
    let planned = engine.alerts_for(&change(AlertKind::PriceDrop, 2000, 1000));
    let got: Vec<_> = planned
        .iter()
        .map(|p| (p.rule.as_str(), p.sink.as_str()))
        .collect();
    assert_eq!(got, [("drops", "a"), ("drops", "b")]);
    assert!(
        planned[0].body.starts_with("{\"data\""),
        "{}",
        planned[0].body
    );
    assert!(planned[1].body.contains("allowed_mentions"));
    assert_eq!(
        planned[0].cooldown,
        Some(std::time::Duration::from_secs(3600))
    );
}
