//! Alerts end to end with real parts: the real binary syncing the fake storefront between
//! changes, a real HTTP receiver as every kind of sink, the outbox read with sqlite. What
//! arrives (and what does not: the baseline, changes no rule matches), signatures checked by
//! Python's own hmac, escaping per format, thresholds, filters and cooldown.

use crate::support;

use serde_json::Value;
use support::alerting::*;
use support::fakeshop::{Catalog, FakeShop};
use support::receiver::{Receiver, Reply};
use support::{configured, run};

/// (type, product id, variant id, old price, new price, old available, new available).
type Seen = (String, u64, Option<i64>, Value, Value, Value, Value);

fn seen(body: &Value) -> Seen {
    let d = &body["data"];
    (
        body["type"].as_str().unwrap().to_string(),
        d["product"]["id"].as_u64().unwrap(),
        d["variant"]["id"].as_i64(),
        d["old"]["price"].clone(),
        d["new"]["price"].clone(),
        d["old"]["available"].clone(),
        d["new"]["available"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_changes_arrive_with_old_and_new_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(12, 5)).await;
    let receiver = Receiver::start().await;
    // The secret comes from the environment only (below), as the README advises.
    let sink = hook("ops", &receiver).replace(&format!("secret = \"{SECRET}\"\n"), "");
    let rules = "[alerts.rules.big-drops]\nwhen = [\"price_drop\"]\nmin_drop_percent = 10\n\
                 sinks = [\"ops\"]\n\
                 [alerts.rules.stock]\nwhen = [\"back_in_stock\", \"out_of_stock\"]\n\
                 sinks = [\"ops\"]\n\
                 [alerts.rules.catalog]\nwhen = [\"product_added\", \"product_removed\"]\n\
                 sinks = [\"ops\"]\n\
                 [alerts.rules.rises]\nwhen = [\"price_rise\"]\n\
                 vendors = [\"no such vendor\"]\nsinks = [\"ops\"]\n";
    alert_config(dir.path(), &shop, &format!("{sink}{rules}"));
    let ids = shop.product_ids();
    let (p1, p2, p3, p4, p5, p6) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    shop.set_available(p3, 0, false);
    shop.set_available(p4, 0, true);

    let env = [("SHOPMIRROR_ALERTS__SINKS__OPS__SECRET", SECRET)];
    let sync = async || {
        let done = run({
            let mut c = configured(dir.path(), &["sync", "shop"]);
            c.envs(env);
            c
        })
        .await;
        assert_eq!(done.code, Some(0), "{}\n{}", done.stdout, done.stderr);
    };
    sync().await;
    assert_eq!(receiver.received().len(), 0, "the baseline alerts nothing");
    assert_eq!(outbox(dir.path(), "SELECT count(*) FROM alert_outbox"), 0);

    let (v1, old1, c1) = first_variant(&shop, p1);
    let a1 = shop
        .expected_catalog()
        .iter()
        .find(|p| p["id"].as_u64() == Some(p1))
        .unwrap()["variants"][0]["available"]
        .clone();
    let new1 = price(c1 / 2);
    shop.set_price(p1, 0, &new1);
    let (_, _, c2) = first_variant(&shop, p2);
    shop.set_price(p2, 0, &price(c2 * 95 / 100)); // 5%: below the rule's 10%
    let (_, _, c5) = first_variant(&shop, p5);
    shop.set_price(p5, 0, &price(c5 + 1000)); // a rise no rule's filter matches
    let (v3, old3, _) = first_variant(&shop, p3);
    shop.set_available(p3, 0, true);
    let (v4, old4, _) = first_variant(&shop, p4);
    shop.set_available(p4, 0, false);
    let added = shop.add_product();
    shop.remove_product(p6);
    sync().await;

    let delivered = receiver.delivered();
    let mut got: Vec<Seen> = delivered.iter().map(|r| seen(&r.json())).collect();
    got.sort_by_key(|s| format!("{s:?}"));
    let s = |t: &str| t.to_string();
    let j = |t: &str| Value::from(t);
    let mut want: Vec<Seen> = vec![
        (
            s("variant.price_dropped"),
            p1,
            Some(v1),
            j(&old1),
            j(&new1),
            a1.clone(),
            a1,
        ),
        (
            s("variant.back_in_stock"),
            p3,
            Some(v3),
            j(&old3),
            j(&old3),
            false.into(),
            true.into(),
        ),
        (
            s("variant.out_of_stock"),
            p4,
            Some(v4),
            j(&old4),
            j(&old4),
            true.into(),
            false.into(),
        ),
        (
            s("product.added"),
            added,
            None,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ),
        (
            s("product.removed"),
            p6,
            None,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ),
    ];
    want.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, want);
    assert_eq!(
        receiver.received().len(),
        5,
        "each alert once, all answered 200"
    );
    let drop = delivered
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "variant.price_dropped")
        .unwrap();
    assert_eq!(
        drop["data"]["change"]["amount"],
        format!("-{}", price(c1 - c1 / 2))
    );
    assert_eq!(drop["data"]["store"], "shop");
    let handle = shop.handle_of(p1).unwrap();
    assert_eq!(
        drop["data"]["product"]["url"],
        format!("{}/products/{handle}", shop.url())
    );
    assert_eq!(
        python_verifies(&delivered),
        5,
        "Python's hmac verifies every signature"
    );
    let ids: std::collections::BTreeSet<&str> =
        delivered.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 5);

    // Nothing changed: nothing more, and the outbox holds the five rows, delivered.
    sync().await;
    assert_eq!(receiver.received().len(), 5);
    assert_eq!(
        outbox(
            dir.path(),
            "SELECT count(*) FROM alert_outbox WHERE state = 'delivered'"
        ),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_text_arrives_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(4, 8)).await;
    let receiver = Receiver::start().await;
    let sinks = format!(
        "{}[alerts.sinks.slack]\nkind = \"slack\"\nurl = \"{}\"\n\
         [alerts.sinks.discord]\nkind = \"discord\"\nurl = \"{}\"\n\
         [alerts.sinks.phone]\nkind = \"ntfy\"\nurl = \"{}\"\n\
         [alerts.rules.new]\nwhen = [\"product_added\"]\n\
         sinks = [\"hook\", \"slack\", \"discord\", \"phone\"]\n",
        hook("hook", &receiver),
        receiver.url("/slack"),
        receiver.url("/discord"),
        receiver.url("/acme-topic"),
    );
    alert_config(dir.path(), &shop, &sinks);
    sync(dir.path()).await;
    let title = "<script>alert(1)</script> @everyone **sale** [x](http://evil)";
    let added = shop.add_product();
    shop.set_title(added, title);
    sync(dir.path()).await;

    let by_path = |path: &str| {
        receiver
            .delivered()
            .into_iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing at {path}: {:?}", receiver.received()))
    };
    let webhook = by_path("/hook");
    assert!(!webhook.body.contains('<'), "{}", webhook.body);
    assert_eq!(webhook.json()["data"]["product"]["title"], title);

    let slack = by_path("/slack").json();
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;script&gt;") && !text.contains('<'),
        "{text}"
    );
    assert_eq!(slack["blocks"][0]["text"]["type"], "plain_text");

    let discord = by_path("/discord").json();
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
    let embed = discord["embeds"][0]["title"].as_str().unwrap();
    assert!(!embed.contains("@everyone"), "{embed}");
    assert!(
        embed.contains("\\*\\*sale\\*\\*") && embed.contains("\\<script\\>"),
        "{embed}"
    );

    let ntfy = by_path("/").json();
    assert_eq!(ntfy["topic"], "acme-topic");
    assert_eq!(ntfy["title"], format!("New product: {title}"));
    assert!(ntfy["click"].as_str().unwrap().starts_with(&shop.url()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_sends_one_alert_per_variant_and_rule_per_period() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(4, 9)).await;
    let receiver = Receiver::start().await;
    let rules = "[alerts.rules.drops]\nwhen = [\"price_drop\"]\ncooldown = \"1h\"\n\
                 sinks = [\"ops\"]\n";
    alert_config(
        dir.path(),
        &shop,
        &format!("{}{rules}", hook("ops", &receiver)),
    );
    sync(dir.path()).await;
    let ids = shop.product_ids();
    let (_, _, a) = first_variant(&shop, ids[0]);
    shop.set_price(ids[0], 0, &price(a - 100));
    sync(dir.path()).await;
    shop.set_price(ids[0], 0, &price(a - 200));
    let (_, _, b) = first_variant(&shop, ids[1]);
    shop.set_price(ids[1], 0, &price(b - 100));
    sync(dir.path()).await;
    let got: Vec<(u64, Value)> = receiver
        .delivered()
        .iter()
        .map(|r| r.json())
        .map(|b| {
            (
                b["data"]["product"]["id"].as_u64().unwrap(),
                b["data"]["new"]["price"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (ids[0], price(a - 100).into()),
            (ids[1], price(b - 100).into())
        ],
        "the second drop of the first variant is within its cooldown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_for_without_spending_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(3, 4)).await;
    let receiver = Receiver::start().await;
    let rules = "[alerts.rules.drops]\nwhen = [\"price_drop\"]\nsinks = [\"ops\"]\n";
    alert_config(
        dir.path(),
        &shop,
        &format!("{}{rules}", hook("ops", &receiver)),
    );
    sync(dir.path()).await;
    let id = shop.product_ids()[0];
    let (_, _, c) = first_variant(&shop, id);
    shop.set_price(id, 0, &price(c - 1));
    receiver.script([Reply::RetryAfter(2)]);
    sync(dir.path()).await;
    let got = receiver.received();
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "waited {waited:?}"
    );
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body, "a retry sends the same bytes");
    assert_eq!(
        outbox(
            dir.path(),
            "SELECT attempts FROM alert_outbox WHERE state = 'delivered'"
        ),
        0,
        "a 429 spends no attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_later_does_not_backfill_and_secrets_from_the_environment_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(4, 12)).await;
    let receiver = Receiver::start().await;
    let sink = hook("ops", &receiver).replace(&format!("secret = \"{SECRET}\"\n"), "");
    alert_config(dir.path(), &shop, &sink);
    sync(dir.path()).await;
    let id = shop.product_ids()[0];
    let (_, _, cents) = first_variant(&shop, id);
    shop.set_price(id, 0, &price(cents - 100));
    sync(dir.path()).await;
    assert_eq!(
        outbox(dir.path(), "SELECT count(*) FROM variant_changes"),
        1
    );

    alert_config(
        dir.path(),
        &shop,
        &format!(
            "{sink}{}",
            "[alerts.rules.drops]\n\
        when = [\"price_drop\"]\nsinks = [\"ops\"]\n"
        ),
    );
    sync(dir.path()).await;
    assert_eq!(
        receiver.received().len(),
        0,
        "the earlier drop is not announced"
    );
    shop.set_price(id, 0, &price(cents - 200));
    sync(dir.path()).await;
    let got: Vec<_> = receiver
        .delivered()
        .iter()
        .map(|r| r.json()["data"]["new"]["price"].clone())
        .collect();
    assert_eq!(got, [Value::from(price(cents - 200))]);

    let mut check = configured(dir.path(), &["check-config"]);
    check.env("SHOPMIRROR_ALERTS__SINKS__OPS__SECRET", SECRET);
    let shown = run(check).await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(
        shown.stdout.contains("\"secret\": \"[redacted]\""),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains("MfKQ9r8"), "{}", shown.stdout);
}
