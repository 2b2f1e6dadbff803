//! The in-memory catalogue: generation from the fixtures, products in store order, collections.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde_json::Value;

use super::template::{Ids, Template};
use super::FIXTURES_DIR;

/// The list-shaped fixtures cycled through to build a catalogue (file, is bare array).
pub const LIST_FIXTURES: &[&str] = &[
    "localboxes-shopify__products.json",
    "kiids-kingdom_chatty__shopify_products.json",
    "annie-thompson_Shopify-To-Square__products_page_1.json",
    "coros-colombia_corosBot__products.json",
    "shopify-toolkit-extension__products.json",
    "decathlon-us_Los-Prompteros-Project__collection_hiking-boots.json",
];

/// Newest generated `published_at` (2026-09-01T00:00:00Z); older products step back ~5 minutes.
const BASE_PUBLISHED: i64 = 1_788_220_800;
const STEP: i64 = 300;

/// One product of the catalogue: a shared template plus its own identity and flags.
pub struct Product {
    pub tmpl: Arc<Template>,
    pub ids: Ids,
    pub pub_ts: i64,
    /// Absent from `/products.json`, still in collections, sitemap and `/products/{handle}.json`.
    pub hidden: bool,
    /// Real last modification (sitemap `<lastmod>`); generation time is the `published_at`.
    pub lastmod: Box<str>,
}

impl Product {
    pub fn id(&self) -> u64 {
        self.ids.pid
    }
}

/// Which products a collection holds.
#[derive(Clone, Debug)]
pub enum Rule {
    All,
    Empty,
    Sale,
    ProductType(String),
    Vendor(String),
    /// About 1 in `modulus` products, chosen by a hash of (id, k). Stores hold about 50 products
    /// per such collection, so a product sits in a handful of collections, not in dozens.
    Bucket {
        k: u64,
        modulus: u64,
    },
    /// Exactly these products (tests that need a small, controlled collection).
    Ids(Vec<u64>),
}

#[derive(Clone, Debug)]
pub struct Collection {
    pub id: u64,
    pub handle: String,
    pub title: String,
    pub body_html: String,
    pub published_at: String,
    pub updated_at: String,
    /// Shopify sort_order: "best-selling", "manual", "created-desc", "alpha-asc", "price-asc".
    pub sort_order: &'static str,
    pub rule: Rule,
}

pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Rule {
    pub fn holds(&self, p: &Product) -> bool {
        let m = &p.tmpl.meta;
        match self {
            Rule::All => true,
            Rule::Empty => false,
            Rule::Sale => m.on_sale,
            Rule::ProductType(t) => &m.product_type == t,
            Rule::Vendor(v) => m.vendor.trim() == v,
            Rule::Bucket { k, modulus } => {
                splitmix(p.id() ^ k.wrapping_mul(0x5851_F42D)).is_multiple_of(*modulus)
            }
            Rule::Ids(ids) => ids.contains(&p.id()),
        }
    }
}

/// Hands out fresh 13-digit product ids and 14-digit variant/image ids, skipping used ones.
pub struct IdAlloc {
    next: [u64; 3],
    used: HashSet<u64>,
}

impl IdAlloc {
    fn new(seed: u64) -> Self {
        let off = (seed % 1000) * 10_000_000;
        IdAlloc {
            next: [
                9_100_000_000_000 + off,
                60_000_000_000_000 + off,
                70_000_000_000_000 + off,
            ],
            used: HashSet::new(),
        }
    }
    fn take(&mut self, kind: usize) -> u64 {
        loop {
            let id = self.next[kind];
            self.next[kind] += 1 + id % 7;
            if self.used.insert(id) {
                return id;
            }
        }
    }
    /// Fresh ids for a copy of `orig`; a shared image id within one copy maps to one new id.
    pub fn fresh(&mut self, orig: &Ids, handle: String, published_at: String) -> Ids {
        Ids {
            pid: self.take(0),
            var: orig.var.iter().map(|_| self.take(1)).collect(),
            img: orig.img.iter().map(|_| self.take(2)).collect(),
            handle: handle.into(),
            published_at: published_at.into(),
        }
    }
}

/// A whole store: products newest first, collections, templates for new products, settings.
pub struct Catalog {
    pub products: Vec<Arc<Product>>,
    pub by_id: HashMap<u64, Arc<Product>>,
    pub by_handle: HashMap<Box<str>, u64>,
    pub templates: Vec<(Arc<Template>, Ids)>,
    pub collections: Vec<Collection>,
    pub alloc: IdAlloc,
    pub cap: usize,
    pub seed: u64,
    /// Bumped on every mutation (collection caches key on it).
    pub version: u64,
    added: usize,
}

