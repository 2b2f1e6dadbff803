//! Export formats: turns the store's product stream into CSV (one row per product or per
//! variant), JSON Lines (the product as the store sent it plus shopmirror's fields) or Shopify's
//! product-import CSV, written row by row to any `io::Write`. Knows no SQL and no files: the
//! `export` command chooses the destination, `store::Reader` supplies the rows.

mod cells;
mod jsonl;
mod reserved;
mod shopify;

pub use cells::Cells;

use std::fmt;
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::store::{self, ExportFilter, ExportProduct, Reader};

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One row per product.
    Csv,
    /// One row per variant.
    VariantsCsv,
    Jsonl,
    ShopifyCsv,
}

/// Errors of an export; each names where it was writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("writing export to {target}: {source}")]
    Write {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("store {store}, product {product_id}: stored product JSON is not an object")]
    NotAnObject { store: String, product_id: i64 },
}

impl Error {
    /// The reader of our output went away (`| head`): not a failure of the export.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Invalid `--changed-since` text.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid time {0:?}: use RFC 3339 (2026-11-01T12:00:00Z), YYYY-MM-DD or \
     'YYYY-MM-DD HH:MM:SS' (UTC)"
)]
pub struct BadTime(pub String);

/// Reads a time given on the command line into shopmirror's stored format (UTC,
/// 'YYYY-MM-DD HH:MM:SS'). Times without an offset are UTC.
pub fn parse_time(text: &str) -> Result<String, BadTime> {
    const STORED: &str = "%Y-%m-%d %H:%M:%S";
    let t = text.trim();
    let utc = if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        dt.with_timezone(&Utc).naive_utc()
    } else if let Ok(dt) = NaiveDateTime::parse_from_str(t, STORED)
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
    {
        dt
    } else if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).expect("midnight exists")
    } else {
        return Err(BadTime(text.to_string()));
    };
    Ok(utc.format(STORED).to_string())
}

/// The UTF-8 byte-order mark some spreadsheet programs need to read a CSV as UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Products written.
    pub products: u64,
    /// Products a Shopify import CSV leaves out because another product keeps their handle.
    pub left_out: Vec<LeftOut>,
}

/// A product left out of a Shopify import CSV: rows sharing a handle are merged into one
/// product by Shopify's importer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub store: String,
    pub product_id: i64,
    pub handle: String,
    pub kept_by: i64,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "store {}: product {} left out of the Shopify CSV: its handle {:?} is product {}'s \
             (an import would merge them)",
            self.store, self.product_id, self.handle, self.kept_by
        )
    }
}

/// Writes every product matching `filter` to `out` in `format` (after a byte-order mark when
/// `bom`), one row at a time; `cells` says what the `csv` formats do with cells that would
/// start a spreadsheet formula. `target` names the destination in errors.
pub fn write<W: Write>(
    reader: &Reader,
    filter: &ExportFilter,
    format: Format,
    bom: bool,
    cells: Cells,
    mut out: W,
    target: &str,
) -> Result<Summary, Error> {
    let io_err = |source: io::Error| Error::Write {
        target: target.to_string(),
        source,
    };
    // A csv write error keeps its io::Error, so a closed pipe stays recognisable.
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => io_err(source),
        other => io_err(io::Error::other(format!("{other:?}"))),
    };
    if bom {
        out.write_all(BOM).map_err(io_err)?;
    }
    let mut summary = Summary::default();
    match format {
        Format::Jsonl => {
            let mut out = io::BufWriter::new(out);
            summary.products = reader
                .for_each_product(filter, false, |p| jsonl::jsonl_line(p, &mut out, &io_err))?;
            out.flush().map_err(io_err)?;
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(PRODUCT_COLUMNS).map_err(csv_err)?;
            summary.products = reader.for_each_product(filter, false, |p| {
                csv.write_record(cells.apply(product_record(p)))
                    .map_err(csv_err)
            })?;
            csv.flush().map_err(io_err)?;
        }
        Format::VariantsCsv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(VARIANT_COLUMNS).map_err(csv_err)?;
            summary.products = reader.for_each_product(filter, true, |p| {
                for record in variant_records(p) {
                    csv.write_record(cells.apply(record)).map_err(csv_err)?;
                }
                Ok::<_, Error>(())
            })?;
            csv.flush().map_err(io_err)?;
        }
        Format::ShopifyCsv => {
            // One product per handle: the importer merges rows that share one.
            let filter = ExportFilter {
                one_per_handle: true,
                ..filter.clone()
            };
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(shopify::COLUMNS).map_err(csv_err)?;
            let mut left_out = Vec::new();
            let written = reader.for_each_product(&filter, true, |p| {
                if let Some(kept_by) = p.handle_kept_by {
                    left_out.push(LeftOut {
                        store: p.store.clone(),
                        product_id: p.product_id,
                        handle: p.handle.clone(),
                        kept_by,
                    });
                    return Ok(());
                }
                for record in shopify::records(p) {
                    csv.write_record(record).map_err(csv_err)?;
                }
                Ok::<_, Error>(())
            })?;
            csv.flush().map_err(io_err)?;
            summary.products = written - left_out.len() as u64;
            summary.left_out = left_out;
        }
    }
    Ok(summary)
}

