//! Integration tests of the fake storefront itself.

use crate::support;

use fakeshop::{strip_volatile, Catalog, FakeShop};
use serde_json::Value;
use support::fakeshop;

async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let client = reqwest::Client::new();
    let (status, headers, body) = support::http::fetch(&client, url).await.expect("request");
    let ctype = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, body)
}

async fn get_json(url: &str) -> Value {
    let (status, _, body) = get(url).await;
    assert_eq!(status, 200, "{url}");
    serde_json::from_slice(&body).expect("json")
}

async fn page(shop: &FakeShop, path: &str, limit: usize, page: usize) -> Vec<Value> {
    let v = get_json(&format!("{}{path}?limit={limit}&page={page}", shop.url())).await;
    v["products"].as_array().unwrap().clone()
}

fn stripped(mut list: Vec<Value>) -> Vec<Value> {
    list.iter_mut().for_each(strip_volatile);
    list
}

fn ids(list: &[Value]) -> Vec<u64> {
    list.iter().map(|p| p["id"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_order_and_short_last_page() {
    let shop = FakeShop::start(Catalog::generate(600, 1)).await;
    let (status, ctype, _) = get(&format!("{}/products.json", shop.url())).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json; charset=utf-8")
    );
    assert_eq!(
        page(&shop, "/products.json", 0, 1).await.len(),
        30,
        "default limit"
    );
    let mut all = Vec::new();
    for (p, want) in [(1, 250), (2, 250), (3, 100), (4, 0)] {
        let got = page(&shop, "/products.json", 1000, p).await;
        assert_eq!(got.len(), want, "page {p} (limit 1000 is clamped to 250)");
        all.extend(got);
    }
    assert_eq!(ids(&all), shop.product_ids());
    assert_eq!(stripped(all.clone()), shop.expected_products());
    let unique: std::collections::HashSet<u64> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), 600);
    let times: Vec<i64> = all
        .iter()
        .map(|p| {
            let s = p["published_at"].as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "published_at DESC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_cycle_keeps_fixture_products_verbatim() {
    let cat = Catalog::generate(538, 3);
    let shop = FakeShop::start(cat).await;
    let mut fixtures = std::collections::HashMap::new();
    for f in fakeshop::catalog::LIST_FIXTURES {
        for p in fakeshop::catalog::load_fixture(f) {
            fixtures.insert(p["id"].as_u64().unwrap(), p);
        }
    }
    let live = shop.expected_products();
    assert_eq!(live.len(), 538);
    for mut p in live {
        let mut f = fixtures[&p["id"].as_u64().unwrap()].clone();
        strip_volatile(&mut f);
        f["published_at"] = Value::Null;
        p["published_at"] = Value::Null;
        assert_eq!(p, f);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_get_fresh_consistent_ids() {
    let shop = FakeShop::start(Catalog::generate(1200, 5)).await;
    let all = shop.expected_products();
    let mut seen = std::collections::HashSet::new();
    let mut handles = std::collections::HashSet::new();
    for p in &all[538..] {
        let pid = p["id"].as_u64().unwrap();
        assert!(seen.insert(pid));
        assert!(handles.insert(p["handle"].as_str().unwrap().to_string()));
        let vids: Vec<u64> = p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect();
        for v in p["variants"].as_array().unwrap() {
            assert!(seen.insert(v["id"].as_u64().unwrap()));
            assert_eq!(v["product_id"].as_u64(), Some(pid));
            if v["featured_image"].is_object() {
                assert_eq!(v["featured_image"]["product_id"].as_u64(), Some(pid));
            }
        }
        for i in p["images"].as_array().unwrap() {
            assert_eq!(i["product_id"].as_u64(), Some(pid));
            for vid in i["variant_ids"].as_array().unwrap() {
                assert!(vids.contains(&vid.as_u64().unwrap()));
            }
        }
    }
    let a = Catalog::generate(300, 9);
    let b = FakeShop::start(Catalog::generate(300, 9)).await;
    let a = FakeShop::start(a).await;
    assert_eq!(
        a.expected_products(),
        b.expected_products(),
        "deterministic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cap_answers_400_with_configured_number() {
    let shop = FakeShop::start(Catalog::generate(50, 1)).await;
    let (status, _, body) = get(&format!("{}/products.json?limit=250&page=101", shop.url())).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        br#"{"errors":"Page * Limit exceeds the 25000 limit."}"#
    );
    assert_eq!(page(&shop, "/products.json", 250, 100).await.len(), 0);
    shop.set_cap(1000);
    let (status, _, body) = get(&format!("{}/products.json?limit=250&page=5", shop.url())).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        br#"{"errors":"Page * Limit exceeds the 1000 limit."}"#
    );
    let (status, _, _) = get(&format!(
        "{}/collections/all/products.json?limit=250&page=5",
        shop.url()
    ))
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_product_shape_and_404_after_removal() {
    let shop = FakeShop::start(Catalog::generate(700, 2)).await;
    for list in shop.expected_products().iter().step_by(37) {
        let h = list["handle"].as_str().unwrap();
        let s = get_json(&format!("{}/products/{h}.json", shop.url())).await;
        let s = &s["product"];
        assert_eq!(s["id"], list["id"]);
        assert_eq!(s["title"], list["title"]);
        assert_eq!(s["body_html"], list["body_html"]);
        let tags: Vec<&str> = list["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(s["tags"], tags.join(", "));
        assert_eq!(
            s["image"],
            s["images"].get(0).cloned().unwrap_or(Value::Null)
        );
        for (sv, lv) in s["variants"]
            .as_array()
            .unwrap()
            .iter()
            .zip(list["variants"].as_array().unwrap())
        {
            assert_eq!(sv["id"], lv["id"]);
            assert_eq!(sv["price"], lv["price"]);
            assert!(sv.get("available").is_none() && sv.get("featured_image").is_none());
            let want_cmp = if lv["compare_at_price"].is_null() {
                Value::from("")
            } else {
                lv["compare_at_price"].clone()
            };
            assert_eq!(sv["compare_at_price"], want_cmp);
            let qty = sv["inventory_quantity"].as_i64().unwrap();
            assert_eq!(qty > 0, lv["available"] == Value::Bool(true));
            assert_eq!(sv["image_id"], lv["featured_image"]["id"]);
        }
        for o in s["options"].as_array().unwrap() {
            assert!(o["id"].is_u64());
            assert_eq!(o["product_id"], list["id"]);
        }
    }
    let id = shop.product_ids()[3];
    let h = shop.handle_of(id).unwrap();
    assert!(shop.remove_product(id));
    let (status, _, body) = get(&format!("{}/products/{h}.json", shop.url())).await;
    assert_eq!(
        (status, body.as_slice()),
        (404, br#"{"errors":"Not Found"}"#.as_slice())
    );
    assert!(!shop.product_ids().contains(&id));
    let (status, _, _) = get(&format!("{}/products/no-such-thing.json", shop.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_at_is_volatile_and_shared() {
    let shop = FakeShop::start(Catalog::generate(100, 4)).await;
    let a = page(&shop, "/products.json", 50, 1).await;
    let b = page(&shop, "/products.json", 50, 1).await;
    let stamps = |l: &[Value]| {
        let mut s: Vec<String> = Vec::new();
        for p in l {
            s.push(p["updated_at"].as_str().unwrap().into());
            for v in p["variants"].as_array().unwrap() {
                s.push(v["updated_at"].as_str().unwrap().into());
            }
        }
        s.dedup();
        s
    };
    let (sa, sb) = (stamps(&a), stamps(&b));
    assert_eq!((sa.len(), sb.len()), (1, 1), "one updated_at per response");
    assert_ne!(sa, sb, "updated_at moves between requests");
    assert!(chrono::DateTime::parse_from_rfc3339(&sa[0]).is_ok());
    assert_eq!(stripped(a), stripped(b), "nothing else changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_and_hidden_products() {
    let shop = FakeShop::start(Catalog::generate(120, 6)).await;
    let id = shop.product_ids()[10];
    shop.set_price(id, 0, "12.34");
    shop.set_title(id, "Renamed <b>");
    shop.set_available(id, 0, false);
    let list = page(&shop, "/products.json", 250, 1).await;
    let p = list.iter().find(|p| p["id"].as_u64() == Some(id)).unwrap();
    assert_eq!(p["title"], "Renamed <b>");
    assert_eq!(p["variants"][0]["price"], "12.34");
    assert_eq!(p["variants"][0]["available"], false);
    assert_eq!(stripped(list.clone()), shop.expected_products());
    let (_, _, raw) = get(&format!("{}/products.json?limit=250", shop.url())).await;
    assert!(String::from_utf8(raw)
        .unwrap()
        .contains("Renamed \\u003cb\\u003e"));

    let new = shop.add_product();
    assert_eq!(
        page(&shop, "/products.json", 1, 1).await[0]["id"].as_u64(),
        Some(new)
    );
    shop.hide_from_listing(new);
    assert!(!ids(&page(&shop, "/products.json", 250, 1).await).contains(&new));
    let in_all = shop.collection_product_ids("all").unwrap();
    assert!(in_all.contains(&new));
    let h = shop.handle_of(new).unwrap();
    assert_eq!(
        get(&format!("{}/products/{h}.json", shop.url())).await.0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_endpoints() {
    let shop = FakeShop::start(Catalog::generate(400, 8)).await;
    let cs = get_json(&format!("{}/collections.json", shop.url())).await;
    let cs = cs["collections"].as_array().unwrap();
    assert_eq!(cs.len(), 8, "400 products -> 8 collections");
    for c in cs {
        for k in [
            "id",
            "handle",
            "title",
            "body_html",
            "published_at",
            "updated_at",
            "sort_order",
        ] {
            assert!(!c[k].is_null(), "{k}");
        }
    }
    assert_eq!(
        get_json(&format!("{}/collections.json?page=2", shop.url())).await["collections"],
        Value::Array(vec![])
    );
    let empty = page(&shop, "/collections/bike-helmet/products.json", 250, 1).await;
    assert!(empty.is_empty());
    for c in shop.collection_handles() {
        let want = shop.collection_product_ids(&c).unwrap();
        let mut got = Vec::new();
        for p in 1.. {
            let l = page(&shop, &format!("/collections/{c}/products.json"), 100, p).await;
            if l.is_empty() {
                break;
            }
            got.extend(ids(&l));
        }
        assert_eq!(got, want, "{c}");
    }
    assert_eq!(shop.collection_product_ids("all").unwrap().len(), 400);
    let (status, _, _) = get(&format!("{}/collections/nope/products.json", shop.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemap_index_and_chunks() {
    let shop = FakeShop::start(Catalog::generate(12_000, 1)).await;
    let (status, ctype, body) = get(&format!("{}/sitemap.xml", shop.url())).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/xml"));
    let index = String::from_utf8(body).unwrap();
    let locs: Vec<String> = index
        .split("<loc>")
        .skip(1)
        .map(|s| s.split("</loc>").next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(locs.len(), 3 + 2, "3 product chunks, pages, collections");
    let mut count = 0;
    for l in locs.iter().filter(|l| l.contains("sitemap_products_")) {
        assert!(l.starts_with(&shop.url()));
        let xml = String::from_utf8(get(l).await.2).unwrap();
        count += xml
            .matches(&format!("<loc>{}/products/", shop.url()))
            .count();
    }
    assert_eq!(count, 12_000);
    assert!(index.contains("sitemap_collections_1.xml"));
    let (status, _, _) = get(&format!("{}/sitemap_products_1.xml", shop.url())).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_lets_test_mutate_mid_crawl_and_log_shows_reuse() {
    let shop = FakeShop::start(Catalog::generate(100, 1)).await;
    let before = shop.product_ids();
    let gate = shop.pause_nth("/products.json", 2);
    let url = shop.url();
    let crawl = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut got = Vec::new();
        for p in 1..=3 {
            let page = format!("{url}/products.json?limit=40&page={p}");
            let (_, _, body) = support::http::fetch(&client, &page).await.unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            got.extend(ids(v["products"].as_array().unwrap()));
        }
        got
    });
    gate.reached().await;
    shop.add_product();
    gate.release();
    let got = crawl.await.unwrap();
    assert_eq!(
        got.len(),
        101,
        "40 + 40 + 21 (one product pushed to later pages)"
    );
    assert_eq!(got[39], got[40], "the boundary product is served twice");
    assert_eq!(got[..40], before[..40]);
    let log = shop.request_log();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.status == 200 && r.method == "GET"));
    assert_eq!(log[2].path, "/products.json?limit=40&page=3");
    assert_eq!(log[1].peer, log[0].peer, "keep-alive reuse visible");
    assert_eq!(log[1].conn_seq, 2);
}
