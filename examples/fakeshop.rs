//! Runs one or more fake Shopify storefronts built from the shared fixtures, with an optional
//! control endpoint for benchmarks (change prices between runs, read the request log).
//!
//! `cargo run --release --example fakeshop -- --products N --port P [--stores K] [--cap 25000]
//! [--seed S] [--cover SIZE] [--control-port C]`
//!
//! With `--cover SIZE` the collections are replaced by ones of SIZE products each that together
//! hold every product (the big-store case: collection feeds reach what the capped listing does
//! not).
//!
//! With `--control-port C` (0 = any free port, printed as `control http://127.0.0.1:C`):
//! - `POST /_control/mutate?percent=1[&store=I]`: raises the first variant's price by 1.00 in
//!   every 100/percent-th product of the listing (a different slice each call); answers the count.
//! - `GET /_control/requests`: the request log of every store, one line per request:
//!   `store<TAB>ms since the fake started<TAB>status<TAB>path and query`.
//! - `POST /_control/clear`: empties every store's request log.
//! - `POST /_control/members?collections=K[&hidden=1][&store=I]`: changes the membership of K
//!   collections (a different slice each call): a product joins each, so its `products_count`
//!   moves; with `hidden=1` one member also leaves, so its entry stays exactly as it was (a
//!   smart collection's change). Answers the count.

#[path = "../tests/support/fakeshop/mod.rs"]
mod fakeshop;

use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::Uri;
use axum::routing::{get, post};
use axum::Router;
use fakeshop::{Catalog, FakeShop};

struct Args {
    products: usize,
    port: u16,
    stores: usize,
    cap: usize,
    seed: u64,
    cover: Option<usize>,
    control_port: Option<u16>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        products: 1000,
        port: 0,
        stores: 1,
        cap: 25_000,
        seed: 1,
        cover: None,
        control_port: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {val}: {e}");
        match flag.as_str() {
            "--products" => a.products = val.parse().map_err(bad)?,
            "--port" => a.port = val.parse().map_err(bad)?,
            "--stores" => a.stores = val.parse().map_err(bad)?,
            "--cap" => a.cap = val.parse().map_err(bad)?,
            "--seed" => a.seed = val.parse().map_err(bad)?,
            "--cover" => a.cover = Some(val.parse().map_err(bad)?),
            "--control-port" => a.control_port = Some(val.parse().map_err(bad)?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(a)
}

/// What the control endpoint works on.
struct Control {
    shops: Vec<FakeShop>,
    started: Instant,
    /// How many mutate calls came before: each picks a different slice of products.
    rounds: AtomicUsize,
    /// How many collections the members calls have changed so far (where the next one starts).
    members_from: AtomicUsize,
}

fn query_param(uri: &Uri, name: &str) -> Option<usize> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

async fn mutate(State(ctl): State<Arc<Control>>, uri: Uri) -> String {
    let percent = query_param(&uri, "percent").unwrap_or(1).clamp(1, 100);
    let stride = 100 / percent;
    let round = ctl.rounds.fetch_add(1, Ordering::Relaxed);
    let stores = match query_param(&uri, "store") {
        Some(i) => ctl.shops.get(i..=i).unwrap_or_default(),
        None => &ctl.shops[..],
    };
    let mut changed = 0;
    for shop in stores {
        for (index, id) in shop.product_ids().into_iter().enumerate() {
            if index % stride == round % stride {
                shop.modify_product(id, |p| {
                    let price = &mut p["variants"][0]["price"];
                    let old: f64 = price.as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0);
                    *price = format!("{:.2}", old + 1.0).into();
                });
                changed += 1;
            }
        }
    }
    format!("{changed}\n")
}

async fn members(State(ctl): State<Arc<Control>>, uri: Uri) -> String {
    let wanted = query_param(&uri, "collections").unwrap_or(1);
    let hidden = query_param(&uri, "hidden") == Some(1);
    let stores = match query_param(&uri, "store") {
        Some(i) => ctl.shops.get(i..=i).unwrap_or_default(),
        None => &ctl.shops[..],
    };
    let from = ctl.members_from.fetch_add(wanted, Ordering::Relaxed);
    let mut changed = 0;
    for shop in stores {
        let listed = shop.product_ids().len();
        let handles = shop.collection_handles();
        let mut done = 0;
        for handle in handles.iter().cycle().skip(from).take(handles.len()) {
            if done == wanted {
                break;
            }
            let size = shop.collection_product_ids(handle).map_or(0, |m| m.len());
            // A product must be able to join (and, hidden, a member to leave).
            if size >= 1 && size < listed {
                shop.change_members(handle, hidden);
                done += 1;
            }
        }
        changed += done;
    }
    format!("{changed}\n")
}

async fn requests(State(ctl): State<Arc<Control>>) -> String {
    let mut out = String::new();
    for (store, shop) in ctl.shops.iter().enumerate() {
        for r in shop.request_log() {
            let ms = r
                .received
                .saturating_duration_since(ctl.started)
                .as_millis();
            let _ = writeln!(out, "{store}\t{ms}\t{}\t{}", r.status, r.path);
        }
    }
    out
}

async fn clear(State(ctl): State<Arc<Control>>) -> &'static str {
    for shop in &ctl.shops {
        shop.clear_request_log();
    }
    "ok\n"
}

async fn serve_control(ctl: Arc<Control>, port: u16) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind control port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    let app = Router::new()
        .route("/_control/mutate", post(mutate))
        .route("/_control/requests", get(requests))
        .route("/_control/clear", post(clear))
        .route("/_control/members", post(members))
        .with_state(ctl);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "control {url}").unwrap();
        out.flush().unwrap();
    }
    axum::serve(listener, app).await.expect("control server");
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fakeshop: {e}\nusage: fakeshop --products N --port P [--stores K] [--cap 25000] [--seed S] [--cover SIZE] [--control-port C]");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let mut shops = Vec::new();
    for i in 0..args.stores {
        let mut cat = Catalog::generate(args.products, args.seed.wrapping_add(i as u64));
        cat.cap = args.cap;
        if let Some(size) = args.cover {
            cat.cover_with_collections(size, 100);
        }
        let port = if args.port == 0 {
            0
        } else {
            args.port + i as u16
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let shop = FakeShop::start_on(cat, addr).await;
        let mut out = std::io::stdout().lock();
        writeln!(out, "store {i} {}", shop.url()).unwrap();
        out.flush().unwrap();
        shops.push(shop);
    }
    if let Some(port) = args.control_port {
        let ctl = Arc::new(Control {
            shops: shops.clone(),
            started,
            rounds: AtomicUsize::new(0),
            members_from: AtomicUsize::new(0),
        });
        tokio::spawn(serve_control(ctl, port));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    for s in &shops {
        s.shutdown();
    }
}
