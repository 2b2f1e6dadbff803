//! JSON Lines: each product's stored JSON exactly as the store sent it, on one line, with
//! shopmirror's own fields appended under `_shopmirror` (a store's own key of that name is
//! renamed, see `reserved`).

use std::io::{self, Write};

use serde::Serialize;

use super::{reserved, Error};
use crate::store::ExportProduct;

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
pub(super) fn jsonl_line<W: Write>(
    p: &ExportProduct,
    out: &mut W,
    io_err: &impl Fn(io::Error) -> Error,
) -> Result<(), Error> {
    let object = reserved::renamed(p.raw_json.trim());
    let inner = object
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
        out.write_all(format!("\"{}\":", reserved::KEY).as_bytes())?;
        out.write_all(meta.as_bytes())?;
        out.write_all(b"}\n")
    };
    write().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
