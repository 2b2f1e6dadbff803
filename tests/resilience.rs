//! The storefront client against the fake store's faults: retries and Retry-After, the
//! breaker's silence, hostile answers, redirects, connections, and a whole sync under mixed
//! faults that must still end with a mirror equal to the catalogue.

use crate::support;

use std::sync::Arc;
use std::time::Duration;
use support::fakeshop;

use fakeshop::{Catalog, FakeShop, Fault, Faults, RetryAfter, ReuseRefusal};
use shopmirror::catalog::{parse_products_page, ParseError};
use shopmirror::config::Config;
use shopmirror::endpoint::Endpoint;
use shopmirror::storefront::{
    Body, BreakerState, Client, ClientSettings, Error, ErrorKind, Expect, StoreOptions,
};
use url::Url;

const STORE: &str = "fake";

/// The test client settings (loopback allowed, no pacing) with quick backoff.
fn settings() -> ClientSettings {
    let mut s = support::mirror::client_settings();
    s.retry.base = Duration::from_millis(20);
    s.retry.cap = Duration::from_millis(100);
    s
}

fn client(s: ClientSettings) -> Client {
    Client::new(s).unwrap()
}

async fn fake(products: usize, faults: Faults) -> FakeShop {
    FakeShop::start_with(
        Catalog::generate(products, 7),
        "127.0.0.1:0".parse().unwrap(),
        faults,
    )
    .await
}

fn products_url(shop: &FakeShop) -> Url {
    Url::parse(&format!("{}/products.json?limit=50&page=1", shop.url())).unwrap()
}

