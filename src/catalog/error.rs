//! What makes an answer unreadable as a catalogue page (invalid JSON or XML), and how an object that failed to parse is named by whatever id and handle can
//! still be read from it.

use std::fmt;

/// A page that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON: {0}")]
    BadJson(String),
    #[error("invalid sitemap XML: {0}")]
    BadXml(String),
}

/// Names an object (product or collection) that failed to parse by whatever id and handle can
/// still be read from its JSON.
pub fn label_of(raw: &str) -> String {
    let (id, handle) = identity_of(raw);
    ProductLabel {
        id,
        handle: handle.as_deref(),
    }
    .to_string()
}

/// The id and handle of an object whatever else is wrong with it: the id as a JSON integer or
/// a string of digits (as some stores send it), the handle when it is a string.
pub fn identity_of(raw: &str) -> (Option<i64>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Identity {
        #[serde(default)]
        id: serde_json::Value,
        #[serde(default)]
        handle: serde_json::Value,
    }
    let identity = match serde_json::from_str::<Identity>(raw) {
        Ok(identity) if is_object(raw.as_bytes()) => identity,
        _ => return (None, None),
    };
    let id = match identity.id {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let handle = identity.handle.as_str().map(str::to_owned);
    (id, handle)
}

/// True when the JSON text is an object (its first non-blank byte is `{`).
pub fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Display helper for "product id N (handle)" when only part of it is known.
pub struct ProductLabel<'a> {
    pub id: Option<i64>,
    pub handle: Option<&'a str>,
}

impl fmt::Display for ProductLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.id, self.handle) {
            (Some(id), Some(handle)) => write!(f, "id {id}, handle {handle:?}"),
            (Some(id), None) => write!(f, "id {id}"),
            (None, Some(handle)) => write!(f, "handle {handle:?}"),
            (None, None) => f.write_str("no id or handle"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_object_is_named_by_its_id_even_when_sent_as_a_string() {
        let label = label_of(r#"{"id":"123","handle":"h","variants":[]}"#);
        assert_eq!(label, r#"id 123, handle "h""#);
        assert_eq!(label_of(r#"{"id":77}"#), "id 77");
        assert_eq!(label_of(r#"{"id":"abc","handle":5}"#), "no id or handle");
        assert_eq!(label_of("[1]"), "no id or handle");
    }
}
