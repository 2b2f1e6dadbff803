//! Response bodies other than the list shape: single product, collections, sitemaps.

use serde_json::{json, Map, Value};

use super::catalog::{Catalog, Collection, Product};
use super::template::shopify_escape;

/// Removes the volatile product and variant `updated_at` keys from a list-shape product.
pub fn strip_volatile(p: &mut Value) {
    if let Some(o) = p.as_object_mut() {
        o.remove("updated_at");
    }
    for v in p["variants"].as_array_mut().into_iter().flatten() {
        if let Some(o) = v.as_object_mut() {
            o.remove("updated_at");
        }
    }
}

/// Inventory consistent with `available`: 0 when unavailable, 1..=37 when available.
pub fn inventory_for(variant: &Value) -> i64 {
    match variant["available"].as_bool() {
        Some(true) => 1 + (variant["id"].as_u64().unwrap_or(0) % 37) as i64,
        _ => 0,
    }
}

/// Converts a list-shape product into the older `/products/{handle}.json` shape.
pub fn single_shape(p: &Value) -> Value {
    let pid = p["id"].clone();
    let tags = match &p["tags"] {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let variants: Vec<Value> = p["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let qty = inventory_for(v);
            let compare = match &v["compare_at_price"] {
                Value::Null => json!(""),
                other => other.clone(),
            };
            let grams = v["grams"].as_i64().unwrap_or(0);
            json!({
                "id": v["id"], "product_id": v["product_id"], "title": v["title"],
                "price": v["price"], "sku": v["sku"], "position": v["position"],
                "inventory_policy": "deny", "compare_at_price": compare,
                "fulfillment_service": "manual", "inventory_management": "shopify",
                "option1": v["option1"], "option2": v["option2"], "option3": v["option3"],
                "created_at": v["created_at"], "updated_at": v["updated_at"],
                "taxable": v["taxable"], "barcode": "", "grams": grams,
                "image_id": v["featured_image"]["id"],
                "weight": grams as f64 / 1000.0, "weight_unit": "kg",
                "inventory_quantity": qty, "old_inventory_quantity": qty,
                "requires_shipping": v["requires_shipping"],
            })
        })
        .collect();
    let base = pid.as_u64().unwrap_or(0);
    let options: Vec<Value> = p["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let pos = o["position"].as_u64().unwrap_or(1);
            json!({"id": base * 10 + pos, "product_id": pid, "name": o["name"],
                   "position": o["position"], "values": o["values"]})
        })
        .collect();
    let images: Vec<Value> = p["images"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let mut i = i.clone();
            if let Some(o) = i.as_object_mut() {
                o.entry("alt").or_insert(Value::Null);
            }
            i
        })
        .collect();
    let mut out = Map::new();
    for k in [
        "id",
        "title",
        "body_html",
        "vendor",
        "product_type",
        "created_at",
        "handle",
        "updated_at",
        "published_at",
    ] {
        out.insert(k.into(), p[k].clone());
    }
    out.insert("template_suffix".into(), json!(""));
    out.insert("published_scope".into(), json!("web"));
    out.insert("tags".into(), json!(tags));
    out.insert("variants".into(), json!(variants));
    out.insert("options".into(), json!(options));
    out.insert(
        "image".into(),
        images.first().cloned().unwrap_or(Value::Null),
    );
    out.insert("images".into(), json!(images));
    Value::Object(out)
}

/// `{"product":{...}}` body for a product, Shopify-escaped; without inventory fields (the newer
/// shape, no availability at all) unless `inventory`.
pub fn single_body(p: &Product, updated: &str, inventory: bool) -> String {
    let mut v = single_shape(&p.tmpl.to_value(&p.ids, updated));
    if !inventory {
        for variant in v["variants"].as_array_mut().into_iter().flatten() {
            let fields = variant.as_object_mut().expect("variants are objects");
            for key in [
                "inventory_quantity",
                "old_inventory_quantity",
                "inventory_management",
                "inventory_policy",
            ] {
                fields.remove(key);
            }
        }
    }
    shopify_escape(&serde_json::to_string(&json!({ "product": v })).unwrap())
}

