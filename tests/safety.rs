//! Issue 20's safety items through the real binary: proxies and the address guard, spreadsheet
//! formula injection in CSV exports, control characters in human-readable output, the nesting
//! limit, long store names and their lock files, `db upgrade`, and a store's own `_shopmirror`
//! key in JSON lines.

#[path = "safety/control.rs"]
mod control;
#[path = "safety/csv_cells.rs"]
mod csv_cells;
#[path = "safety/names.rs"]
mod names;
#[path = "safety/nesting.rs"]
mod nesting;
#[path = "safety/proxy.rs"]
mod proxy;
#[path = "safety/upgrade.rs"]
mod upgrade;

use crate::support;

use std::path::Path;

use serde_json::{json, Value};
use support::{run, shopmirror, Finished};

/// A list-shape product with one option and one variant per entry of `variants` (id, title,
/// sku, price), available.
pub fn product(id: u64, handle: &str, title: &str, variants: &[(u64, &str, &str, &str)]) -> Value {
    let variants: Vec<Value> = variants
        .iter()
        .enumerate()
        .map(|(i, (v, title, sku, price))| {
            json!({"id": v, "title": title, "option1": title,
                   "option2": null, "option3": null, "sku": sku,
                   "requires_shipping": true, "taxable": true, "featured_image": null,
                   "available": true, "price": price, "grams": 100,
                   "compare_at_price": null, "position": i + 1, "product_id": id,
                   "created_at": "2026-01-01T00:00:00-04:00",
                   "updated_at": "2026-01-02T00:00:00-04:00"})
        })
        .collect();
    let values: Vec<Value> = variants.iter().map(|v| v["option1"].clone()).collect();
    json!({"id": id, "title": title, "handle": handle, "body_html": "<p>x</p>",
           "published_at": "2026-01-01T00:00:00-04:00",
           "created_at": "2026-01-01T00:00:00-04:00",
           "updated_at": "2026-01-02T00:00:00-04:00",
           "vendor": "Vendor", "product_type": "Thing", "tags": ["a"],
           "variants": variants, "images": [],
           "options": [{"name": "Choice", "position": 1, "values": values}]})
}

/// A plain product `id` with one variant `id * 10`.
pub fn plain(id: u64) -> Value {
    let (handle, title) = (format!("p{id}"), format!("P{id}"));
    product(id, &handle, &title, &[(id * 10, "Default", "SKU", "10.00")])
}

/// `shopmirror --config CONFIG --db DB ARGS...` (loopback allowed, no pacing) to its end.
pub async fn cli(config: &Path, db: &Path, args: &[&str]) -> Finished {
    let mut command = shopmirror();
    command
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .args(args);
    run(command).await
}

/// Writes `text` as a config file beside `db` and returns its path.
pub fn config_file(db: &Path, text: &str) -> std::path::PathBuf {
    let path = db.with_extension("toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts the command ended with exit code `code`, showing its output otherwise.
pub fn assert_code(done: &Finished, code: i32) {
    assert_eq!(
        done.code,
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        done.stdout,
        done.stderr
    );
}
