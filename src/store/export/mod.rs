//! Streaming reads for `export`: products matching a filter, one at a time, read with a cursor
//! inside one read transaction (a consistent snapshot while a sync writes). A product's
//! variants, images and options are fetched per product, never for the whole store, so memory
//! does not grow with the catalogue. No formatting here.

use rusqlite::{params, Row, ToSql};

use super::read::Reader;
use super::{Context, Error};

/// Which products an export holds.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only this store (by name).
    pub store: Option<String>,
    /// Only members of the collection with this handle, in collection order.
    pub collection: Option<String>,
    /// Only products whose content changed at or after this time ('YYYY-MM-DD HH:MM:SS' UTC);
    /// with `include_deleted`, products deleted at or after it too.
    pub changed_since: Option<String>,
    /// Tombstoned products too.
    pub include_deleted: bool,
    /// Per store, mark every product whose handle another product should keep in an import
    /// (`ExportProduct::handle_kept_by`): a live product before deleted ones, the one deleted
    /// last before those deleted earlier, then the higher product id.
    pub one_per_handle: bool,
}

/// One product with shopmirror's own fields and, when asked for, its children.
#[derive(Debug, Clone, Default)]
pub struct ExportProduct {
    pub store: String,
    pub product_id: i64,
    pub handle: String,
    pub title: String,
    pub vendor: String,
    pub product_type: String,
    /// Sorted, as the content hash reads them; `tags_as_sent` has the store's order.
    pub tags: Vec<String>,
    pub body_html: String,
    pub published_at: Option<String>,
    pub created_at: Option<String>,
    pub content_hash: String,
    /// The product JSON exactly as the store sent it.
    pub raw_json: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub content_changed_at: String,
    pub deleted_at: Option<String>,
    /// With `ExportFilter::one_per_handle`: the product of the same store that keeps this
    /// product's handle, when it is not this one.
    pub handle_kept_by: Option<i64>,
    pub options: Vec<ExportOption>,
    pub variants: Vec<ExportVariant>,
    pub images: Vec<ExportImage>,
}

