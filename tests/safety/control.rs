//! Control characters in human-readable output (item 9): store text with ESC/OSC sequences,
//! C1 controls, bidirectional overrides or line breaks reaches `history`, `status`,
//! `stores list`, the sync summary and text log lines escaped (`\u{1b}`), never raw.

use super::support;

use support::fakeshop::faults::{Edit, Fault};
use support::fakeshop::{Catalog, FakeShop};

use super::{assert_code, cli, config_file, product};

const TITLE: &str = "Nice\u{1b}]0;pwned\u{7}\u{1b}[2J Mug\u{9b}2J";
const HANDLE: &str = "mug\u{1b}[8m";
const VARIANT: &str = "Small\u{202e}lam\u{2066}";
/// A store name as a config file may spell it (TOML escapes).
const NAME_TOML: &str = r"shop\u001b[31m\u202e";
const NAME: &str = "shop\u{1b}[31m\u{202e}";

/// Characters a terminal could act on: C0 but the line feed, DEL, C1, bidirectional
/// controls and the Unicode line separators.
fn is_dangerous(c: char) -> bool {
    (c < ' ' && c != '\n')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn assert_clean(what: &str, text: &str) {
    let found: Vec<char> = text.chars().filter(|c| is_dangerous(*c)).collect();
    assert!(found.is_empty(), "{what} prints {found:?} raw:\n{text}");
}

/// Unusable (no variants) with a handle that would forge a log line.
fn forging(p: &mut serde_json::Value) {
    p["variants"] = serde_json::json!([]);
    p["handle"] = "bad\nERROR forged line \u{1b}[2K".into();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_text_reaches_terminals_and_logs_escaped() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, HANDLE, TITLE, &[(11, VARIANT, "S", "10.00")]),
        super::plain(2),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let config = config_file(
        &db,
        &format!(
            "[stores.\"{NAME_TOML}\"]\nurl = \"{}\"\ncollections = false\n",
            shop.url()
        ),
    );
    assert_code(&cli(&config, &db, &["sync", NAME]).await, 0);
    shop.set_price(1, 0, "12.00");
    shop.script_fault("/products.json", 1, Fault::EditFirst(Edit(forging)));
    // Product 1 is unusable this run; a third run records its price change.
    let sync = cli(&config, &db, &["sync", NAME]).await;
    assert_code(&sync, 0);
    assert!(sync.stderr.contains("quarantined"), "{}", sync.stderr);
    assert_clean(
        "sync (summary and log lines)",
        &format!("{}{}", sync.stdout, sync.stderr),
    );
    assert!(
        !sync.stderr.lines().any(|l| l.starts_with("ERROR forged")),
        "a handle forged a log line:\n{}",
        sync.stderr
    );
    let sync = cli(&config, &db, &["sync", NAME]).await;
    assert_code(&sync, 0);
    assert_clean("sync summary", &sync.stdout);

    let history = cli(&config, &db, &["history", NAME, "1"]).await;
    assert_code(&history, 0);
    assert_clean("history", &history.stdout);
    assert!(
        history.stdout.contains(r"Nice\u{1b}]0;pwned\u{7}"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains(r"Small\u{202e}lam"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("price 10.00 -> 12.00"),
        "{}",
        history.stdout
    );

    for args in [&["status"][..], &["stores", "list"][..]] {
        let done = cli(&config, &db, args).await;
        assert_code(&done, 0);
        // `stores list` separates its columns with tabs.
        assert_clean(&args.join(" "), &done.stdout.replace('\t', " "));
        assert!(done.stdout.contains(r"shop\u{1b}[31m"), "{}", done.stdout);
    }
    // Errors naming the store too.
    let missing = cli(&config, &db, &["history", NAME, "nope\u{1b}[2J"]).await;
    assert_code(&missing, 1);
    assert_clean("an error", &missing.stderr);
}
