//! The web pages (`shopmirror serve`, and the daemon's listener) over a database made by real
//! syncs of the fake storefront with price and stock changes between runs: every route
//! answers, charts hold one point per recorded price, hostile store text stays text, feeds
//! parse and equal the changes, search finds by SKU and title, and the listener refuses to
//! go beyond loopback without authentication. Browser checks run headless Chromium.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::support::fakeshop::{Catalog, FakeShop};
use crate::support::{self, browser, rows, scalar, WAIT};

/// A product title no page may execute or mangle.
const HOSTILE: &str = "<script>document.title='pwned';document.documentElement.setAttribute('data-pwned','1')</script><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\"> Tom & Jerry \"quoted\" 🙂 שלום";
const SKU: &str = "WEB-SKU-4242";

/// A database made by three syncs with changes between them, and the fake it mirrors.
struct Mirrored {
    dir: tempfile::TempDir,
    shop: FakeShop,
    db: PathBuf,
    /// The product whose prices and stock changed, and its two variant ids.
    tracked: u64,
    variants: [i64; 2],
    hostile: u64,
}

async fn mirrored() -> Mirrored {
    let shop = FakeShop::start(Catalog::generate(30, 23)).await;
    let products = shop.expected_products();
    let with_two = |p: &&Value| p["variants"].as_array().is_some_and(|v| v.len() >= 2);
    let tracked_json = products
        .iter()
        .find(with_two)
        .expect("a product with 2 variants");
    let tracked = tracked_json["id"].as_u64().unwrap();
    let variants = [0, 1].map(|i| tracked_json["variants"][i]["id"].as_i64().unwrap());
    let hostile = products
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .find(|id| *id != tracked)
        .unwrap();
    shop.set_title(hostile, HOSTILE);
    shop.modify_product(tracked, |p| {
        p["variants"][0]["sku"] = SKU.into();
        p["variants"][0]["price"] = "20.00".into();
        p["variants"][0]["compare_at_price"] = "25.00".into();
        p["variants"][0]["available"] = true.into();
        p["variants"][1]["price"] = "30.00".into();
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirror.db");
    let sync = async |db: &Path| {
        let run = support::sync(db, &shop.url()).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    };
    sync(&db).await;
    shop.set_price(tracked, 0, "17.50");
    shop.set_available(tracked, 0, false);
    shop.set_price(tracked, 1, "27.00");
    sync(&db).await;
    shop.set_price(tracked, 0, "15.00");
    shop.set_available(tracked, 0, true);
    shop.modify_product(tracked, |p| {
        p["variants"][0]["compare_at_price"] = Value::Null
    });
    sync(&db).await;
    Mirrored {
        dir,
        shop,
        db,
        tracked,
        variants,
        hostile,
    }
}

/// A running `shopmirror serve` and its base URL.
struct Served {
    _child: Child,
    base: String,
}

/// Starts `shopmirror --db DB serve ARGS` and waits for the address it serves on.
async fn serve(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut command = support::shopmirror();
    command
        .arg("--db")
        .arg(db)
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("serving the web pages on ").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        }
        panic!("serve ended without serving");
    })
    .await
    .expect("serve starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served {
        _child: child,
        base,
    }
}

fn store_of(m: &Mirrored) -> String {
    rows(&m.db, "SELECT name FROM stores").remove(0)
}

/// Every (source, id) of the store's changes, as the feeds and lists name them.
fn change_ids(db: &Path) -> BTreeSet<String> {
    rows(
        db,
        "SELECT 'product:' || event_id FROM product_events
         UNION ALL SELECT 'variant:' || change_id FROM variant_changes
         UNION ALL SELECT 'collection:' || change_id FROM collection_changes",
    )
    .into_iter()
    .collect()
}

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

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

/// The prices a variant's chart must show, oldest first, from the database.
fn recorded_prices(db: &Path, product: u64, variant: i64) -> Vec<String> {
    let changes = rows(
        db,
        &format!(
            "SELECT old_value || '>' || new_value FROM variant_changes WHERE product_id = {product}
             AND variant_id = {variant} AND field = 'price' ORDER BY change_id"
        ),
    );
    let current = rows(
        db,
        &format!(
            "SELECT price FROM variants WHERE product_id = {product} AND variant_id = {variant}"
        ),
    )
    .remove(0);
    let mut prices = vec![changes
        .first()
        .map_or(current, |c| c.split('>').next().unwrap().to_string())];
    prices.extend(
        changes
            .iter()
            .map(|c| c.split('>').nth(1).unwrap().to_string()),
    );
    prices
}

