//! Pre-serialized product templates: list-shape JSON split into literal segments and id slots.
//!
//! A product is stored as a shared [`Template`] (the serialized JSON with holes for ids, handle,
//! `published_at` and the volatile `updated_at`) plus its own small [`Ids`]. Rendering a page is
//! string concatenation, so serving 250 products costs a few milliseconds.

use serde_json::Value;

/// Marker put into string values before serialization; serde_json writes it as `\u0001`.
const MARK: char = '\u{1}';
const MARK_JSON: &str = "\"\\u0001";

enum Seg {
    Lit(Box<str>),
    Pid,
    Var(u16),
    Img(u16),
    Handle,
    Published,
    Updated,
}

/// Facts about a product used for collections, sitemaps and sorting.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub title: String,
    pub vendor: String,
    pub product_type: String,
    pub first_image: Option<String>,
    pub created_ts: i64,
    pub min_price_cents: i64,
    pub on_sale: bool,
}

/// The serialized form of one product with holes for its identity.
pub struct Template {
    segs: Vec<Seg>,
    pub meta: Meta,
}

/// Identity of one product instance: fills the holes of a [`Template`].
#[derive(Clone, Debug)]
pub struct Ids {
    pub pid: u64,
    pub var: Box<[u64]>,
    pub img: Box<[u64]>,
    pub handle: Box<str>,
    pub published_at: Box<str>,
}

/// Escapes like Shopify's Ruby JSON encoder: `<`, `>`, `&` as `\u003c`… and `/` as `\/`.
/// These characters can only occur inside strings in serialized JSON, so a global pass is safe.
pub fn shopify_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '/' => out.push_str("\\/"),
            _ => out.push(c),
        }
    }
    out
}

/// Parses a decimal money string ("19.99", "1099000.00") into minor units.
pub fn cents(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut f: String = frac.chars().take(2).collect();
    while f.len() < 2 {
        f.push('0');
    }
    int.parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(f.parse::<i64>().ok()?)
}

fn ts(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp())
        .unwrap_or(0)
}

fn meta_of(p: &Value) -> Meta {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut min_price = i64::MAX;
    let mut on_sale = false;
    for v in p["variants"].as_array().into_iter().flatten() {
        let price = v["price"].as_str().and_then(cents);
        if let Some(pr) = price {
            min_price = min_price.min(pr);
        }
        if let (Some(pr), Some(cmp)) = (price, v["compare_at_price"].as_str().and_then(cents)) {
            on_sale |= cmp > pr;
        }
    }
    Meta {
        title: s("title"),
        vendor: s("vendor"),
        product_type: s("product_type"),
        first_image: p["images"][0]["src"].as_str().map(str::to_string),
        created_ts: ts(&p["created_at"]),
        min_price_cents: if min_price == i64::MAX { 0 } else { min_price },
        on_sale,
    }
}

fn mark(tag: &str) -> Value {
    Value::String(format!("{MARK}{tag}"))
}

fn map_ids(list: &mut Value, known: &[u64], tag: char) {
    for x in list.as_array_mut().into_iter().flatten() {
        if let Some(k) = x
            .as_u64()
            .and_then(|id| known.iter().position(|&v| v == id))
        {
            *x = mark(&format!("{tag}{k}"));
        }
    }
}

