//! Export formats: turns the store's product stream into CSV (one row per product or per
//! variant), JSON Lines (the product as the store sent it plus shopmirror's fields) or Shopify's
//! product-import CSV, written row by row to any `io::Write`. Knows no SQL and no files: the
//! `export` command chooses the destination, `store::Reader` supplies the rows.

mod shopify;

use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

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

/// Writes every product matching `filter` to `out` in `format`, one row at a time; returns how
/// many products were written. `target` names the destination in errors.
pub fn write<W: Write>(
    reader: &Reader,
    filter: &ExportFilter,
    format: Format,
    out: W,
    target: &str,
) -> Result<u64, Error> {
    let io_err = |source: io::Error| Error::Write {
        target: target.to_string(),
        source,
    };
    // A csv write error keeps its io::Error, so a closed pipe stays recognisable.
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => io_err(source),
        other => io_err(io::Error::other(format!("{other:?}"))),
    };
    match format {
        Format::Jsonl => {
            let mut out = io::BufWriter::new(out);
            let n = reader.for_each_product(filter, false, |p| jsonl_line(p, &mut out, &io_err))?;
            out.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(PRODUCT_COLUMNS).map_err(csv_err)?;
            let n = reader.for_each_product(filter, false, |p| {
                csv.write_record(product_record(p)).map_err(csv_err)
            })?;
            csv.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::VariantsCsv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(VARIANT_COLUMNS).map_err(csv_err)?;
            let n = reader.for_each_product(filter, true, |p| {
                for record in variant_records(p) {
                    csv.write_record(record).map_err(csv_err)?;
                }
                Ok::<_, Error>(())
            })?;
            csv.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::ShopifyCsv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(shopify::COLUMNS).map_err(csv_err)?;
            let n = reader.for_each_product(filter, true, |p| {
                for record in shopify::records(p) {
                    csv.write_record(record).map_err(csv_err)?;
                }
                Ok::<_, Error>(())
            })?;
            csv.flush().map_err(io_err)?;
            Ok(n)
        }
    }
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
        p.tags.join(", "),
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

/// shopmirror's own fields, added to each JSON line under `_shopmirror`.
#[derive(Serialize)]
struct Meta<'a> {
    store: &'a str,
    first_seen_at: &'a str,
    last_seen_at: &'a str,
    content_changed_at: &'a str,
    deleted_at: Option<&'a str>,
    content_hash: &'a str,
}

/// Writes the stored JSON object exactly as the store sent it (key order and values kept; line
/// breaks, which JSON allows only between tokens, removed) with `_shopmirror` appended.
fn jsonl_line<W: Write>(
    p: &ExportProduct,
    out: &mut W,
    io_err: &impl Fn(io::Error) -> Error,
) -> Result<(), Error> {
    let inner = p
        .raw_json
        .trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| Error::NotAnObject {
            store: p.store.clone(),
            product_id: p.product_id,
        })?;
    let meta = Meta {
        store: &p.store,
        first_seen_at: &p.first_seen_at,
        last_seen_at: &p.last_seen_at,
        content_changed_at: &p.content_changed_at,
        deleted_at: p.deleted_at.as_deref(),
        content_hash: &p.content_hash,
    };
    let meta = serde_json::to_string(&meta).expect("meta serializes");
    let mut write = || -> io::Result<()> {
        out.write_all(b"{")?;
        for piece in inner.split(['\n', '\r']) {
            out.write_all(piece.as_bytes())?;
        }
        if !inner.trim().is_empty() {
            out.write_all(b",")?;
        }
        out.write_all(b"\"_shopmirror\":")?;
        out.write_all(meta.as_bytes())?;
        out.write_all(b"}\n")
    };
    write().map_err(io_err)
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

    fn product(raw: &str) -> ExportProduct {
        ExportProduct {
            store: "s".into(),
            product_id: 7,
            raw_json: raw.into(),
            content_hash: "h".into(),
            ..ExportProduct::default()
        }
    }

    fn line(raw: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        let err = |source| Error::Write {
            target: "t".into(),
            source,
        };
        jsonl_line(&product(raw), &mut out, &err)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn json_lines_keep_the_store_json_on_one_line() {
        let raw = "{\n  \"id\": 7,\r\n  \"title\": \"a\\nb\",\n  \"z\": [1,\n 2]\n}\n";
        let text = line(raw).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let meta = v.as_object_mut().unwrap().remove("_shopmirror").unwrap();
        assert_eq!(v, serde_json::from_str::<serde_json::Value>(raw).unwrap());
        assert_eq!(meta["store"], "s");
        assert_eq!(meta["deleted_at"], serde_json::Value::Null);
        assert!(text.starts_with("{  \"id\": 7,"), "key order kept: {text}");
        let empty: serde_json::Value = serde_json::from_str(&line("{ }").unwrap()).unwrap();
        assert_eq!(empty["_shopmirror"]["content_hash"], "h");
        assert!(matches!(
            line("[1]"),
            Err(Error::NotAnObject { product_id: 7, .. })
        ));
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