impl ExportProduct {
    /// The tags in the order the store sent them (read from the stored JSON; the sorted
    /// column when that JSON has no readable tags).
    pub fn tags_as_sent(&self) -> Vec<String> {
        crate::catalog::tags_as_sent(&self.raw_json).unwrap_or_else(|| self.tags.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOption {
    pub position: i64,
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportVariant {
    pub variant_id: i64,
    pub position: i64,
    pub title: String,
    pub option1: Option<String>,
    pub option2: Option<String>,
    pub option3: Option<String>,
    pub sku: Option<String>,
    pub price: String,
    pub compare_at_price: Option<String>,
    pub compare_at_price_cents: Option<i64>,
    pub available: Option<bool>,
    pub requires_shipping: Option<bool>,
    pub taxable: Option<bool>,
    pub grams: Option<i64>,
    pub featured_image_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportImage {
    pub image_id: i64,
    pub position: i64,
    pub src: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

const COLUMNS: &str = "p.product_id, p.handle, p.title, p.vendor,
    p.product_type, p.tags, p.body_html, p.published_at, p.created_at, p.content_hash,
    p.raw_json, p.first_seen_at, ps.last_seen_at, p.content_changed_at, p.deleted_at,
    CASE WHEN ?4 THEN (
        SELECT o.product_id FROM products o
        WHERE o.store_id = p.store_id AND o.handle = p.handle AND o.product_id != p.product_id
          AND ((o.deleted_at IS NULL AND (p.deleted_at IS NOT NULL OR o.product_id > p.product_id))
            OR (o.deleted_at IS NOT NULL AND p.deleted_at IS NOT NULL
                AND (o.deleted_at > p.deleted_at
                  OR (o.deleted_at = p.deleted_at AND o.product_id > p.product_id))))
        ORDER BY o.deleted_at IS NOT NULL, o.deleted_at DESC, o.product_id DESC LIMIT 1)
    END";

const SEEN: &str =
    "CROSS JOIN product_seen ps ON ps.store_id = p.store_id AND ps.product_id = p.product_id";

const FILTERS: &str = "(?2 OR p.deleted_at IS NULL)
    AND (?3 IS NULL OR p.content_changed_at >= ?3 OR (?2 AND p.deleted_at >= ?3))";

impl Reader {
    /// The names of every store in the database, sorted.
    pub fn store_names(&self) -> Result<Vec<String>, Error> {
        self.conn
            .prepare("SELECT name FROM stores ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .ctx(&self.path, "listing stores")
    }

    /// Whether a live collection with this handle exists (in `store`, or in any store).
    pub fn collection_exists(&self, handle: &str, store: Option<&str>) -> Result<bool, Error> {
        self.conn
            .query_row(
                "SELECT count(*) FROM collections c JOIN stores s USING (store_id)
                 WHERE c.handle = ?1 AND c.deleted_at IS NULL AND (?2 IS NULL OR s.name = ?2)",
                rusqlite::params![handle, store],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .ctx(&self.path, "looking up collection")
    }

    /// Calls `each` for every product matching `filter`, ordered by store then product id (or
    /// collection position), with options, variants and images filled in when `children`.
    /// Stops at the first error `each` returns. Returns how many products were passed.
    pub fn for_each_product<E: From<Error>>(
        &self,
        filter: &ExportFilter,
        children: bool,
        mut each: impl FnMut(&ExportProduct) -> Result<(), E>,
    ) -> Result<u64, E> {
        let path = &self.path;
        // One read transaction: the cursor and the per-product reads see one snapshot.
        let tx = self
            .conn
            .unchecked_transaction()
            .ctx(path, "starting export read")?;
        let scopes = self.scopes(filter)?;
        let mut statement = tx
            .prepare(&main_query(filter))
            .ctx(path, "preparing export query")?;
        let mut passed = 0;
        for scope in &scopes {
            let args: [&dyn ToSql; 5] = [
                &scope.store_id,
                &filter.include_deleted,
                &filter.changed_since,
                &filter.one_per_handle,
                &scope.collection_id,
            ];
            let mut rows = statement
                .query(&args[..statement.parameter_count()])
                .ctx(path, "running export query")?;
            while let Some(row) = rows.next().ctx(path, "reading export row")? {
                let mut product =
                    product_row(row, &scope.store).ctx(path, "reading product row")?;
                if children {
                    self.fill_children(scope.store_id, &mut product)?;
                }
                each(&product)?;
                passed += 1;
            }
        }
        Ok(passed)
    }

    /// The stores (by id) an export reads, each with the collection it reads when the filter
    /// names one: a short list read first, so that each main query walks one store's products
    /// (or one collection's members) in index order.
    fn scopes(&self, filter: &ExportFilter) -> Result<Vec<Scope>, Error> {
        let sql = match filter.collection {
            None => {
                "SELECT store_id, name, NULL FROM stores WHERE ?1 IS NULL OR name = ?1
                 ORDER BY store_id"
            }
            Some(_) => {
                "SELECT c.store_id, s.name, c.collection_id
                 FROM collections c JOIN stores s USING (store_id)
                 WHERE c.handle = ?2 AND c.deleted_at IS NULL AND (?1 IS NULL OR s.name = ?1)
                 ORDER BY c.store_id, c.collection_id"
            }
        };
        let mut statement = self.conn.prepare(sql).ctx(&self.path, "preparing export")?;
        let args: [&dyn ToSql; 2] = [&filter.store, &filter.collection];
        statement
            .query_map(&args[..statement.parameter_count()], |r| {
                Ok(Scope {
                    store_id: r.get(0)?,
                    store: r.get(1)?,
                    collection_id: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect())
            .ctx(&self.path, "listing the stores of an export")
    }

    fn fill_children(&self, store_id: i64, p: &mut ExportProduct) -> Result<(), Error> {
        let path = &self.path;
        let key = params![store_id, p.product_id];
        p.options = self
            .conn
            .prepare_cached(
                "SELECT position, name, option_values FROM options
                 WHERE store_id = ?1 AND product_id = ?2 ORDER BY position",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(ExportOption {
                        position: r.get(0)?,
                        name: r.get(1)?,
                        values: json_list(r, 2)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading options")?;
        p.variants = self
            .conn
            .prepare_cached(
                "SELECT variant_id, position, title, option1, option2, option3, sku, price,
                     compare_at_price, compare_at_price_cents, available, requires_shipping,
                     taxable, grams, featured_image_id
                 FROM variants WHERE store_id = ?1 AND product_id = ?2
                 ORDER BY position, variant_id",
            )
            .and_then(|mut s| s.query_map(key, variant_row)?.collect())
            .ctx(path, "reading variants")?;
        p.images = self
            .conn
            .prepare_cached(
                "SELECT image_id, position, src, width, height FROM images
                 WHERE store_id = ?1 AND product_id = ?2 ORDER BY position, image_id",
            )
            .and_then(|mut s| {
                s.query_map(key, |r| {
                    Ok(ExportImage {
                        image_id: r.get(0)?,
                        position: r.get(1)?,
                        src: r.get(2)?,
                        width: r.get(3)?,
                        height: r.get(4)?,
                    })
                })?
                .collect()
            })
            .ctx(path, "reading images")?;
        Ok(())
    }
}

/// One store an export reads, and the collection it reads there.
#[derive(Debug)]
struct Scope {
    store_id: i64,
    store: String,
    collection_id: Option<i64>,
}

/// The query of an export's products in one store (?1), by product id, or, when the filter
/// names a collection, of the members of one collection (?5) there, in the collection's order: both walk an index in the order they
/// return, so rows stream from the first one and nothing is sorted or spooled. CROSS JOIN
/// keeps the walked table outermost whatever the statistics say.
fn main_query(filter: &ExportFilter) -> String {
    if filter.collection.is_some() {
        format!(
            "SELECT {COLUMNS} FROM collection_products cp
             CROSS JOIN products p ON p.store_id = cp.store_id AND p.product_id = cp.product_id
             {SEEN}
             WHERE cp.store_id = ?1 AND cp.collection_id = ?5 AND {FILTERS}
             ORDER BY cp.position, cp.product_id"
        )
    } else {
        format!(
            "SELECT {COLUMNS} FROM products p {SEEN}
             WHERE p.store_id = ?1 AND {FILTERS} ORDER BY p.product_id"
        )
    }
}

fn product_row(r: &Row, store: &str) -> rusqlite::Result<ExportProduct> {
    Ok(ExportProduct {
        store: store.to_string(),
        product_id: r.get(0)?,
        handle: r.get(1)?,
        title: r.get(2)?,
        vendor: r.get(3)?,
        product_type: r.get(4)?,
        tags: json_list(r, 5)?,
        body_html: r.get(6)?,
        published_at: r.get(7)?,
        created_at: r.get(8)?,
        content_hash: r.get(9)?,
        raw_json: r.get(10)?,
        first_seen_at: r.get(11)?,
        last_seen_at: r.get(12)?,
        content_changed_at: r.get(13)?,
        deleted_at: r.get(14)?,
        handle_kept_by: r.get(15)?,
        ..ExportProduct::default()
    })
}

fn variant_row(r: &Row) -> rusqlite::Result<ExportVariant> {
    Ok(ExportVariant {
        variant_id: r.get(0)?,
        position: r.get(1)?,
        title: r.get(2)?,
        option1: r.get(3)?,
        option2: r.get(4)?,
        option3: r.get(5)?,
        sku: r.get(6)?,
        price: r.get(7)?,
        compare_at_price: r.get(8)?,
        compare_at_price_cents: r.get(9)?,
        available: r.get(10)?,
        requires_shipping: r.get(11)?,
        taxable: r.get(12)?,
        grams: r.get(13)?,
        featured_image_id: r.get(14)?,
    })
}

/// A column holding a JSON array of strings (tags, option values).
fn json_list(r: &Row, index: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

#[cfg(test)]
mod tests;
