//! Fake Shopify storefront built from the captured fixtures: public handle `FakeShop`.
#![allow(dead_code)]

pub mod catalog;
pub mod faults;
pub mod payloads;
pub mod server;
pub mod shapes;
pub mod template;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

#[allow(unused_imports)]
pub use catalog::{Catalog, Collection, Rule};
#[allow(unused_imports)]
pub use faults::{Fault, Faults, RetryAfter, ReuseRefusal};
use server::{GateSlot, Shared};
#[allow(unused_imports)]
pub use shapes::{single_shape, strip_volatile};
use template::Template;

/// Where the captured store responses live (copies of the project's `shared/fixtures`).
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// One answered (or deliberately unanswered) request.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query as sent, e.g. `/products.json?limit=250&page=2`.
    pub path: String,
    /// Status sent; 0 when no response was sent (hung or dropped connection).
    pub status: u16,
    pub received: Instant,
    pub received_at: SystemTime,
    pub peer: SocketAddr,
    /// Server-side connection number (1-based, in accept order).
    pub conn_id: u64,
    /// Request number on that connection (1-based; 2+ means keep-alive reuse).
    pub conn_seq: usize,
    /// Name of the injected fault, if any.
    pub fault: Option<String>,
}

/// Lets a test stop one request mid-crawl: see [`FakeShop::pause_nth`].
pub struct Gate {
    reached: watch::Receiver<bool>,
    release: watch::Sender<bool>,
}

