//! The one place that builds a store's request URLs (listing pages, collections, collection
//! feeds, the sitemap index, single products). They carry the store URL's credentials, which
//! reqwest sends as basic auth; anything printed goes through `storefront::redact` (errors)
//! or `StoreConfig::printable_url` (stored and shown base URLs) instead.

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

/// `{base}/sitemap.xml`.
pub(super) fn sitemap_index(store: &StoreConfig) -> Url {
    under(store, &["sitemap.xml"])
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
}
