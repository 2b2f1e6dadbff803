//! The web pages (`shopmirror serve`, and the daemon's listener) over a database made by real
//! syncs of the fake storefront with price and stock changes between runs: every route
//! answers, charts hold one point per recorded price, hostile store text stays text, feeds
//! parse and equal the changes, search finds by SKU and title, and the listener refuses to
//! go beyond loopback without authentication. The browser's checks are in web_browser.rs.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::site::{change_ids, get, mirrored, serve, store_of, HOSTILE, SKU};
use crate::support::{self, rows, scalar};

#[tokio::test]
async fn every_route_answers_and_lists_page_through_every_change() {
    let m = mirrored().await;
    let store = store_of(&m);
    let s = serve(&m.db, &["--listen", "127.0.0.1:0"], &[]).await;
    let enc = |t: &str| t.replace(':', "%3A");
    let sp = format!("/stores/{}", enc(&store));
    let product = format!("{sp}/products/{}", m.tracked);
    let handle = m.shop.handle_of(m.tracked).unwrap();
    let routes = [
        ("/", "text/html"),
        ("/healthz", "text/plain"),
        ("/stores.json", "application/json"),
        ("/static/style.css", "text/css"),
        ("/changes", "text/html"),
        ("/changes?kind=price&since=2000-01-01", "text/html"),
        ("/changes.json", "application/json"),
        ("/changes.atom", "application/atom+xml"),
        ("/search?q=shirt", "text/html"),
        ("/search.json?q=shirt", "application/json"),
        (&sp, "text/html"),
        (&format!("{sp}/runs.json"), "application/json"),
        (&format!("{sp}/changes.atom"), "application/atom+xml"),
        (&product, "text/html"),
        (&format!("{sp}/products/{handle}"), "text/html"),
        (
            &format!("{product}/price.svg?variant={}&days=30", m.variants[0]),
            "image/svg+xml",
        ),
    ];
    for (path, kind) in routes {
        let (status, got, body) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(got.starts_with(kind), "{path}: {got}");
    }
    for (path, status) in [
        ("/stores/nope", 404),
        (&format!("{sp}/products/999"), 404),
        (&format!("{product}/price.svg?variant=1"), 404),
        ("/changes?kind=bogus", 400),
        ("/changes?since=yesterday", 400),
        ("/changes?before=x", 400),
        (&format!("/search?q={}", "a".repeat(3000)), 414),
    ] {
        let (got, _, body) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    let (_, _, body) = get(&format!("{}/", s.base)).await;
    assert!(body.contains(&format!("href=\"{sp}\"")), "{body}");
    let csp = reqwest::get(format!("{}/", s.base)).await.unwrap();
    let policy = csp.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));

    // /changes.json, two rows a page, followed to the end, gives every change exactly once.
    let mut seen = Vec::new();
    let mut next = Some("/changes.json?limit=2".to_string());
    while let Some(path) = next {
        let (_, _, body) = get(&format!("{}{path}", s.base)).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        for c in page["changes"].as_array().unwrap() {
            seen.push(format!("{}:{}", c["source"].as_str().unwrap(), c["id"]));
        }
        next = page["next"].as_str().map(str::to_string);
    }
    let all = change_ids(&m.db);
    assert!(all.len() > 5, "the syncs recorded changes: {all:?}");
    assert_eq!(seen.len(), all.len(), "no change twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
    let (_, _, body) = get(&format!("{}/changes.json?kind=price", s.base)).await;
    let prices: Value = serde_json::from_str(&body).unwrap();
    let expected = scalar(
        &m.db,
        "SELECT count(*) FROM variant_changes WHERE field = 'price'",
    );
    assert_eq!(prices["changes"].as_array().unwrap().len() as i64, expected);
    drop(m.dir);
}

/// Atom entries by id, with their titles, from a feed's XML (which must parse).
fn atom_entries(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut entries, mut path, mut current) = (
        Vec::new(),
        Vec::<String>::new(),
        (String::new(), String::new()),
    );
    loop {
        match reader.read_event().expect("the feed is well-formed XML") {
            Event::Start(e) => path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap()),
            Event::End(_) => {
                let closed = path.pop();
                if closed.as_deref() == Some("entry") {
                    entries.push(std::mem::take(&mut current));
                }
            }
            Event::Text(t) => {
                let text = t.decode().unwrap().into_owned();
                let text = quick_xml::escape::unescape(&text).unwrap().into_owned();
                match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    ["feed", "entry", "id"] => current.0.push_str(&text),
                    ["feed", "entry", "title"] => current.1.push_str(&text),
                    _ => {}
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                let text = quick_xml::escape::unescape(&format!("&{name};"))
                    .unwrap()
                    .into_owned();
                if path.last().map(String::as_str) == Some("title") && path.len() == 3 {
                    current.1.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "every element closed");
    entries
}

#[tokio::test]
async fn atom_feeds_parse_and_hold_one_entry_per_change() {
    let m = mirrored().await;
    let store = store_of(&m);
    let s = serve(&m.db, &["--listen", "127.0.0.1:0"], &[]).await;
    let expected: BTreeSet<String> = change_ids(&m.db)
        .into_iter()
        .map(|id| format!("urn:shopmirror:{}:{id}", store.replace(':', "%3A")))
        .collect();
    assert!(expected.len() <= 100, "every change fits one feed");
    for path in [
        "/changes.atom".to_string(),
        format!("/stores/{}/changes.atom", store.replace(':', "%3A")),
    ] {
        let (status, _, xml) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 200);
        let entries = atom_entries(&xml);
        let ids: BTreeSet<String> = entries.iter().map(|e| e.0.clone()).collect();
        assert_eq!(ids.len(), entries.len(), "{path}: entry ids are unique");
        assert_eq!(ids, expected, "{path}");
        // The hostile title arrives as the same text, escaped by the XML, not as markup.
        let hostile_entries = entries.iter().filter(|e| e.1.starts_with(HOSTILE)).count();
        let hostile_changes = scalar(
            &m.db,
            &format!(
                "SELECT count(*) FROM product_events WHERE product_id = {}",
                m.hostile
            ),
        ) + scalar(
            &m.db,
            &format!(
                "SELECT count(*) FROM collection_changes WHERE product_id = {}",
                m.hostile
            ),
        );
        assert_eq!(hostile_entries as i64, hostile_changes, "{path}");
        // Ids are stable: the same feed again names the same entries.
        let (_, _, again) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(atom_entries(&again), entries);
    }
}

