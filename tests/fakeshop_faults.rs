//! Integration tests of the fake storefront's fault injection.

use crate::support;

use std::time::Duration;
use support::fakeshop;

use fakeshop::{Catalog, FakeShop, Fault, Faults, RetryAfter, ReuseRefusal};
use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn shop(faults: Faults) -> FakeShop {
    let addr = "127.0.0.1:0".parse().unwrap();
    FakeShop::start_with(Catalog::generate(60, 1), addr, faults).await
}

async fn get(
    c: &reqwest::Client,
    url: String,
) -> reqwest::Result<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
    support::http::fetch(c, &url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_429_then_normal() {
    let shop = shop(Faults::default()).await;
    shop.script_fault(
        "/products.json",
        2,
        Fault::TooManyRequests(RetryAfter::Seconds(2)),
    );
    shop.script_fault(
        "/products.json",
        1,
        Fault::TooManyRequests(RetryAfter::HttpDate(5)),
    );
    let c = client();
    let u = format!("{}/products.json", shop.url());
    for _ in 0..2 {
        let (s, h, _) = get(&c, u.clone()).await.unwrap();
        assert_eq!((s, h["retry-after"].to_str().unwrap()), (429, "2"));
    }
    let (s, h, _) = get(&c, u.clone()).await.unwrap();
    assert_eq!(s, 429);
    assert!(httpdate::parse_http_date(h["retry-after"].to_str().unwrap()).is_ok());
    assert_eq!(get(&c, u).await.unwrap().0, 200);
    let log = shop.request_log();
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 3);
    assert_eq!(log[3].fault, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_lasts_until_silence() {
    let shop = shop(Faults::default().lockout_silence(Duration::from_millis(400))).await;
    shop.script_fault("/", 1, Fault::Lockout);
    let c = client();
    let u = format!("{}/products.json", shop.url());
    for _ in 0..4 {
        let (s, h, b) = get(&c, u.clone()).await.unwrap();
        assert_eq!((s, h["retry-after"].to_str().unwrap()), (429, "60"));
        assert!(h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(b, b"error code: 1015");
        tokio::time::sleep(Duration::from_millis(150)).await; // polling keeps it going
    }
    assert!(shop.lockout_active());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(get(&c, u).await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bodies() {
    let shop = shop(Faults::default()).await;
    let c = client();
    let u = format!("{}/products.json?limit=50", shop.url());
    shop.script_fault("/products.json", 1, Fault::TruncatedClose);
    assert!(
        get(&c, u.clone()).await.is_err(),
        "connection closed mid-body"
    );
    shop.script_fault("/products.json", 1, Fault::TruncatedShort);
    let (s, _, b) = get(&c, u.clone()).await.unwrap();
    assert!(s == 200 && serde_json::from_slice::<Value>(&b).is_err());
    shop.script_fault("/products.json", 1, Fault::InvalidUtf8);
    let (_, _, b) = get(&c, u.clone()).await.unwrap();
    assert!(std::str::from_utf8(&b).is_err());
    shop.script_fault("/products.json", 1, Fault::DeepNesting(100_000));
    let (_, _, b) = get(&c, u.clone()).await.unwrap();
    assert!(
        serde_json::from_slice::<Value>(&b).is_err(),
        "recursion limit"
    );
    shop.script_fault("/products.json", 1, Fault::MissingId);
    let (_, _, b) = get(&c, u.clone()).await.unwrap();
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert!(v["products"][0].get("id").is_none() && v["products"][1]["id"].is_u64());
    shop.script_fault("/products.json", 1, Fault::Oversized(3_000_000));
    let (_, _, b) = get(&c, u.clone()).await.unwrap();
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert!(b.len() >= 3_000_000 && v["products"].as_array().unwrap().len() > 100);
    shop.script_fault("/products.json", 1, Fault::GzipBomb(5_000_000));
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let (_, h, b) = get(&raw, u.clone()).await.unwrap();
    assert_eq!(h["content-encoding"], "gzip");
    assert!(b.len() < 10_000, "small on the wire: {}", b.len());
    shop.script_fault("/products.json", 1, Fault::GzipBomb(5_000_000));
    let (_, _, b) = get(&c, u.clone()).await.unwrap();
    assert_eq!(b.len(), 5_000_015);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["products"],
        Value::Array(vec![])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_is_bounded() {
    let shop = shop(Faults {
        hang_max: Duration::from_millis(300),
        ..Faults::default()
    })
    .await;
    shop.script_fault("/products.json", 1, Fault::Hang);
    let u = format!("{}/products.json", shop.url());
    let t = tokio::spawn(async move { get(&client(), u).await.is_err() });
    while shop.hung_requests() == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(shop.request_log()[0].fault.as_deref(), Some("Hang"));
    assert!(t.await.unwrap(), "dropped without answer");
    assert_eq!(shop.hung_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_and_redirects() {
    let shop = shop(Faults::always(Fault::PasswordRedirect)).await;
    let c = client();
    let (s, h, _) = get(&c, format!("{}/products.json", shop.url()))
        .await
        .unwrap();
    assert_eq!(
        (s, h["location"].to_str().unwrap()),
        (302, format!("{}/password", shop.url()).as_str())
    );
    assert_eq!(
        get(&c, format!("{}/password", shop.url())).await.unwrap().0,
        200
    );
    for (f, status) in [
        (Fault::Password401, 401),
        (Fault::Block430, 430),
        (Fault::Html200, 200),
        (Fault::NotFound404, 404),
        (Fault::Challenge403, 403),
        (Fault::Status(503), 503),
        (Fault::Redirect("http://169.254.169.254/latest".into()), 302),
    ] {
        shop.set_faults(Faults::always(f));
        let (s, h, _) = get(&c, format!("{}/products.json", shop.url()))
            .await
            .unwrap();
        assert_eq!(s, status);
        if s == 200 {
            assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_reused_connections() {
    // Whether the client reuses a connection depends on when it returns it to its pool, so
    // the assertions read the server's log: every reused connection is refused, every fresh
    // one answered.
    let shop = shop(Faults::default().refuse_reused(ReuseRefusal::BadRequest)).await;
    let c = client();
    let u = format!("{}/products.json", shop.url());
    for _ in 0..20 {
        let _ = get(&c, u.clone()).await;
    }
    let log = shop.request_log();
    assert!(
        log.iter().any(|r| r.conn_seq >= 2),
        "the client never reused a connection"
    );
    for r in &log {
        let expected = if r.conn_seq >= 2 { 400 } else { 200 };
        assert_eq!(
            r.status, expected,
            "request {} on its connection",
            r.conn_seq
        );
    }
    shop.set_faults(Faults::default().refuse_reused(ReuseRefusal::Close));
    shop.clear_request_log();
    let c = client();
    for _ in 0..20 {
        let _ = get(&c, u.clone()).await; // the client may retry on a fresh connection
    }
    let log = shop.request_log();
    let refused: Vec<_> = log.iter().filter(|r| r.conn_seq >= 2).collect();
    assert!(!refused.is_empty(), "the client never reused a connection");
    for r in refused {
        assert_eq!(r.fault.as_deref(), Some("RefuseReused(Close)"));
        assert_eq!(r.status, 0);
    }
    assert!(log
        .iter()
        .filter(|r| r.conn_seq == 1)
        .all(|r| r.status == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_are_seeded() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let shop = shop(
            Faults::seeded(7)
                .with(0.4, Fault::Status(503))
                .with(0.1, Fault::Status(500)),
        )
        .await;
        let c = client();
        let mut codes = Vec::new();
        for _ in 0..40 {
            codes.push(
                get(&c, format!("{}/products.json", shop.url()))
                    .await
                    .unwrap()
                    .0,
            );
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&503) && runs[0].contains(&500) && runs[0].contains(&200));
}
