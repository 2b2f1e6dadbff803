//! The one place that builds a store's request URLs: listing pages, collections, collection
//! feeds, the sitemap index and the product sitemaps it lists, single products and their `.js`,
//! and the same request on the store's myshopify.com domain (the fallback the client asks when
//! the store's own domain answers 404). They carry the credentials of the base they are built
//! on, which reqwest sends as basic auth; anything printed goes through `storefront::redact`
//! (errors) or `StoreConfig::printable_url` (stored and shown base URLs) instead.

use url::Url;

use crate::config::StoreConfig;

/// `{base}/{segments...}?limit=L&page=P`, segments encoded one by one.
pub(super) fn page(store: &StoreConfig, segments: &[&str], limit: i64, page: i64) -> Url {
    let mut url = under(store, segments);
    url.query_pairs_mut()
        .append_pair("limit", &limit.to_string())
        .append_pair("page", &page.to_string());
    url
}

/// `{base}/products/{handle}.json`, the handle as one encoded segment.
pub(super) fn product(store: &StoreConfig, handle: &str) -> Url {
    under(store, &["products", &format!("{handle}.json")])
}

/// `{base}/products/{handle}.js`, the Ajax answer (availability the `.json` lacks).
pub(super) fn product_script(store: &StoreConfig, handle: &str) -> Url {
    under(store, &["products", &format!("{handle}.js")])
}

/// `{base}/sitemap.xml`.
pub(super) fn sitemap_index(store: &StoreConfig) -> Url {
    under(store, &["sitemap.xml"])
}

/// A product sitemap the index lists at `loc`: its path and query on the store's own base
/// (with the base's credentials), whatever host `loc` names.
pub(super) fn sitemap_file(store: &StoreConfig, loc: &Url) -> Url {
    rebased(&store.url, loc)
}

/// The request `url` on the store's myshopify.com base (its path and query there, with that
/// base's credentials), when one is configured.
pub(super) fn fallback(store: &StoreConfig, url: &Url) -> Option<Url> {
    store.myshopify.as_ref().map(|base| rebased(base, url))
}

/// `url`'s path and query on `base`.
fn rebased(base: &Url, url: &Url) -> Url {
    let mut moved = base.clone();
    moved.set_path(url.path());
    moved.set_query(url.query());
    moved
}

fn under(store: &StoreConfig, segments: &[&str]) -> Url {
    let mut url = store.url.clone();
    url.path_segments_mut()
        .expect("store URLs are http(s) with a path")
        .pop_if_empty()
        .extend(segments);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreConfig {
        StoreConfig::new("s".into(), Url::parse("http://u:p@127.0.0.1:9/").unwrap())
    }

    #[test]
    fn product_urls_encode_the_handle_as_one_segment() {
        assert_eq!(
            product(&store(), "café/x").as_str(),
            "http://u:p@127.0.0.1:9/products/caf%C3%A9%2Fx.json"
        );
        assert_eq!(
            product_script(&store(), "café/x").as_str(),
            "http://u:p@127.0.0.1:9/products/caf%C3%A9%2Fx.js"
        );
        assert_eq!(store().printable_url(), "http://127.0.0.1:9/");
    }

    #[test]
    fn pages_and_the_sitemap_index_sit_under_the_base() {
        assert_eq!(
            page(&store(), &["collections", "a b", "products.json"], 250, 2).as_str(),
            "http://u:p@127.0.0.1:9/collections/a%20b/products.json?limit=250&page=2"
        );
        assert_eq!(
            sitemap_index(&store()).as_str(),
            "http://u:p@127.0.0.1:9/sitemap.xml"
        );
    }

    #[test]
    fn product_sitemaps_go_on_the_store_base_whatever_host_the_index_names() {
        let index = r#"<sitemapindex>
  <sitemap><loc>https://shop.example/sitemap_products_1.xml?from=1&amp;to=9</loc></sitemap>
  <sitemap><loc>https://elsewhere.example/sitemap_products_2.xml?from=10&amp;to=20</loc></sitemap>
</sitemapindex>"#;
        let locs = crate::catalog::sitemap::product_sitemaps(index.as_bytes()).unwrap();
        let files: Vec<String> = locs
            .iter()
            .map(|loc| sitemap_file(&store(), loc).to_string())
            .collect();
        assert_eq!(
            files,
            [
                "http://u:p@127.0.0.1:9/sitemap_products_1.xml?from=1&to=9",
                "http://u:p@127.0.0.1:9/sitemap_products_2.xml?from=10&to=20",
            ]
        );
    }

    #[test]
    fn the_fallback_is_the_same_request_on_the_myshopify_base() {
        let url = page(&store(), &["products.json"], 250, 3);
        assert_eq!(fallback(&store(), &url), None);
        let mut store = store();
        store.myshopify = Some(Url::parse("https://a:b@x.myshopify.com/").unwrap());
        assert_eq!(
            fallback(&store, &url).unwrap().as_str(),
            "https://a:b@x.myshopify.com/products.json?limit=250&page=3"
        );
        let single = product(&store, "café");
        assert_eq!(
            fallback(&store, &single).unwrap().as_str(),
            "https://a:b@x.myshopify.com/products/caf%C3%A9.json"
        );
    }
}
