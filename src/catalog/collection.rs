//! Collections as stores send them in /collections.json: parsed into `ParsedCollection` with the
//! JSON kept exactly as received. Only `id`, `handle` and `title` are required; the other fields
//! are kept when present. Nothing here touches the database.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{label_of, ParseError};

/// A page of /collections.json, each collection kept raw.
#[derive(Deserialize)]
struct CollectionsPage<'a> {
    #[serde(borrow)]
    collections: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireCollection {
    id: i64,
    handle: String,
    title: String,
    #[serde(default)]
    body_html: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    sort_order: Option<String>,
}

/// A collection ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCollection {
    pub id: i64,
    pub handle: String,
    pub title: String,
    pub body_html: Option<String>,
    pub published_at: Option<String>,
    pub sort_order: Option<String>,
    pub raw_json: String,
}

/// Parses a /collections.json page. Any unusable collection fails the page, naming it.
pub fn parse_collections_page(body: &[u8]) -> Result<Vec<ParsedCollection>, ParseError> {
    let page: CollectionsPage =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    page.collections
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let wire: WireCollection =
                serde_json::from_str(raw.get()).map_err(|e| bad(raw, index, e.to_string()))?;
            if wire.handle.trim().is_empty() {
                return Err(bad(raw, index, "empty handle".into()));
            }
            Ok(ParsedCollection {
                id: wire.id,
                handle: wire.handle,
                title: wire.title,
                body_html: wire.body_html,
                published_at: wire.published_at,
                sort_order: wire.sort_order,
                raw_json: raw.get().to_owned(),
            })
        })
        .collect()
}

fn bad(raw: &RawValue, index: usize, reason: String) -> ParseError {
    ParseError::BadCollection {
        index,
        collection: label_of(raw.get()),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collections_page_keeps_fields_and_raw_json() {
        let body = br#"{"collections":[{"id":260000000001,"handle":"sale","title":"Sale",
            "body_html":"<p>x</p>","published_at":"2026-01-01T00:00:00-04:00",
            "sort_order":"price-asc","image":null},{"id":2,"handle":"bare","title":"Bare"}]}"#;
        let page = parse_collections_page(body).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].id, 260000000001);
        assert_eq!(page[0].sort_order.as_deref(), Some("price-asc"));
        assert!(page[0].raw_json.contains("\"image\":null"));
        assert_eq!(page[1].body_html, None);
    }

    #[test]
    fn a_collection_without_id_fails_the_page_naming_it() {
        let body = br#"{"collections":[{"handle":"sale","title":"Sale"}]}"#;
        let err = parse_collections_page(body).unwrap_err().to_string();
        assert!(err.contains("collection #0"), "{err}");
        assert!(err.contains("\"sale\""), "{err}");
    }

    #[test]
    fn not_a_collections_page_is_bad_json() {
        assert!(matches!(
            parse_collections_page(b"<html>"),
            Err(ParseError::BadJson(_))
        ));
    }
}