impl Template {
    /// Splits a list-shape product into a template and its ids. Image ids are collected from
    /// `images` and variant `featured_image`s; `variant_ids` pointing at unknown ids stay literal.
    pub fn build(product: &Value) -> (Template, Ids) {
        let meta = meta_of(product);
        let mut p = product.clone();
        let pid = p["id"].as_u64().unwrap_or(0);
        let handle: Box<str> = p["handle"].as_str().unwrap_or("").into();
        let published_at: Box<str> = p["published_at"].as_str().unwrap_or("").into();
        let var: Vec<u64> = p["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["id"].as_u64())
            .collect();
        let mut img: Vec<u64> = Vec::new();
        let images = p["images"].as_array().into_iter().flatten();
        let featured = p["variants"].as_array().into_iter().flatten();
        let featured = featured.map(|v| &v["featured_image"]);
        for id in images.chain(featured).filter_map(|i| i["id"].as_u64()) {
            if !img.contains(&id) {
                img.push(id);
            }
        }
        let img_slot = |v: &mut Value, img: &[u64]| {
            if let Some(k) = v["id"]
                .as_u64()
                .and_then(|id| img.iter().position(|&x| x == id))
            {
                v["id"] = mark(&format!("I{k}"));
            }
            if v.get("product_id").and_then(Value::as_u64) == Some(pid) {
                v["product_id"] = mark("P");
            }
            map_ids(&mut v["variant_ids"], &var, 'V');
        };
        if let Some(o) = p.as_object_mut() {
            o.insert("id".into(), mark("P"));
            o.insert("handle".into(), mark("H"));
            o.insert("published_at".into(), mark("T"));
            if o.contains_key("updated_at") {
                o.insert("updated_at".into(), mark("U"));
            }
        }
        for (k, v) in p["variants"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if var.get(k) == v["id"].as_u64().as_ref() {
                v["id"] = mark(&format!("V{k}"));
            }
            if v.get("product_id").and_then(Value::as_u64) == Some(pid) {
                v["product_id"] = mark("P");
            }
            if v.get("updated_at").is_some() {
                v["updated_at"] = mark("U");
            }
            if v["featured_image"].is_object() {
                img_slot(&mut v["featured_image"], &img);
            }
        }
        for i in p["images"].as_array_mut().into_iter().flatten() {
            img_slot(i, &img);
        }
        let json = serde_json::to_string(&p).expect("serialize product");
        let segs = split(&json);
        let ids = Ids {
            pid,
            var: var.into(),
            img: img.into(),
            handle,
            published_at,
        };
        (Template { segs, meta }, ids)
    }

    /// Appends the product's list-shape JSON to `out`, with `updated` as the volatile timestamp.
    pub fn render(&self, ids: &Ids, updated: &str, out: &mut String) {
        use std::fmt::Write;
        for s in &self.segs {
            match s {
                Seg::Lit(l) => out.push_str(l),
                Seg::Pid => write!(out, "{}", ids.pid).unwrap(),
                Seg::Var(k) => write!(out, "{}", ids.var[*k as usize]).unwrap(),
                Seg::Img(k) => write!(out, "{}", ids.img[*k as usize]).unwrap(),
                Seg::Handle => json_str(&ids.handle, out),
                Seg::Published => json_str(&ids.published_at, out),
                Seg::Updated => json_str(updated, out),
            }
        }
    }

    /// Renders one product into a `serde_json::Value`.
    pub fn to_value(&self, ids: &Ids, updated: &str) -> Value {
        let mut s = String::new();
        self.render(ids, updated, &mut s);
        serde_json::from_str(&s).expect("template renders valid JSON")
    }
}

fn json_str(s: &str, out: &mut String) {
    out.push_str(&shopify_escape(&serde_json::to_string(s).unwrap()));
}

fn split(json: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut rest = json;
    while let Some(at) = rest.find(MARK_JSON) {
        segs.push(Seg::Lit(shopify_escape(&rest[..at]).into()));
        let after = &rest[at + MARK_JSON.len()..];
        let end = after.find('"').expect("closing quote of marker");
        let tag = &after[..end];
        let num = || tag[1..].parse::<u16>().expect("slot index");
        segs.push(match tag.as_bytes()[0] {
            b'P' => Seg::Pid,
            b'V' => Seg::Var(num()),
            b'I' => Seg::Img(num()),
            b'H' => Seg::Handle,
            b'T' => Seg::Published,
            _ => Seg::Updated,
        });
        rest = &after[end + 1..];
    }
    segs.push(Seg::Lit(shopify_escape(rest).into()));
    segs
}