/// The Ajax `/products/{handle}.js` body: money as integers in minor units, scaled to
/// `price_percent` of the store's prices (a visitor's currency unless 100), `available` per
/// variant, and only the first 100 variants.
pub fn ajax_body(p: &Product, price_percent: i64) -> String {
    let v = p.tmpl.to_value(&p.ids, "");
    let minor = |price: &Value| {
        price
            .as_str()
            .and_then(super::template::cents)
            .map(|c| c * price_percent / 100)
    };
    let variants: Vec<Value> = v["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .take(100)
        .map(|x| {
            json!({
                "id": x["id"], "title": x["title"], "option1": x["option1"],
                "option2": x["option2"], "option3": x["option3"], "sku": x["sku"],
                "available": x["available"], "price": minor(&x["price"]),
                "compare_at_price": minor(&x["compare_at_price"]),
            })
        })
        .collect();
    let body = json!({
        "id": v["id"], "title": v["title"], "handle": v["handle"],
        "vendor": v["vendor"], "type": v["product_type"],
        "price": variants.iter().filter_map(|x| x["price"].as_i64()).min(),
        "available": variants.iter().any(|x| x["available"] == Value::Bool(true)),
        "variants": variants,
    });
    shopify_escape(&serde_json::to_string(&body).unwrap())
}

/// A /collections.json entry; `products_count` is how many products the collection holds.
pub fn collection_json(c: &Collection, products_count: usize) -> Value {
    json!({
        "id": c.id, "handle": c.handle, "title": c.title, "body_html": c.body_html,
        "published_at": c.published_at, "updated_at": c.updated_at,
        "sort_order": c.sort_order, "image": null, "products_count": products_count,
    })
}

/// A /collections.json page of `(collection, products_count)` entries.
pub fn collections_body(cs: &[(&Collection, usize)]) -> String {
    let list: Vec<Value> = cs.iter().map(|(c, n)| collection_json(c, *n)).collect();
    shopify_escape(&serde_json::to_string(&json!({ "collections": list })).unwrap())
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const URLSET: &str = "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
     xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\">\n";
/// Products per `sitemap_products_N.xml` file.
pub const SITEMAP_CHUNK: usize = 5000;

fn ids_ascending(cat: &Catalog) -> Vec<u64> {
    let mut ids: Vec<u64> = cat.by_id.keys().copied().collect();
    ids.sort_unstable();
    ids
}

/// The sitemap index: product chunks (ids ascending), then collections and pages.
pub fn sitemap_index(cat: &Catalog, base: &str) -> String {
    let mut s =
        format!("{XML_HEAD}<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let ids = ids_ascending(cat);
    for (k, chunk) in ids.chunks(SITEMAP_CHUNK).enumerate() {
        let (from, to) = (chunk[0], chunk[chunk.len() - 1]);
        s += &format!(
            "  <sitemap>\n    <loc>{base}/sitemap_products_{}.xml?from={from}&amp;to={to}</loc>\n  </sitemap>\n",
            k + 1
        );
    }
    for f in ["sitemap_pages_1.xml", "sitemap_collections_1.xml"] {
        s += &format!("  <sitemap>\n    <loc>{base}/{f}</loc>\n  </sitemap>\n");
    }
    s + "</sitemapindex>\n"
}

/// Products with `from <= id <= to`, ids ascending; file 1 starts with the store root.
pub fn sitemap_products(cat: &Catalog, base: &str, n: u32, from: u64, to: u64) -> String {
    let mut s = format!("{XML_HEAD}{URLSET}");
    if n == 1 {
        s += &format!(
            "  <url>\n    <loc>{base}/</loc>\n    <changefreq>daily</changefreq>\n  </url>\n"
        );
    }
    for id in ids_ascending(cat)
        .into_iter()
        .filter(|i| (from..=to).contains(i))
    {
        let p = &cat.by_id[&id];
        s += &format!(
            "  <url>\n    <loc>{base}/products/{}</loc>\n    <lastmod>{}</lastmod>\n    <changefreq>daily</changefreq>\n",
            xml_escape(&p.ids.handle),
            p.lastmod
        );
        if let Some(src) = &p.tmpl.meta.first_image {
            s += &format!(
                "    <image:image>\n      <image:loc>{}</image:loc>\n      <image:title>{}</image:title>\n    </image:image>\n",
                xml_escape(src),
                xml_escape(&p.tmpl.meta.title)
            );
        }
        s += "  </url>\n";
    }
    s + "</urlset>\n"
}

pub fn sitemap_collections(cat: &Catalog, base: &str) -> String {
    let mut s = format!("{XML_HEAD}{URLSET}");
    for c in &cat.collections {
        s += &format!(
            "  <url>\n    <loc>{base}/collections/{}</loc>\n    <lastmod>{}</lastmod>\n    <changefreq>daily</changefreq>\n  </url>\n",
            xml_escape(&c.handle),
            c.updated_at
        );
    }
    s + "</urlset>\n"
}

pub fn sitemap_pages(base: &str) -> String {
    let mut s = format!("{XML_HEAD}{URLSET}");
    for p in ["about-us", "contact", "shipping-policy"] {
        s += &format!("  <url>\n    <loc>{base}/pages/{p}</loc>\n    <changefreq>weekly</changefreq>\n  </url>\n");
    }
    s + "</urlset>\n"
}
