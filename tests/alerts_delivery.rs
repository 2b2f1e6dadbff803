//! Alert delivery with real parts: the daemon delivering rows that one-shot syncs enqueue, a
//! sink answering 500 then 200 (order per variant kept), a hanging sink beside a live one,
//! 410 and 400 with the operator's commands, and the daemon killed with SIGKILL twenty times
//! while it syncs and delivers.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::Rng;
use support::alerting::{
    alert_config, cli, first_variant, hook, outbox, price, python_verifies, sync,
};
use support::daemon::{open_db, wait_db, wait_metrics, Daemon};
use support::fakeshop::{Catalog, FakeShop};
use support::http::metric_sum;
use support::receiver::{Receiver, Reply};
use support::until;

const DROPS: &str = "[alerts.rules.drops]\nwhen = [\"price_drop\"]\nsinks = [\"ops\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_failing_then_recovering_gets_everything_in_order_per_variant() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(4, 21)).await;
    let receiver = Receiver::start().await;
    alert_config(
        dir.path(),
        &shop,
        &format!("{}{DROPS}", hook("ops", &receiver)),
    );
    sync(dir.path()).await;
    receiver.script([Reply::Status(500), Reply::Status(503), Reply::Status(500)]);
    let mut daemon = Daemon::start(dir.path(), &[]).await;
    let ids = shop.product_ids();
    let (a, b) = (ids[0], ids[1]);
    let (va, _, ca) = first_variant(&shop, a);
    let (vb, _, cb) = first_variant(&shop, b);
    let mut want: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for step in 1..=4 {
        for (product, variant, cents) in [(a, va, ca), (b, vb, cb)] {
            let new = price(cents - step * 10);
            shop.set_price(product, 0, &new);
            want.entry(variant).or_default().push(new);
        }
        // Enqueued by the one-shot sync; the daemon holds the delivery and sends them.
        sync(dir.path()).await;
    }
    until("eight alerts delivered", async || {
        receiver.delivered().len() >= 8
    })
    .await;
    let mut got: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in receiver.delivered() {
        let body = r.json();
        let variant = body["data"]["variant"]["id"].as_i64().unwrap();
        let new = body["data"]["new"]["price"].as_str().unwrap().to_string();
        got.entry(variant).or_default().push(new);
    }
    assert_eq!(got, want, "every alert, in order per variant");
    let answers: Vec<_> = receiver.received().iter().map(|r| r.answered).collect();
    assert_eq!(answers[..4], [Some(500), Some(503), Some(500), Some(200)]);
    assert_eq!(
        receiver.received().len(),
        11,
        "three failures, eight deliveries"
    );
    let ops = "sink=\"ops\"";
    let text = wait_metrics(&daemon, |t| {
        metric_sum(t, "shopmirror_alerts_delivered_total", &[ops]) == 8.0
            && metric_sum(t, "shopmirror_alerts_pending", &[ops]) == 0.0
    })
    .await;
    let failed = [ops, "reason=\"5xx\""];
    assert_eq!(
        metric_sum(&text, "shopmirror_alerts_failed_attempts_total", &failed),
        3.0
    );
    let age = metric_sum(
        &text,
        "shopmirror_alerts_oldest_pending_age_seconds",
        &[ops],
    );
    assert_eq!(age, 0.0);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(support::WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_sink_does_not_delay_a_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(6, 22)).await;
    let (live, dead) = (Receiver::start().await, Receiver::start().await);
    dead.otherwise(Reply::Hang);
    let tables = format!(
        "{}{}[alerts.rules.drops]\nwhen = [\"price_drop\"]\nsinks = [\"live\", \"dead\"]\n",
        hook("live", &live),
        hook("dead", &dead)
    );
    alert_config(dir.path(), &shop, &tables);
    sync(dir.path()).await;
    let mut daemon = Daemon::start(dir.path(), &[("SHOPMIRROR_ALERTS__TIMEOUT", "15s")]).await;
    for id in shop.product_ids().into_iter().take(5) {
        let (_, _, cents) = first_variant(&shop, id);
        shop.set_price(id, 0, &price(cents - 1));
    }
    sync(dir.path()).await;
    until("five alerts at the live sink", async || {
        live.delivered().len() == 5
    })
    .await;
    // The dead sink is still on its first request (it hangs for 15 s): the live one did not
    // wait for it.
    let stuck = dead.received();
    assert!(
        stuck.len() <= 1 && stuck.iter().all(|r| r.answered.is_none()),
        "{stuck:?}"
    );
    let pending = "SELECT count(*) FROM alert_outbox WHERE sink = 'dead' AND state = 'pending'";
    assert_eq!(outbox(dir.path(), pending), 5);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(support::WAIT).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_pauses_the_sink_refused_rows_die_and_the_operator_brings_both_back() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(4, 23)).await;
    let receiver = Receiver::start().await;
    alert_config(
        dir.path(),
        &shop,
        &format!("{}{DROPS}", hook("ops", &receiver)),
    );
    sync(dir.path()).await;
    let ids = shop.product_ids();
    let drop = |i: usize| {
        let (_, _, cents) = first_variant(&shop, ids[i]);
        shop.set_price(ids[i], 0, &price(cents - 5));
    };

    drop(0);
    receiver.script([Reply::Status(410)]);
    sync(dir.path()).await;
    assert_eq!(receiver.received().len(), 1);
    let status = cli(dir.path(), &["status"]).await.stdout;
    assert!(
        status.contains("alerts sink ops: 1 pending") && status.contains("410"),
        "{status}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&cli(dir.path(), &["alerts", "list", "--json"]).await.stdout).unwrap();
    assert_eq!(listed[0]["state"], "pending");
    sync(dir.path()).await;
    assert_eq!(receiver.received().len(), 1, "a paused sink is not sent to");
    assert_eq!(
        cli(dir.path(), &["alerts", "resume", "ops"]).await.code,
        Some(0)
    );
    let delivered = cli(dir.path(), &["alerts", "deliver"]).await;
    assert!(
        delivered.stdout.contains("1 alerts delivered"),
        "{}",
        delivered.stdout
    );

    drop(1);
    receiver.script([Reply::Status(400)]);
    sync(dir.path()).await;
    let dead: serde_json::Value = serde_json::from_str(
        &cli(dir.path(), &["alerts", "list", "--dead", "--json"])
            .await
            .stdout,
    )
    .unwrap();
    assert_eq!(dead.as_array().unwrap().len(), 1);
    assert_eq!(dead[0]["attempts"], 1);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("400"));
    assert_eq!(
        cli(dir.path(), &["alerts", "retry", "--all-dead"])
            .await
            .code,
        Some(0)
    );
    cli(dir.path(), &["alerts", "deliver"]).await;
    assert_eq!(
        outbox(
            dir.path(),
            "SELECT count(*) FROM alert_outbox WHERE state != 'delivered'"
        ),
        0
    );
    assert_eq!(receiver.delivered().len(), 2);

    let test = cli(dir.path(), &["alerts", "test", "ops"]).await;
    assert_eq!(test.code, Some(0), "{}", test.stderr);
    let sample = receiver.received().pop().unwrap();
    assert!(sample.body.contains("sample-product"));
    assert_eq!(python_verifies(&[sample]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_alert_and_repeats_only_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(30, 24)).await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(20));
    alert_config(
        dir.path(),
        &shop,
        &format!("{}{DROPS}", hook("ops", &receiver)),
    );
    sync(dir.path()).await;
    // The daemon syncs every second (and resumes what a kill interrupted) while the store's
    // prices keep dropping, one cent at a time.
    let env = [("SHOPMIRROR_DAEMON__SCHEDULE", "* * * * * *")];
    let stop = tokio_util::sync::CancellationToken::new();
    let mutator = {
        let (shop, stop) = (shop.clone(), stop.clone());
        tokio::spawn(async move {
            let ids = shop.product_ids();
            while !stop.is_cancelled() {
                let id = ids[rand::rng().random_range(0..ids.len())];
                let (_, _, cents) = first_variant(&shop, id);
                shop.set_price(id, 0, &price(cents - 1));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    for _ in 0..20 {
        let mut daemon = Daemon::start(dir.path(), &env).await;
        let moment = rand::rng().random_range(100..1500);
        tokio::time::sleep(Duration::from_millis(moment)).await;
        daemon.signal("KILL");
        daemon.wait_exit(support::WAIT).await;
    }
    stop.cancel();
    mutator.await.unwrap();
    let last_run = outbox(dir.path(), "SELECT max(run_id) FROM sync_runs");
    let mut daemon = Daemon::start(dir.path(), &env).await;
    let after =
        format!("SELECT count(*) FROM sync_runs WHERE run_id > {last_run} AND status = 'complete'");
    wait_db(dir.path(), &after, |n| n >= 1).await;
    let pending = "SELECT count(*) FROM alert_outbox WHERE state != 'delivered'";
    wait_db(dir.path(), pending, |n| n == 0).await;
    daemon.signal("TERM");
    daemon.wait_exit(support::WAIT).await;

    let db = open_db(dir.path());
    let drops = "FROM variant_changes c WHERE c.field = 'price'
                 AND CAST(c.new_value AS REAL) < CAST(c.old_value AS REAL)";
    let changes: i64 = db
        .query_row(&format!("SELECT count(*) {drops}"), [], |r| r.get(0))
        .unwrap();
    let unannounced: i64 = db
        .query_row(
            &format!(
                "SELECT count(*) {drops} AND NOT EXISTS (SELECT 1 FROM alert_outbox o
                 WHERE o.source = 'variant_change:' || c.change_id)"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let rows: BTreeMap<String, String> = db
        .prepare("SELECT message_id, body FROM alert_outbox")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(changes > 20, "only {changes} price drops recorded");
    assert_eq!(unannounced, 0, "every recorded drop has its alert row");
    assert_eq!(rows.len() as i64, changes, "one row per drop, no more");
    let received = receiver.delivered();
    let ids: BTreeSet<String> = received
        .iter()
        .map(|r| r.header("webhook-id").to_string())
        .collect();
    assert_eq!(
        ids,
        rows.keys().cloned().collect(),
        "every alert arrived, and nothing else"
    );
    for r in &received {
        assert_eq!(
            &r.body,
            &rows[r.header("webhook-id")],
            "a repeat carries the same bytes"
        );
    }
    eprintln!(
        "sigkill figures: 20 kills; {changes} price drops recorded; {} alert rows; {} requests \
         answered 2xx; {} distinct webhook-ids; {} duplicates (all with their row's webhook-id); \
         0 lost",
        rows.len(),
        received.len(),
        ids.len(),
        received.len() - ids.len()
    );
}
