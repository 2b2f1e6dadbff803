//! Alert test helpers: the config with sinks and rules (fast retries), webhook sinks at a
//! receiver, running the binary, a product's first variant and prices in cents, reading the
//! outbox, and checking Standard Webhooks signatures with Python's own hmac module.

use std::path::Path;

use super::daemon::{config, open_db};
use super::fakeshop::FakeShop;
use super::receiver::{Received, Receiver};
use super::{configured, run, Finished};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Writes the config: the store `shop`, fast retries, and `tables` (sinks and rules).
pub fn alert_config(dir: &Path, shop: &FakeShop, tables: &str) {
    let alerts = format!(
        "[alerts]\nretry = [\"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\n\
         sync_timeout = \"20s\"\ntimeout = \"3s\"\n{tables}"
    );
    config(dir, &alerts, &[("shop", shop)]);
}

/// A webhook sink `name` at the receiver's `/name`, signed.
pub fn hook(name: &str, receiver: &Receiver) -> String {
    format!(
        "[alerts.sinks.{name}]\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        receiver.url(&format!("/{name}"))
    )
}

/// `shopmirror --config DIR/config.toml ARGS...` to its end.
pub async fn cli(dir: &Path, args: &[&str]) -> Finished {
    run(configured(dir, args)).await
}

pub async fn sync(dir: &Path) -> Finished {
    let done = cli(dir, &["sync", "shop"]).await;
    assert_eq!(done.code, Some(0), "{}\n{}", done.stdout, done.stderr);
    done
}

/// A product's first variant: (variant id, price text, price in cents).
pub fn first_variant(shop: &FakeShop, product: u64) -> (i64, String, i64) {
    let products = shop.expected_catalog();
    let p = products
        .iter()
        .find(|p| p["id"].as_u64() == Some(product))
        .unwrap();
    let v = &p["variants"][0];
    let price = v["price"].as_str().unwrap().to_string();
    (v["id"].as_i64().unwrap(), price.clone(), cents(&price))
}

pub fn cents(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let fraction = format!("{fraction:0<2}");
    whole.parse::<i64>().unwrap() * 100 + fraction[..2].parse::<i64>().unwrap()
}

pub fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub fn outbox(dir: &Path, sql: &str) -> i64 {
    open_db(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Checks every request's Standard Webhooks signature with Python's hmac module; returns how
/// many it verified.
pub fn python_verifies(requests: &[Received]) -> usize {
    let lines: Vec<String> = requests
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.header("webhook-id"),
                "ts": r.header("webhook-timestamp"),
                "sig": r.header("webhook-signature"),
                "body": r.body,
            })
            .to_string()
        })
        .collect();
    let script = r#"
import base64, hashlib, hmac, json, sys
key = base64.b64decode(sys.argv[1].split("_", 1)[1])
ok = 0
for line in sys.stdin:
    m = json.loads(line)
    signed = (m["id"] + "." + m["ts"] + "." + m["body"]).encode()
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    got = [s.split(",", 1)[1] for s in m["sig"].split(" ") if s.startswith("v1,")]
    if any(hmac.compare_digest(want, g) for g in got):
        ok += 1
print(ok)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
