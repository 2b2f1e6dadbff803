//! Proxies (item 7): environment proxies are ignored unless `http.proxy_from_env` is set,
//! `http.proxy` is the deliberate choice, and through any proxy the address guard still
//! refuses private, loopback and metadata targets: the first request and every redirect hop,
//! checked by shopmirror before the proxy is asked. Through a real proxy on 127.0.0.1.

use super::support;

use std::path::Path;

use support::fakeshop::{Catalog, FakeShop};
use support::proxy::Proxy;
use support::{binary, run, scalar, Finished};

use super::{assert_code, config_file, plain};

/// `shopmirror --config CONFIG --db DB sync TARGET` with private addresses refused (the
/// default), no pacing, and `env` set.
async fn sync_guarded(config: &Path, db: &Path, target: &str, env: &[(&str, &str)]) -> Finished {
    let mut command = tokio::process::Command::from(binary());
    command
        .env("SHOPMIRROR_HTTP__MIN_DELAY", "0s")
        .env("SHOPMIRROR_HTTP__MAX_ATTEMPTS", "1")
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .args(["sync", target])
        .kill_on_drop(true);
    run(command).await
}

fn env_proxy(proxy: &Proxy) -> Vec<(&'static str, String)> {
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"]
        .into_iter()
        .map(|k| (k, proxy.url()))
        .collect()
}

fn products(db: &Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    scalar(db, "SELECT count(*) FROM products")
}

async fn shop() -> FakeShop {
    FakeShop::start(Catalog::from_products(&[plain(1), plain(2), plain(3)])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_proxy_neither_bypasses_the_guard_nor_is_used_unasked() {
    let (shop, proxy) = (shop().await, Proxy::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let target = format!("http://localhost:{}/", shop.addr().port());
    let env = env_proxy(&proxy);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = config_file(&db, "");

    let refused = sync_guarded(&config, &db, &target, &env).await;
    assert_code(&refused, 1);
    assert!(
        refused.stderr.contains("private address"),
        "{}",
        refused.stderr
    );
    assert!(proxy.log().is_empty(), "asked the proxy: {:?}", proxy.log());
    assert_eq!(products(&db), 0);

    // Enabled deliberately: used, and the guard still refuses loopback.
    let config = config_file(&db, "[http]\nproxy_from_env = true\n");
    let refused = sync_guarded(&config, &db, &target, &env).await;
    assert_code(&refused, 1);
    assert!(
        refused.stderr.contains("private address"),
        "{}",
        refused.stderr
    );
    assert!(proxy.log().is_empty(), "asked the proxy: {:?}", proxy.log());
    let allowed = [
        env.clone(),
        vec![("SHOPMIRROR_HTTP__ALLOW_PRIVATE", "true")],
    ]
    .concat();
    let done = sync_guarded(&config, &db, &target, &allowed).await;
    assert_code(&done, 0);
    assert_eq!(products(&db), 3);
    assert_eq!(
        proxy.log().len(),
        shop.request_count(),
        "every request through the proxy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_proxy_carries_requests_and_the_guard_still_refuses() {
    let (shop, proxy) = (shop().await, Proxy::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let target = format!("http://localhost:{}/", shop.addr().port());
    let config = config_file(&db, &format!("[http]\nproxy = \"{}\"\n", proxy.url()));

    let refused = sync_guarded(&config, &db, &target, &[]).await;
    assert_code(&refused, 1);
    assert!(
        refused.stderr.contains("private address"),
        "{}",
        refused.stderr
    );
    assert!(proxy.log().is_empty(), "asked the proxy: {:?}", proxy.log());
    let metadata = sync_guarded(
        &config,
        &db,
        "http://169.254.169.254/",
        &[("SHOPMIRROR_HTTP__ALLOW_PRIVATE", "true")],
    )
    .await;
    assert_code(&metadata, 1);
    assert!(metadata.stderr.contains("metadata"), "{}", metadata.stderr);
    assert!(proxy.log().is_empty(), "asked the proxy: {:?}", proxy.log());

    let allowed = [("SHOPMIRROR_HTTP__ALLOW_PRIVATE", "true")];
    assert_code(&sync_guarded(&config, &db, &target, &allowed).await, 0);
    assert_eq!(products(&db), 3);
    let log = proxy.log();
    assert_eq!(
        log.len(),
        shop.request_count(),
        "every request through the proxy"
    );
    assert!(log.iter().all(|t| t.starts_with(&target)), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_through_a_proxy_to_an_internal_name_is_refused() {
    let (shop, proxy) = (shop().await, Proxy::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // A public address (TEST-NET-3) that the proxy answers with a redirect to a name that
    // resolves to loopback, where the store really is.
    let internal = format!("http://localhost:{}", shop.addr().port());
    proxy.redirect("203.0.113.7", &internal);
    let config = config_file(&db, &format!("[http]\nproxy = \"{}\"\n", proxy.url()));
    let refused = sync_guarded(&config, &db, "http://203.0.113.7/", &[]).await;
    assert_code(&refused, 1);
    assert!(
        refused.stderr.contains("redirect to") && refused.stderr.contains("private address"),
        "{}",
        refused.stderr
    );
    let log = proxy.log();
    assert!(
        log.iter().all(|t| t.starts_with("http://203.0.113.7/")),
        "{log:?}"
    );
    assert_eq!(
        shop.request_count(),
        0,
        "the store behind the redirect was not reached"
    );
    assert_eq!(products(&db), 0);
}