/// Loads one fixture file's products (list shape).
pub fn load_fixture(name: &str) -> Vec<Value> {
    let path = format!("{FIXTURES_DIR}/{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("products") {
            Some(Value::Array(a)) => a,
            _ => panic!("{path}: no products array"),
        },
        _ => panic!("{path}: unexpected JSON"),
    }
}

fn offset_of(published_at: &str) -> FixedOffset {
    DateTime::parse_from_rfc3339(published_at)
        .map(|d| *d.offset())
        .unwrap_or_else(|_| FixedOffset::east_opt(0).unwrap())
}

pub fn fmt_ts(ts: i64, off: FixedOffset) -> String {
    DateTime::from_timestamp(ts, 0)
        .unwrap()
        .with_timezone(&off)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

impl Catalog {
    /// Builds `n` products by cycling through every list-shaped fixture product (seed-shuffled).
    /// The first cycle keeps the fixture ids and handles; later copies get fresh ids and
    /// `handle-<index>`. `published_at` strictly decreases with the index (store order).
    pub fn generate(n: usize, seed: u64) -> Catalog {
        let mut alloc = IdAlloc::new(seed);
        let mut templates = Vec::new();
        for f in LIST_FIXTURES {
            for p in load_fixture(f) {
                let (t, ids) = Template::build(&p);
                alloc.used.insert(ids.pid);
                alloc.used.extend(ids.var.iter().chain(ids.img.iter()));
                templates.push((Arc::new(t), ids));
            }
        }
        let mut rng = StdRng::seed_from_u64(seed);
        templates.shuffle(&mut rng);
        let mut cat = Catalog {
            products: Vec::with_capacity(n),
            by_id: HashMap::with_capacity(n),
            by_handle: HashMap::with_capacity(n),
            templates,
            collections: Vec::new(),
            alloc,
            cap: 25_000,
            seed,
            version: 0,
            added: 0,
        };
        let t_len = cat.templates.len();
        for i in 0..n {
            let (tmpl, orig) = cat.templates[i % t_len].clone();
            let pub_ts = BASE_PUBLISHED - i as i64 * STEP - rng.random_range(0..STEP - 60);
            let published_at = fmt_ts(pub_ts, offset_of(&orig.published_at));
            let ids = if i < t_len {
                Ids {
                    published_at: published_at.into(),
                    ..orig
                }
            } else {
                let mut handle = format!("{}-{i}", orig.handle);
                while cat.by_handle.contains_key(handle.as_str()) {
                    handle.push('x');
                }
                cat.alloc.fresh(&orig, handle, published_at)
            };
            cat.push_back(tmpl, ids, pub_ts);
        }
        cat.collections = make_collections(&cat, n, seed);
        cat
    }

    /// A store holding exactly `products` (list shape, store order) and no collections.
    pub fn from_products(products: &[Value]) -> Catalog {
        let mut cat = Catalog::generate(0, 0);
        cat.collections.clear();
        cat.set_products(products);
        cat
    }

    /// Replaces every product with `products` (list shape, in this store order).
    pub fn set_products(&mut self, products: &[Value]) {
        self.products.clear();
        self.by_id.clear();
        self.by_handle.clear();
        for p in products {
            let (tmpl, ids) = Template::build(p);
            let pub_ts = DateTime::parse_from_rfc3339(&ids.published_at)
                .map(|d| d.timestamp())
                .unwrap_or(BASE_PUBLISHED);
            self.push_back(Arc::new(tmpl), ids, pub_ts);
        }
        self.version += 1;
    }

    fn push_back(&mut self, tmpl: Arc<Template>, ids: Ids, pub_ts: i64) {
        let p = Arc::new(Product {
            lastmod: ids.published_at.clone(),
            tmpl,
            ids,
            pub_ts,
            hidden: false,
        });
        self.by_handle.insert(p.ids.handle.clone(), p.id());
        self.by_id.insert(p.id(), p.clone());
        self.products.push(p);
    }

    /// Adds a product copied from the next fixture template, newest of all; returns its id.
    pub fn add_product(&mut self) -> u64 {
        let (tmpl, orig) = self.templates[self.added % self.templates.len()].clone();
        self.added += 1;
        let newest = self.products.iter().map(|p| p.pub_ts).max();
        let pub_ts = newest.unwrap_or(BASE_PUBLISHED) + 60;
        let published_at = fmt_ts(pub_ts, offset_of(&orig.published_at));
        let mut handle = format!("{}-new-{}", orig.handle, self.added);
        while self.by_handle.contains_key(handle.as_str()) {
            handle.push('x');
        }
        let ids = self.alloc.fresh(&orig, handle, published_at);
        self.push_back(tmpl, ids, pub_ts);
        let p = self.products.pop().unwrap();
        let id = p.id();
        self.products.insert(0, p);
        self.version += 1;
        id
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let Some(p) = self.by_id.remove(&id) else {
            return false;
        };
        self.by_handle.remove(&p.ids.handle);
        self.products.retain(|q| q.id() != id);
        self.version += 1;
        true
    }

    /// Replaces a product (same id) and restores the published_at DESC order.
    pub fn replace(&mut self, new: Product) {
        let id = new.id();
        let old = self
            .by_id
            .get(&id)
            .expect("replace: unknown product")
            .clone();
        self.by_handle.remove(&old.ids.handle);
        let new = Arc::new(new);
        self.by_handle.insert(new.ids.handle.clone(), id);
        self.by_id.insert(id, new.clone());
        for slot in self.products.iter_mut().filter(|p| p.id() == id) {
            *slot = new.clone();
        }
        if new.pub_ts != old.pub_ts {
            self.products
                .sort_by(|a, b| b.pub_ts.cmp(&a.pub_ts).then(b.id().cmp(&a.id())));
        }
        self.version += 1;
    }

    /// Products of a collection in its own sort order (hidden products included).
    pub fn collection_products(&self, c: &Collection) -> Vec<Arc<Product>> {
        let mut v: Vec<Arc<Product>> = self
            .products
            .iter()
            .filter(|p| c.rule.holds(p))
            .cloned()
            .collect();
        let salt = self.seed ^ c.id;
        match c.sort_order {
            "created-desc" => v.sort_by_key(|p| (-p.tmpl.meta.created_ts, p.id())),
            "alpha-asc" => v.sort_by(|a, b| a.tmpl.meta.title.cmp(&b.tmpl.meta.title)),
            "price-asc" => v.sort_by_key(|p| (p.tmpl.meta.min_price_cents, p.id())),
            _ => v.sort_by_key(|p| splitmix(p.id() ^ salt)),
        }
        v
    }
}

fn make_collections(cat: &Catalog, n: usize, seed: u64) -> Vec<Collection> {
    let target = (n / 50).max(3);
    let modulus = (n as u64 / 50).max(10);
    let used = &cat.templates[..n.min(cat.templates.len())];
    let mut defs: Vec<(String, String, &'static str, Rule)> = vec![
        (
            "all".into(),
            "All products".into(),
            "best-selling",
            Rule::All,
        ),
        (
            "bike-helmet".into(),
            "Bike Helmet".into(),
            "manual",
            Rule::Empty,
        ),
        (
            "frontpage".into(),
            "Home page".into(),
            "manual",
            Rule::Bucket { k: 0, modulus },
        ),
        ("sale".into(), "Sale".into(), "price-asc", Rule::Sale),
    ];
    let mut types: Vec<&str> = used
        .iter()
        .map(|t| t.0.meta.product_type.as_str())
        .collect();
    let mut vendors: Vec<&str> = used.iter().map(|t| t.0.meta.vendor.trim()).collect();
    for list in [&mut types, &mut vendors] {
        list.retain(|s| !s.is_empty());
        list.sort();
        list.dedup();
    }
    for t in types {
        defs.push((
            slug(t),
            t.into(),
            "created-desc",
            Rule::ProductType(t.into()),
        ));
    }
    for v in vendors {
        defs.push((slug(v), v.into(), "alpha-asc", Rule::Vendor(v.into())));
    }
    let mut k = 1;
    while defs.len() < target {
        let h = format!("picks-{k}");
        defs.push((
            h,
            format!("Picks {k}"),
            "manual",
            Rule::Bucket { k, modulus },
        ));
        k += 1;
    }
    defs.truncate(target);
    let mut seen = HashSet::new();
    let off = FixedOffset::west_opt(4 * 3600).unwrap();
    let mut out = Vec::new();
    for (i, (mut handle, title, sort_order, rule)) in defs.into_iter().enumerate() {
        while handle.is_empty() || !seen.insert(handle.clone()) {
            handle.push_str("-1");
        }
        let body_html = if i % 2 == 0 {
            format!("<p>{title} &amp; more</p>")
        } else {
            String::new()
        };
        out.push(Collection {
            id: 260_000_000_000 + i as u64 * 1009 + seed % 1000,
            handle,
            title,
            body_html,
            published_at: fmt_ts(BASE_PUBLISHED - 86_400 * (i as i64 + 1), off),
            updated_at: fmt_ts(BASE_PUBLISHED - 3_600 * (i as i64 + 1), off),
            sort_order,
            rule,
        });
    }
    out
}
