//! `shopmirror sync` on a terminal, run under a pseudo-terminal (`script` from util-linux) and
//! read back as a screen (vt100): one bar per store with pages, products, requests and rate;
//! log lines above the bars, never through them; summaries once the bars are cleared; no
//! colour with NO_COLOR.

use crate::support;

use std::path::Path;
use support::fakeshop;

use fakeshop::{Catalog, FakeShop};

const ROWS: u16 = 50;
const COLS: u16 = 160;
const PRODUCTS: usize = 300;

/// Runs `shopmirror -v sync` for stores a and b in a pseudo-terminal; returns the raw bytes
/// the terminal received.
async fn sync_on_a_terminal(dir: &Path, no_color: bool) -> Vec<u8> {
    let a = FakeShop::start(Catalog::generate(PRODUCTS, 1)).await;
    let b = FakeShop::start(Catalog::generate(PRODUCTS, 2)).await;
    let config = dir.join("config.toml");
    // Small pages, paced: the sync lasts long enough for the bars to be drawn many times.
    let text = format!(
        "[http]\nallow_private = true\nmin_delay = \"20ms\"\nmax_delay = \"20ms\"\n\
         [sync]\npage_size = 25\n\
         [stores.a]\nurl = {:?}\n[stores.b]\nurl = {:?}\n",
        a.url(),
        b.url()
    );
    std::fs::write(&config, text).unwrap();
    let inner = format!(
        "stty rows {ROWS} cols {COLS}; exec {bin} --config {config} --db {db} -v sync",
        bin = env!("CARGO_BIN_EXE_shopmirror"),
        config = config.display(),
        db = dir.join("mirror.db").display(),
    );
    let mut command = support::clean("script");
    command
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    output.stdout
}

/// A bar line: "⠁ a  0s  3 pages, 75 products, 3 requests, 40 products/s".
struct Bar {
    store: String,
    pages: u64,
    products: u64,
    requests: u64,
}

fn parse_bar(row: &str) -> Option<Bar> {
    let row = row.trim();
    if !row.ends_with("products/s") {
        return None;
    }
    let words: Vec<&str> = row.split_whitespace().collect();
    let number = |after: &str| -> u64 {
        words
            .iter()
            .position(|w| w.trim_end_matches(',') == after)
            .and_then(|i| words.get(i.checked_sub(1)?)?.parse().ok())
            .unwrap_or_else(|| panic!("bar without {after}: {row}"))
    };
    Some(Bar {
        store: words[1].to_string(),
        pages: number("pages"),
        products: number("products"),
        requests: number("requests"),
    })
}

fn is_log(row: &str) -> bool {
    [" DEBUG ", " INFO ", " WARN ", " ERROR "]
        .iter()
        .any(|level| row.contains(level))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bars_per_store_logs_above_them_summaries_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let raw = sync_on_a_terminal(dir.path(), false).await;
    let mut screen = vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0);
    let mut seen_bars = std::collections::BTreeMap::new();
    let mut both_at_once = false;
    let mut logs_above_bars = false;
    // Look at the screen before every escape sequence and line end the terminal received.
    for chunk in raw.split_inclusive(|&b| b == b'\n' || b == b'\x1b') {
        screen.process(chunk);
        let rows: Vec<String> = screen.screen().rows(0, COLS).collect();
        let bars: Vec<(usize, Bar)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| parse_bar(r).map(|b| (i, b)))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            assert!(
                !(is_log(row) && row.contains("products/s")),
                "a log line went through a bar: {row:?}"
            );
            if is_log(row) && bars.iter().any(|(j, _)| *j > i) {
                logs_above_bars = true;
            }
        }
        let stores: std::collections::BTreeSet<&str> =
            bars.iter().map(|(_, b)| b.store.as_str()).collect();
        both_at_once |= stores.len() == 2;
        for (_, bar) in bars {
            // Products only: never more than the store has (collection rows do not count).
            assert!(bar.products <= PRODUCTS as u64, "{}", bar.products);
            assert!(bar.requests >= bar.pages);
            let best = seen_bars.entry(bar.store.clone()).or_insert(0);
            *best = (*best).max(bar.products);
        }
    }
    assert!(both_at_once, "never a bar for each store at once");
    assert!(logs_above_bars, "no log line was shown above the bars");
    assert_eq!(
        seen_bars.keys().cloned().collect::<Vec<_>>(),
        ["a", "b"],
        "{seen_bars:?}"
    );
    assert!(seen_bars.values().all(|&p| p > 0), "{seen_bars:?}");

    // At the end: no bar left, a summary per store, each on its own row.
    let rows: Vec<String> = screen.screen().rows(0, COLS).collect();
    assert!(
        rows.iter().all(|r| parse_bar(r).is_none()),
        "a bar was left: {rows:#?}"
    );
    for store in ["a", "b"] {
        let summary = rows
            .iter()
            .find(|r| r.starts_with(&format!("{store}: complete")))
            .unwrap_or_else(|| panic!("no summary for {store}: {rows:#?}"));
        assert!(
            summary.contains(&format!("{PRODUCTS} products seen")),
            "{summary}"
        );
    }
    // Colour without NO_COLOR (the test can tell the difference).
    assert!(has_sgr(&raw), "expected colour on a terminal");
}

/// True when the bytes hold an SGR (colour/bold) escape sequence: ESC [ digits/; m.
fn has_sgr(raw: &[u8]) -> bool {
    raw.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b[" && {
            let rest = &raw[i + 2..];
            let n = rest
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b';')
                .count();
            rest.get(n) == Some(&b'm')
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_means_no_colour_escape_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let raw = sync_on_a_terminal(dir.path(), true).await;
    assert!(!has_sgr(&raw), "{}", String::from_utf8_lossy(&raw));
    // Still a full display: bars were drawn and the summaries printed.
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("products/s"));
    assert!(text.contains("a: complete") && text.contains("b: complete"));
}