async fn get(c: &Client, shop: &FakeShop) -> Result<Body, Error> {
    c.get(
        STORE,
        &products_url(shop),
        None,
        (Endpoint::Listing, Expect::Json),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_seconds_is_a_lower_bound() {
    let shop = fake(30, Faults::default()).await;
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::Seconds(1)),
    );
    let c = client(settings());
    get(&c, &shop).await.unwrap();
    let log = shop.request_log();
    assert_eq!(log.len(), 2);
    let waited = log[1].received - log[0].received;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
    let report = c.report(STORE);
    assert_eq!((report.retries, report.breaker), (1, BreakerState::Closed));
    assert!(report.wait_ms >= 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_http_date_is_a_lower_bound() {
    let shop = fake(30, Faults::default()).await;
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::HttpDate(2)),
    );
    let c = client(settings());
    get(&c, &shop).await.unwrap();
    let log = shop.request_log();
    assert_eq!(log.len(), 2);
    // The fake sends now + 2 s in whole seconds: not before that second began.
    let date = httpdate::fmt_http_date(log[0].received_at + Duration::from_secs(2));
    let not_before = httpdate::parse_http_date(&date).unwrap();
    assert!(
        log[1].received_at >= not_before,
        "retried before the Retry-After date"
    );
    assert!(log[1].received - log[0].received >= Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried() {
    let shop = fake(30, Faults::default()).await;
    let c = client(settings());
    let cases = [
        (Fault::NotFound404, "not found"),
        (Fault::Challenge403, "HTTP 403"),
        (Fault::Password401, "password-protected"),
        (Fault::PasswordRedirect, "password-protected"),
        (Fault::Html200, "not a Shopify storefront"),
    ];
    for (fault, expect) in cases {
        shop.clear_request_log();
        shop.script_fault("/products.json", 1, fault.clone());
        let e = get(&c, &shop).await.unwrap_err();
        let message = e.to_string();
        assert!(message.contains(expect), "{fault:?}: {message}");
        assert!(message.contains(STORE) && message.contains("/products.json?limit=50"));
        assert_eq!(shop.request_count(), 1, "{fault:?} must not be retried");
    }
    assert!(shop.request_log().iter().all(|r| r.path != "/password"));
    assert_eq!(c.report(STORE).retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_keeps_silence_until_a_lockout_clears() {
    let mut faults = Faults::default().lockout_silence(Duration::from_millis(1500));
    faults.lockout_retry_after = 1;
    let shop = fake(30, faults).await;
    let mut s = settings();
    (s.breaker_threshold, s.breaker_cooldown) = (2, Duration::from_secs(2));
    let c = client(s);
    shop.trigger_lockout();
    get(&c, &shop).await.unwrap();
    let log = shop.request_log();
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    // The breaker opened on the second 429: nothing reached the store for the cool-down.
    let silence = log[2].received - log[1].received;
    assert!(silence >= Duration::from_secs(2), "probe after {silence:?}");
    assert_eq!(c.report(STORE).breaker, BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_while_the_breaker_is_open() {
    let shop = fake(30, Faults::default()).await;
    let mut s = settings();
    s.retry.max_retry_after = Duration::from_secs(2);
    let c = client(s);
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::Seconds(3600)),
    );
    for _ in 0..3 {
        let e = get(&c, &shop).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BreakerOpen { .. }), "{e}");
    }
    assert_eq!(shop.request_count(), 1);
    assert_eq!(c.report(STORE).breaker, BreakerState::Open);
    // A 430 block opens the breaker of its store too, without a retry.
    let blocked = fake(30, Faults::always(Fault::Block430)).await;
    let mut s = settings();
    s.breaker_cooldown = Duration::from_secs(600);
    let c = client(s);
    assert!(matches!(
        get(&c, &blocked).await.unwrap_err().kind,
        ErrorKind::Blocked
    ));
    assert!(matches!(
        get(&c, &blocked).await.unwrap_err().kind,
        ErrorKind::BreakerOpen { .. }
    ));
    assert_eq!(blocked.request_count(), 1);
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bomb_and_oversized_bodies_are_refused() {
    // Peak memory is per process: measured alone, other tests' allocations do not count.
    if !support::in_own_process("resilience::gzip_bomb_and_oversized_bodies_are_refused") {
        return;
    }
    let shop = fake(60, Faults::default()).await;
    let mut s = settings();
    s.max_body_bytes = 4 << 20;
    let c = client(s);
    let before = peak_kib();
    shop.script_fault("/products.json", 1, Fault::GzipBomb(256 << 20));
    let e = get(&c, &shop).await.unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::TooLarge { limit } if limit == 4 << 20),
        "{e}"
    );
    let grown_mib = (peak_kib() - before) / 1024;
    assert!(
        grown_mib < 64,
        "a 256 MiB bomb grew peak memory by {grown_mib} MiB"
    );
    shop.script_fault("/products.json", 1, Fault::Oversized(6 << 20));
    let e = get(&c, &shop).await.map(|body| body.len()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TooLarge { .. }), "{e}");
    assert_eq!(shop.request_count(), 2, "refused bodies are not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_json_is_refused_by_the_parser() {
    let shop = fake(60, Faults::default()).await;
    let c = client(settings());
    for fault in [Fault::TruncatedShort, Fault::InvalidUtf8] {
        shop.script_fault("/products.json", 1, fault.clone());
        let body = get(&c, &shop).await.unwrap();
        let e = parse_products_page(&body).unwrap_err();
        let refused = matches!(e, ParseError::BadJson(_));
        assert!(refused, "{fault:?}: {e}");
    }
    // Valid JSON nested absurdly deep as a product: no stack overflow, unusable, no id.
    shop.script_fault("/products.json", 1, Fault::DeepNesting(100_000));
    let body = get(&c, &shop).await.unwrap();
    let page = parse_products_page(&body).unwrap();
    assert_eq!((page.products.len(), page.unusable.len()), (0, 1));
    assert_eq!(page.unusable[0].id, None);
    // Valid JSON with one unusable product: set aside for the quarantine, named.
    shop.script_fault("/products.json", 1, Fault::MissingId);
    let body = get(&c, &shop).await.unwrap();
    let page = parse_products_page(&body).unwrap();
    let reason = &page.unusable[0].reason;
    let handle = shop.handle_of(shop.product_ids()[0]).unwrap();
    assert!(
        reason.contains("product #0") && reason.contains(&handle),
        "{reason}"
    );
    assert_eq!(page.products.len(), page.entries() - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_targets_are_refused() {
    let shop = fake(30, Faults::default()).await;
    // Not allowed: a name resolving to loopback is refused after DNS, before connecting.
    let mut s = settings();
    s.allow_private = false;
    let c = client(s);
    let local = Url::parse(&format!(
        "http://localhost:{}/products.json",
        shop.addr().port()
    ))
    .unwrap();
    let e = c
        .get(STORE, &local, None, (Endpoint::Listing, Expect::Json))
        .await
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Refused(_)), "{e}");
    assert_eq!(shop.request_count(), 0);
    // Allowed private addresses still never include metadata ones, on any hop.
    let c = client(settings());
    shop.script_fault(
        "/products.json",
        1,
        Fault::Redirect("http://169.254.169.254/latest/meta-data".into()),
    );
    let e = get(&c, &shop).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Refused(_)), "{e}");
    // At most 5 redirects.
    let again = products_url(&shop).to_string();
    shop.script_fault("/products.json", 6, Fault::Redirect(again));
    let e = get(&c, &shop).await.unwrap_err();
    assert!(e.to_string().contains("more than 5 redirects"), "{e}");
    assert_eq!(shop.request_count(), 1 + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_out_of_errors() {
    let shop = fake(30, Faults::always(Fault::NotFound404)).await;
    let c = client(settings());
    let url = format!("http://alice:hunter2@{}/products.json", shop.addr());
    let e = c
        .get(
            STORE,
            &Url::parse(&url).unwrap(),
            None,
            (Endpoint::Listing, Expect::Json),
        )
        .await
        .unwrap_err();
    let closed = Url::parse("http://alice:hunter2@127.0.0.1:9/products.json").unwrap();
    let e2 = c
        .get(STORE, &closed, None, (Endpoint::Listing, Expect::Json))
        .await
        .unwrap_err();
    for message in [e.to_string(), e2.to_string(), format!("{e2:?}")] {
        assert!(
            !message.contains("hunter2") && !message.contains("alice"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_with_credentials_stays_out_of_errors() {
    let custom = fake(30, Faults::always(Fault::NotFound404)).await;
    let myshopify = fake(30, Faults::always(Fault::NotFound404)).await;
    let c = client(settings());
    let fallback = format!(
        "http://bob:s3cret@{}/products.json?limit=50&page=1",
        myshopify.addr()
    );
    let fallback = Url::parse(&fallback).unwrap();
    let e = c
        .get(
            STORE,
            &products_url(&custom),
            Some(&fallback),
            (Endpoint::Listing, Expect::Json),
        )
        .await
        .unwrap_err();
    assert_eq!((custom.request_count(), myshopify.request_count()), (1, 1));
    for message in [e.to_string(), format!("{e:?}")] {
        assert!(
            !message.contains("s3cret") && !message.contains("bob"),
            "{message}"
        );
        let named = format!("http://{}/products.json", myshopify.addr());
        assert!(message.contains(&named), "the fallback's error: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_connections_for_stores_that_refuse_reuse() {
    let shop = fake(
        30,
        Faults::default().refuse_reused(ReuseRefusal::BadRequest),
    )
    .await;
    let mut s = settings();
    let fresh = StoreOptions {
        fresh_connections: true,
    };
    s.stores.insert(STORE.into(), fresh);
    let c = client(s);
    for _ in 0..4 {
        get(&c, &shop).await.unwrap();
    }
    assert!(shop.request_log().iter().all(|r| r.conn_seq == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_asked_again_through_the_myshopify_domain() {
    let custom = fake(30, Faults::always(Fault::NotFound404)).await;
    let myshopify = fake(30, Faults::default()).await;
    let c = client(settings());
    // The same request on the myshopify.com domain (as `sync::urls::fallback` builds it).
    let fallback = products_url(&myshopify);
    for _ in 0..2 {
        c.get(
            STORE,
            &products_url(&custom),
            Some(&fallback),
            (Endpoint::Listing, Expect::Json),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        custom.request_count(),
        1,
        "the working domain is asked first afterwards"
    );
    assert_eq!(myshopify.request_count(), 2);
    assert!(myshopify.request_log()[0]
        .path
        .starts_with("/products.json?limit=50&page=1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_host_are_paced() {
    let shop = fake(30, Faults::default()).await;
    let mut s = settings();
    s.min_delay = Duration::from_millis(200);
    let c = Arc::new(client(s));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (c, shop) = (c.clone(), shop.clone());
            tokio::spawn(async move { get(&c, &shop).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let log = shop.request_log();
    for pair in log.windows(2) {
        let gap = pair[1].received - pair[0].received;
        assert!(gap >= Duration::from_millis(200), "gap {gap:?}");
    }
}

/// Whole syncs: resuming after exhausted retries, and the mixed fault load.
#[path = "resilience/sync.rs"]
mod sync;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_emitted_per_store() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    let shop = fake(30, Faults::default()).await;
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::Seconds(0)),
    );
    shop.script_fault("/products.json", 1, Fault::Block430);
    let c = client(settings());
    let url = products_url(&shop);
    assert!(c
        .get("metered", &url, None, (Endpoint::Listing, Expect::Json))
        .await
        .is_err());
    let text = handle.render();
    for line in [
        r#"shopmirror_http_requests_total{store="metered",status="4xx"} 2"#,
        r#"shopmirror_http_429_total{store="metered"} 1"#,
        r#"shopmirror_http_retries_total{store="metered"} 1"#,
        r#"shopmirror_breaker_open{store="metered"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[test]
fn store_options_and_the_example_config_load() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let config = Config::load(Some(std::path::Path::new(example)), None).unwrap();
    assert_eq!(config.http.retry.max_attempts, 5);
    assert_eq!(config.http.breaker_cooldown, Duration::from_secs(120));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let text = "[stores.a]\nurl = \"https://a.example\"\nfresh_connections = true\n\
                myshopify_domain = \"a-shop.myshopify.com\"\n[stores.b]\nurl = \"https://b.example\"\n";
    std::fs::write(&file, text).unwrap();
    let config = Config::load(Some(&file), None).unwrap();
    assert!(config.http.stores["a"].fresh_connections);
    let a = config.stores.iter().find(|s| s.name == "a").unwrap();
    assert_eq!(
        a.myshopify.as_ref().unwrap().as_str(),
        "https://a-shop.myshopify.com/"
    );
    assert!(!config.http.stores.contains_key("b"));
    let b = config.stores.iter().find(|s| s.name == "b").unwrap();
    assert!(b.myshopify.is_none());
    std::fs::write(
        &file,
        "[stores.c]\nurl = \"https://c.example\"\nmyshopify_domain = \"a b\"\n",
    )
    .unwrap();
    let e = Config::load(Some(&file), None).unwrap_err().to_string();
    assert!(e.contains("stores.c.myshopify_domain"), "{e}");
}
