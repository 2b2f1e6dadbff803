//! Reads for the web product page: the product's current row, images and variants beside its
//! history (`product_history`). No formatting here.

use rusqlite::params;
use serde::Serialize;

use super::read::Reader;
use super::{Context, Error, ProductHistory};

/// One product as its page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProductPage {
    pub base_url: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    /// Image URLs in the store's order.
    pub images: Vec<String>,
    pub variants: Vec<VariantNow>,
    pub history: ProductHistory,
}

/// A variant's current values.
#[derive(Debug, Clone, Serialize)]
pub struct VariantNow {
    pub variant_id: i64,
    pub title: String,
    pub sku: Option<String>,
    pub price: String,
    pub price_cents: i64,
    pub compare_at_price: Option<String>,
    pub compare_at_price_cents: Option<i64>,
    pub available: Option<bool>,
}

impl Reader {
    /// The page of `store`'s product with id or handle `product`; None when there is none.
    pub fn product_page(&self, store: &str, product: &str) -> Result<Option<ProductPage>, Error> {
        let Some(history) = self.product_history(store, product)? else {
            return Ok(None);
        };
        let path = &self.path;
        let key = params![store, history.product_id];
        let (base_url, vendor, product_type, tags): (String, String, String, String) = self
            .conn
            .query_row(
                "SELECT s.base_url, p.vendor, p.product_type, p.tags
                 FROM products p JOIN stores s USING (store_id)
                 WHERE s.name = ?1 AND p.product_id = ?2",
                key,
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .ctx(path, "reading a product")?;
        let images = self
            .conn
            .prepare(
                "SELECT i.src FROM images i JOIN stores s USING (store_id)
                 WHERE s.name = ?1 AND i.product_id = ?2 ORDER BY i.position, i.image_id",
            )
            .and_then(|mut s| s.query_map(key, |r| r.get(0))?.collect())
            .ctx(path, "reading a product's images")?;
        let variants = self
            .conn
            .prepare(
                "SELECT v.variant_id, v.title, v.sku, v.price, v.price_cents,
                     v.compare_at_price, v.compare_at_price_cents, v.available
                 FROM variants v JOIN stores s USING (store_id)
                 WHERE s.name = ?1 AND v.product_id = ?2 ORDER BY v.position, v.variant_id",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(VariantNow {
                        variant_id: r.get(0)?,
                        title: r.get(1)?,
                        sku: r.get(2)?,
                        price: r.get(3)?,
                        price_cents: r.get(4)?,
                        compare_at_price: r.get(5)?,
                        compare_at_price_cents: r.get(6)?,
                        available: r.get(7)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading a product's variants")?;
        Ok(Some(ProductPage {
            base_url,
            vendor,
            product_type,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            images,
            variants,
            history,
        }))
    }
}
