//! Runs one or more fake Shopify storefronts built from the shared fixtures.
//!
//! `cargo run --release --example fakeshop -- --products N --port P [--stores K] [--cap 25000] [--seed S]`

#[path = "../tests/support/fakeshop/mod.rs"]
mod fakeshop;

use std::io::Write;

use fakeshop::{Catalog, FakeShop};

struct Args {
    products: usize,
    port: u16,
    stores: usize,
    cap: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        products: 1000,
        port: 0,
        stores: 1,
        cap: 25_000,
        seed: 1,
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
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fakeshop: {e}\nusage: fakeshop --products N --port P [--stores K] [--cap 25000] [--seed S]");
            std::process::exit(2);
        }
    };
    let mut shops = Vec::new();
    for i in 0..args.stores {
        let mut cat = Catalog::generate(args.products, args.seed.wrapping_add(i as u64));
        cat.cap = args.cap;
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