#[tokio::test]
async fn search_finds_products_by_sku_title_and_vendor() {
    let m = mirrored().await;
    let s = serve(&m.db, &["--listen", "127.0.0.1:0"], &[]).await;
    let found = async |q: &str| -> Vec<u64> {
        let (status, _, body) = get(&format!("{}/search.json?q={q}", s.base)).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["product_id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(found(SKU).await, [m.tracked], "by whole SKU");
    assert_eq!(
        found("web-sku-42").await,
        [m.tracked],
        "by SKU prefix, any case"
    );
    assert!(found("Jerry").await.contains(&m.hostile), "by a title word");
    let title = rows(
        &m.db,
        &format!(
            "SELECT title FROM products WHERE product_id = {}",
            m.tracked
        ),
    )
    .remove(0);
    let word = title
        .split_whitespace()
        .find(|w| w.chars().all(char::is_alphanumeric))
        .unwrap();
    assert!(
        found(word).await.contains(&m.tracked),
        "by title word {word:?}"
    );
    assert!(found("zzzqqqxxx").await.is_empty());
    let (_, _, html) = get(&format!("{}/search?q={SKU}", s.base)).await;
    assert!(html.contains(&format!("/products/{}", m.tracked)), "{html}");
}

#[tokio::test]
async fn a_non_loopback_address_needs_auth_and_auth_guards_the_pages() {
    let m = mirrored().await;
    let mut command = support::shopmirror();
    command
        .arg("--db")
        .arg(&m.db)
        .args(["serve", "--listen", "0.0.0.0:0"]);
    let refused = support::run(command).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("refusing to serve the web pages on 0.0.0.0:0 without authentication"),
        "{}",
        refused.stderr
    );
    let env = [
        ("SHOPMIRROR_WEB__AUTH", "bearer"),
        ("SHOPMIRROR_WEB__SECRET", "s3cret token"),
    ];
    let s = serve(&m.db, &["--listen", "0.0.0.0:0"], &env).await;
    let base = s.base.replace("0.0.0.0", "127.0.0.1");
    let client = reqwest::Client::new();
    let status = |token: Option<&'static str>, path: &'static str| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None, "/").await, 401);
    assert_eq!(status(Some("wrong"), "/").await, 401);
    assert_eq!(status(Some("s3cret token"), "/").await, 200);
    assert_eq!(status(None, "/healthz").await, 200, "probes need no secret");
    // Read-only: the pages never wrote (no run, no row, same file).
    let before = std::fs::read(&m.db).unwrap();
    assert_eq!(status(Some("s3cret token"), "/changes").await, 200);
    assert_eq!(std::fs::read(&m.db).unwrap(), before);
}

#[tokio::test]
async fn the_daemon_serves_the_pages_beside_its_metrics() {
    let m = mirrored().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&m.db, dir.path().join("mirror.db")).unwrap();
    support::daemon::config(dir.path(), "", &[("shop", &m.shop)]);
    let daemon = support::daemon::Daemon::start(dir.path(), &[]).await;
    let (status, body) = support::http::get(&daemon.url("/")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Latest changes"), "{body}");
    let (status, body) = support::http::get(&daemon.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(body.contains("shopmirror_"), "{body}");
    assert_eq!(support::http::get(&daemon.url("/readyz")).await.0, 200);
    drop(daemon);

    // Beyond loopback without web.auth the daemon still serves its probes and metrics, but
    // not the pages.
    let open = [("SHOPMIRROR_DAEMON__LISTEN", "0.0.0.0:0")];
    let daemon = support::daemon::Daemon::start(dir.path(), &open).await;
    assert_eq!(support::http::get(&daemon.url("/")).await.0, 404);
    assert_eq!(support::http::get(&daemon.url("/changes")).await.0, 404);
    assert_eq!(support::http::get(&daemon.url("/healthz")).await.0, 200);
    assert_eq!(support::http::get(&daemon.url("/metrics")).await.0, 200);
}