impl Gate {
    /// Waits until the paused request has arrived (it is now blocked).
    pub async fn reached(&self) {
        let mut r = self.reached.clone();
        let _ = r.wait_for(|v| *v).await;
    }
    /// Lets the paused request continue; it is answered from the catalogue as it is now.
    /// Dropping the gate releases too.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

/// Cloneable handle on a running fake store.
#[derive(Clone)]
pub struct FakeShop {
    sh: Arc<Shared>,
    addr: SocketAddr,
}

impl FakeShop {
    /// Serves `catalog` on 127.0.0.1 with an ephemeral port.
    pub async fn start(catalog: Catalog) -> FakeShop {
        Self::start_on(catalog, "127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(catalog: Catalog, addr: SocketAddr) -> FakeShop {
        Self::start_with(catalog, addr, Faults::default()).await
    }

    pub async fn start_with(catalog: Catalog, addr: SocketAddr, faults: Faults) -> FakeShop {
        let listener = TcpListener::bind(addr).await.expect("bind fake shop");
        let addr = listener.local_addr().unwrap();
        let sh = Arc::new(Shared {
            cat: RwLock::new(catalog),
            log: Mutex::new(Vec::new()),
            total: AtomicUsize::new(0),
            hook: RwLock::new(None),
            gates: Mutex::new(Vec::new()),
            clock: AtomicI64::new(0),
            coll_cache: Mutex::new(Default::default()),
            faults: Mutex::new(faults::FaultState::new(faults)),
            stop: watch::channel(false).0,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        tokio::spawn(server::run(sh.clone(), listener));
        FakeShop { sh, addr }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Stops accepting and closes every open connection (in-flight requests are dropped).
    pub fn shutdown(&self) {
        let _ = self.sh.stop.send(true);
    }

    // ----- inspection -----

    /// Read access to the whole catalogue.
    pub fn with_catalog<R>(&self, f: impl FnOnce(&Catalog) -> R) -> R {
        f(&self.sh.cat.read().unwrap())
    }

    /// The live listing (`/products.json` content, all pages, store order) in list shape,
    /// WITHOUT the volatile product/variant `updated_at` keys (see [`strip_volatile`]).
    pub fn expected_products(&self) -> Vec<Value> {
        self.expected(false)
    }
    /// Like [`expected_products`](Self::expected_products) but including hidden products.
    pub fn expected_catalog(&self) -> Vec<Value> {
        self.expected(true)
    }
    fn expected(&self, with_hidden: bool) -> Vec<Value> {
        let cat = self.sh.cat.read().unwrap();
        let list = cat.products.iter().filter(|p| with_hidden || !p.hidden);
        list.map(|p| {
            let mut v = p.tmpl.to_value(&p.ids, "");
            strip_volatile(&mut v);
            v
        })
        .collect()
    }
    /// Ids of the live listing in store order (hidden products excluded).
    pub fn product_ids(&self) -> Vec<u64> {
        let cat = self.sh.cat.read().unwrap();
        cat.products
            .iter()
            .filter(|p| !p.hidden)
            .map(|p| p.id())
            .collect()
    }
    /// Ids of every product including hidden ones, store order.
    pub fn all_product_ids(&self) -> Vec<u64> {
        self.with_catalog(|c| c.products.iter().map(|p| p.id()).collect())
    }
    pub fn handle_of(&self, id: u64) -> Option<String> {
        self.with_catalog(|c| c.by_id.get(&id).map(|p| p.ids.handle.to_string()))
    }
    /// Handles of the collections, in `/collections.json` order.
    pub fn collection_handles(&self) -> Vec<String> {
        self.with_catalog(|c| c.collections.iter().map(|c| c.handle.clone()).collect())
    }
    /// Product ids of a collection in its own order.
    pub fn collection_product_ids(&self, handle: &str) -> Option<Vec<u64>> {
        self.with_catalog(|c| {
            let col = c.collections.iter().find(|x| x.handle == handle)?;
            Some(c.collection_products(col).iter().map(|p| p.id()).collect())
        })
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.sh.log.lock().unwrap().clone()
    }
    /// Number of records in the request log.
    pub fn request_count(&self) -> usize {
        self.sh.log.lock().unwrap().len()
    }
    /// The most requests this store was ever answering at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.sh
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }
    pub fn clear_request_log(&self) {
        self.sh.log.lock().unwrap().clear();
    }

    // ----- hooks -----

    /// Calls `f(path_and_query, n)` synchronously at the start of every request, before the
    /// response is computed (n = 1-based request number since start). `f` may mutate the shop.
    pub fn on_request(&self, f: impl Fn(&str, usize) + Send + Sync + 'static) {
        *self.sh.hook.write().unwrap() = Some(Arc::new(f));
    }
    pub fn clear_on_request(&self) {
        *self.sh.hook.write().unwrap() = None;
    }
    /// Blocks the `k`-th (1-based, counted from now) request whose path (without query) is
    /// `path` (or starts with it, when it ends in `*`) until the returned gate is released or
    /// dropped.
    pub fn pause_nth(&self, path: &str, k: usize) -> Gate {
        assert!(k >= 1);
        let (reached_tx, reached_rx) = watch::channel(false);
        let (release_tx, release_rx) = watch::channel(false);
        self.sh.gates.lock().unwrap().push(GateSlot {
            path: path.to_string(),
            countdown: k,
            reached: reached_tx,
            release: release_rx,
        });
        Gate {
            reached: reached_rx,
            release: release_tx,
        }
    }

    // ----- mutations -----

    /// Adds a product (next fixture template, fresh ids) published after every other one.
    pub fn add_product(&self) -> u64 {
        self.sh.cat.write().unwrap().add_product()
    }
    /// Removes a product everywhere; false if unknown.
    pub fn remove_product(&self, id: u64) -> bool {
        self.sh.cat.write().unwrap().remove(id)
    }
    /// Edits the list-shape JSON of a product (ids may not change). Panics on unknown id.
    pub fn modify_product(&self, id: u64, f: impl FnOnce(&mut Value)) {
        let mut cat = self.sh.cat.write().unwrap();
        let p = cat
            .by_id
            .get(&id)
            .unwrap_or_else(|| panic!("no product {id}"))
            .clone();
        let mut v = p.tmpl.to_value(&p.ids, "");
        f(&mut v);
        let (tmpl, ids) = Template::build(&v);
        assert_eq!(ids.pid, id, "modify_product must not change the product id");
        let pub_ts = chrono::DateTime::parse_from_rfc3339(&ids.published_at)
            .map(|d| d.timestamp())
            .unwrap_or(p.pub_ts);
        let lastmod = self.sh.volatile_now().into();
        cat.replace(catalog::Product {
            tmpl: Arc::new(tmpl),
            ids,
            pub_ts,
            hidden: p.hidden,
            lastmod,
        });
    }
    fn variant(&self, id: u64, idx: usize, f: impl FnOnce(&mut Value)) {
        self.modify_product(id, |p| {
            let v = p["variants"]
                .get_mut(idx)
                .unwrap_or_else(|| panic!("product {id} has no variant {idx}"));
            f(v)
        })
    }
    pub fn set_price(&self, id: u64, variant_index: usize, price: &str) {
        self.variant(id, variant_index, |v| v["price"] = price.into())
    }
    pub fn set_available(&self, id: u64, variant_index: usize, available: bool) {
        self.variant(id, variant_index, |v| v["available"] = available.into())
    }
    pub fn set_title(&self, id: u64, title: &str) {
        self.modify_product(id, |p| p["title"] = title.into())
    }
    /// Removes the product from `/products.json` only (collections, sitemap, single keep it).
    pub fn hide_from_listing(&self, id: u64) {
        let mut cat = self.sh.cat.write().unwrap();
        let p = cat
            .by_id
            .get(&id)
            .unwrap_or_else(|| panic!("no product {id}"))
            .clone();
        cat.replace(catalog::Product {
            tmpl: p.tmpl.clone(),
            ids: p.ids.clone(),
            pub_ts: p.pub_ts,
            hidden: true,
            lastmod: p.lastmod.clone(),
        });
    }
    /// Replaces the whole catalogue with `products` (list shape, store order).
    pub fn set_products(&self, products: &[Value]) {
        self.sh.cat.write().unwrap().set_products(products);
    }
    /// Replaces the collections (served by `/collections.json` in this order).
    pub fn set_collections(&self, collections: Vec<Collection>) {
        let mut cat = self.sh.cat.write().unwrap();
        cat.collections = collections;
        cat.version += 1;
    }
    /// Edits one collection in place (its entry, its rule); panics on an unknown handle.
    pub fn edit_collection(&self, handle: &str, f: impl FnOnce(&mut Collection)) {
        let mut cat = self.sh.cat.write().unwrap();
        let c = cat
            .collections
            .iter_mut()
            .find(|c| c.handle == handle)
            .unwrap_or_else(|| panic!("no collection {handle}"));
        f(c);
        cat.version += 1;
    }
    /// Changes a collection's members and nothing in its entry but `products_count`: a listed
    /// product that was not a member joins; with `hidden`, the collection's first member leaves
    /// too, so even `products_count` stays (a smart collection whose rule now matches other
    /// products). Returns (joined, left).
    pub fn change_members(&self, handle: &str, hidden: bool) -> (u64, Option<u64>) {
        let members = self
            .collection_product_ids(handle)
            .expect("known collection");
        let joined = self
            .product_ids()
            .into_iter()
            .find(|id| !members.contains(id))
            .expect("a product outside the collection");
        let left = hidden.then(|| *members.first().expect("a member to swap out"));
        let mut now: std::collections::HashSet<u64> = members.into_iter().collect();
        now.insert(joined);
        if let Some(left) = left {
            now.remove(&left);
        }
        self.edit_collection(handle, |c| c.rule = Rule::Ids(Arc::new(now)));
        (joined, left)
    }
    /// Sets the `page * limit` cap (default 25000).
    pub fn set_cap(&self, cap: usize) {
        self.sh.cat.write().unwrap().cap = cap;
    }
    /// Whether `/products/{handle}.json` carries inventory fields (default true).
    pub fn set_single_inventory(&self, inventory: bool) {
        self.sh.cat.write().unwrap().single_inventory = inventory;
    }
    /// `/products/{handle}.js` prices in percent of the store's (default 100).
    pub fn set_js_price_percent(&self, percent: i64) {
        self.sh.cat.write().unwrap().js_price_percent = percent;
    }

    /// Replaces the fault configuration (scripted faults and an active lockout are kept).
    pub fn set_faults(&self, faults: Faults) {
        self.sh.faults.lock().unwrap().set(faults);
    }
    /// The next `count` requests whose path and query start with `path_prefix` get `fault`
    /// (queued after earlier scripts for the same path; checked before random faults).
    pub fn script_fault(&self, path_prefix: &str, count: usize, fault: Fault) {
        if count > 0 {
            let mut st = self.sh.faults.lock().unwrap();
            st.script.push_back((path_prefix.to_string(), count, fault));
        }
    }
    pub fn clear_scripted_faults(&self) {
        self.sh.faults.lock().unwrap().script.clear();
    }
    /// Starts the Cloudflare-style lockout now.
    pub fn trigger_lockout(&self) {
        self.sh.faults.lock().unwrap().lockout = Some(Instant::now());
    }
    /// Whether a lockout is in force (the silence clock has not run out yet).
    pub fn lockout_active(&self) -> bool {
        let st = self.sh.faults.lock().unwrap();
        st.lockout
            .is_some_and(|t| t.elapsed() < st.cfg.lockout_silence)
    }
    pub fn end_lockout(&self) {
        self.sh.faults.lock().unwrap().lockout = None;
    }
    /// Requests currently held by `Fault::Hang`.
    pub fn hung_requests(&self) -> usize {
        self.sh.faults.lock().unwrap().hung
    }
}