/// Columns of the product CSV.
pub const PRODUCT_COLUMNS: [&str; 15] = [
    "store",
    "product_id",
    "handle",
    "title",
    "vendor",
    "product_type",
    "tags",
    "published_at",
    "created_at",
    "first_seen_at",
    "last_seen_at",
    "content_changed_at",
    "deleted_at",
    "content_hash",
    "body_html",
];

fn product_record(p: &ExportProduct) -> [String; 15] {
    [
        p.store.clone(),
        p.product_id.to_string(),
        p.handle.clone(),
        p.title.clone(),
        p.vendor.clone(),
        p.product_type.clone(),
        p.tags_as_sent().join(", "),
        text(&p.published_at),
        text(&p.created_at),
        p.first_seen_at.clone(),
        p.last_seen_at.clone(),
        p.content_changed_at.clone(),
        text(&p.deleted_at),
        p.content_hash.clone(),
        p.body_html.clone(),
    ]
}

/// Columns of the variant CSV (`--variants`).
pub const VARIANT_COLUMNS: [&str; 21] = [
    "store",
    "product_id",
    "handle",
    "product_title",
    "vendor",
    "product_type",
    "variant_id",
    "variant_position",
    "variant_title",
    "option1",
    "option2",
    "option3",
    "sku",
    "price",
    "compare_at_price",
    "available",
    "requires_shipping",
    "taxable",
    "grams",
    "image_src",
    "deleted_at",
];

fn variant_records(p: &ExportProduct) -> impl Iterator<Item = [String; 21]> + '_ {
    p.variants.iter().map(move |v| {
        [
            p.store.clone(),
            p.product_id.to_string(),
            p.handle.clone(),
            p.title.clone(),
            p.vendor.clone(),
            p.product_type.clone(),
            v.variant_id.to_string(),
            v.position.to_string(),
            v.title.clone(),
            text(&v.option1),
            text(&v.option2),
            text(&v.option3),
            text(&v.sku),
            v.price.clone(),
            compare_at(v),
            flag(v.available),
            flag(v.requires_shipping),
            flag(v.taxable),
            v.grams.map(|g| g.to_string()).unwrap_or_default(),
            variant_image(p, v).unwrap_or_default().to_string(),
            text(&p.deleted_at),
        ]
    })
}

/// The compare-at price as sent, empty when there is none (null, "" or zero).
fn compare_at(v: &store::ExportVariant) -> String {
    match v.compare_at_price_cents {
        Some(_) => text(&v.compare_at_price),
        None => String::new(),
    }
}

/// The src of the image a variant shows, if any.
fn variant_image<'a>(p: &'a ExportProduct, v: &store::ExportVariant) -> Option<&'a str> {
    let id = v.featured_image_id?;
    p.images
        .iter()
        .find(|i| i.image_id == id)
        .map(|i| i.src.as_str())
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn flag(value: Option<bool>) -> String {
    match value {
        Some(true) => "true".into(),
        Some(false) => "false".into(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_each_accepted_form() {
        let ok = |t: &str| parse_time(t).unwrap();
        assert_eq!(ok("2026-11-01"), "2026-11-01 00:00:00");
        assert_eq!(ok("2026-11-01 12:30:05"), "2026-11-01 12:30:05");
        assert_eq!(ok("2026-11-01T12:30:05"), "2026-11-01 12:30:05");
        assert_eq!(ok("2026-11-01T12:30:05Z"), "2026-11-01 12:30:05");
        assert_eq!(ok("2026-11-01T14:30:05+02:00"), "2026-11-01 12:30:05");
        assert_eq!(ok("2026-11-01T00:30:00-01:00"), "2026-11-01 01:30:00");
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-01 25:00:00",
            "1 day",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let pipe = Error::Write {
            target: "stdout".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(pipe.is_broken_pipe());
        let full = Error::Write {
            target: "stdout".into(),
            source: io::Error::from(io::ErrorKind::StorageFull),
        };
        assert!(!full.is_broken_pipe());
    }
}
