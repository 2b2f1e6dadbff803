//! The web pages in headless Chromium: each variant's chart holds one point per recorded price
//! with the recorded values, a hostile title is shown as text and runs no script, and
//! screenshots of the overview and a product page are taken and are not blank.

use std::path::{Path, PathBuf};

use crate::support::site::{mirrored, serve, store_of};
use crate::support::{browser, rows};

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
