//! Collections as stores send them in /collections.json: parsed into `ParsedCollection` with the
//! JSON kept exactly as received. Only `id`, `handle` and `title` are required; the other fields
//! are kept when present. A collection that is valid JSON but unusable (a title null, an id that
//! is not an integer, an empty handle) is set aside for the quarantine, naming it, and the rest
//! of the page is parsed. Nothing here touches the database.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{identity_of, label_of, ParseError};
use super::Unusable;

/// A page of /collections.json, each collection kept raw.
#[derive(Deserialize)]
struct WirePage<'a> {
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

/// A /collections.json page: its usable collections, and those for the quarantine.
#[derive(Debug, Default)]
pub struct CollectionsPage {
    pub collections: Vec<ParsedCollection>,
    pub unusable: Vec<Unusable>,
}

impl CollectionsPage {
    /// Every collection the page held, usable or not (what decides whether the page was full).
    pub fn entries(&self) -> usize {
        self.collections.len() + self.unusable.len()
    }
}

/// Parses a /collections.json page. Only invalid JSON (or another shape) fails the page; each
/// unusable collection goes to `unusable`, named by its place and whatever id and handle it has.
pub fn parse_collections_page(body: &[u8]) -> Result<CollectionsPage, ParseError> {
    if !super::error::is_object(body) {
        return Err(ParseError::BadJson("not a JSON object".into()));
    }
    let page: WirePage =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    let mut parsed = CollectionsPage::default();
    for (index, raw) in page.collections.iter().enumerate() {
        match parse_collection(raw) {
            Ok(collection) => parsed.collections.push(collection),
            Err(reason) => parsed.unusable.push(unusable(raw, index, reason)),
        }
    }
    Ok(parsed)
}

fn parse_collection(raw: &RawValue) -> Result<ParsedCollection, String> {
    let wire: WireCollection = serde_json::from_str(raw.get())
        .map_err(|e| required_field_problem(raw).unwrap_or_else(|| e.to_string()))?;
    if wire.handle.trim().is_empty() {
        return Err("empty handle".into());
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
}

/// What is wrong with a required field (`id`, `handle`, `title`), named; None when they are
/// all of the right type (the problem is elsewhere).
fn required_field_problem(raw: &RawValue) -> Option<String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw.get()).ok()?;
    let problem =
        |key: &str, fits: fn(&serde_json::Value) -> bool, kind: &str| match object.get(key) {
            None => Some(format!("no {key}")),
            Some(serde_json::Value::Null) => Some(format!("{key} is null")),
            Some(value) if !fits(value) => Some(format!("{key} is not {kind}: {value}")),
            Some(_) => None,
        };
    problem("id", |v| v.as_i64().is_some(), "an integer")
        .or_else(|| problem("handle", serde_json::Value::is_string, "a string"))
        .or_else(|| problem("title", serde_json::Value::is_string, "a string"))
}

fn unusable(raw: &RawValue, index: usize, reason: String) -> Unusable {
    let (id, handle) = identity_of(raw.get());
    Unusable {
        id,
        handle,
        reason: format!(
            "collection #{index} ({}) is unusable: {reason}",
            label_of(raw.get())
        ),
        raw_json: raw.get().to_owned(),
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
        assert_eq!(page.entries(), 2);
        let page = page.collections;
        assert_eq!(page[0].id, 260000000001);
        assert_eq!(page[0].sort_order.as_deref(), Some("price-asc"));
        assert!(page[0].raw_json.contains("\"image\":null"));
        assert_eq!(page[1].body_html, None);
    }

    #[test]
    fn an_unusable_collection_is_set_aside_naming_it_and_the_rest_is_parsed() {
        let body = br#"{"collections":[{"handle":"sale","title":"Sale"},
            {"id":5,"handle":"nulled","title":null},{"id":6,"handle":" ","title":"E"},
            {"id":7,"handle":"good","title":"Good"}]}"#;
        let page = parse_collections_page(body).unwrap();
        assert_eq!(page.entries(), 4);
        assert_eq!(page.collections.len(), 1);
        assert_eq!(page.collections[0].id, 7);
        let ids: Vec<_> = page.unusable.iter().map(|u| u.id).collect();
        assert_eq!(ids, [None, Some(5), Some(6)]);
        let reason = &page.unusable[0].reason;
        assert!(
            reason.contains("collection #0") && reason.contains("\"sale\""),
            "{reason}"
        );
        assert!(
            page.unusable[1].reason.contains("id 5"),
            "{}",
            page.unusable[1].reason
        );
        assert!(page.unusable[2].reason.contains("empty handle"));
        assert_eq!(
            page.unusable[1].raw_json,
            r#"{"id":5,"handle":"nulled","title":null}"#
        );
    }

    #[test]
    fn not_a_collections_page_is_bad_json() {
        for body in [&b"<html>"[..], b"[1]", br#"{"collections":3}"#] {
            assert!(matches!(
                parse_collections_page(body),
                Err(ParseError::BadJson(_))
            ));
        }
    }
}