/// The `data-price` of each point of the chart of `variant` in a dumped DOM.
fn chart_points(dom: &str, variant: i64) -> Vec<String> {
    let marker = format!("data-variant=\"chart-{variant}\"");
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no chart of {variant}"));
    let chart = &dom[start..start + dom[start..].find("</svg>").unwrap()];
    chart
        .split("<circle")
        .skip(1)
        .map(|c| {
            let at = c.find("data-price=\"").unwrap() + "data-price=\"".len();
            c[at..at + c[at..].find('"').unwrap()].to_string()
        })
        .collect()
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

#[tokio::test]
async fn in_a_browser_charts_hold_every_price_and_hostile_text_stays_text() {
    let Some(chromium) = browser::chromium("web browser test") else {
        return;
    };
    let m = mirrored().await;
    let store = store_of(&m).replace(':', "%3A");
    let s = serve(&m.db, &["--listen", "127.0.0.1:0"], &[]).await;
    let url = format!("{}/stores/{store}/products/{}", s.base, m.tracked);
    let dom = browser::dump_dom(&chromium, &url).await;
    let variants: Vec<i64> = rows(
        &m.db,
        &format!(
            "SELECT CAST(variant_id AS TEXT) FROM variants WHERE product_id = {} ORDER BY position",
            m.tracked
        ),
    )
    .iter()
    .map(|v| v.parse().unwrap())
    .collect();
    assert!(variants.len() >= 2);
    for variant in &variants {
        assert_eq!(
            chart_points(&dom, *variant),
            recorded_prices(&m.db, m.tracked, *variant),
            "variant {variant}"
        );
    }
    assert_eq!(
        chart_points(&dom, m.variants[0]),
        ["20.00", "17.50", "15.00"]
    );
    assert_eq!(chart_points(&dom, m.variants[1]), ["30.00", "27.00"]);
    assert_eq!(
        dom.matches("<rect class=\"oos\"").count(),
        1,
        "one out-of-stock period"
    );
    assert!(
        dom.contains("<title>Out of stock from"),
        "the shade says what it is"
    );
    assert!(dom.contains("<path class=\"compare\""), "compare-at drawn");

    let hostile = format!("{}/stores/{store}/products/{}", s.base, m.hostile);
    for page in [
        hostile,
        format!("{}/", s.base),
        format!("{}/search?q=Jerry", s.base),
    ] {
        let dom = browser::dump_dom(&chromium, &page).await;
        // A script that ran would have set data-pwned on <html> (the text names it too).
        assert!(
            dom.contains("<html lang=\"en\"><head>"),
            "{page}: a script ran: {dom}"
        );
        assert!(
            !dom.contains("data-pwned=\""),
            "{page}: a script ran: {dom}"
        );
        assert!(!dom.contains("<title>pwned"), "{page}: a script ran");
        assert!(
            dom.contains("&lt;script&gt;document.title="),
            "{page}: shown as text: {dom}"
        );
        assert!(!dom.contains("<script"), "{page}: no script element at all");
        assert!(
            dom.contains("Tom &amp; Jerry \"quoted\" 🙂 שלום"),
            "{page}: text intact"
        );
    }

    let dir = screenshot_dir();
    for (name, url, height) in [
        ("overview.png", format!("{}/", s.base), 900),
        ("product.png", url, 1400),
        (
            "product-phone.png",
            format!("{}/stores/{store}/products/{}", s.base, m.tracked),
            1400,
        ),
    ] {
        let path = dir.join(name);
        let width = if name.contains("phone") { 390 } else { 1280 };
        browser::screenshot(&chromium, &url, &path, width, height).await;
        let (inked, colours) = browser::ink(&path);
        assert!(
            inked > 0.02 && colours > 16,
            "{name} looks blank: {inked} inked, {colours} colours"
        );
        eprintln!(
            "screenshot {} ({:.1}% inked, {colours} colours)",
            path.display(),
            inked * 100.0
        );
    }
}
