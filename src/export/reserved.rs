//! JSON lines keep shopmirror's `_shopmirror` key unambiguous: a store's own top-level key made
//! of underscores and `shopmirror` (`_shopmirror`, `__shopmirror`, ...) is written with one
//! more leading underscore, so a line never holds a key twice and the store's key is read back
//! by removing one underscore. Keys are compared as JSON decodes them (`"\u005fshopmirror"`
//! is `_shopmirror`); everything else in the object stays byte for byte as the store sent it.

use std::borrow::Cow;
use std::ops::Range;

/// The key shopmirror adds to each line.
pub const KEY: &str = "_shopmirror";

/// `object` (one JSON object's text) with every top-level key that could be mistaken for
/// [`KEY`] renamed with one more leading underscore.
pub fn renamed(object: &str) -> Cow<'_, str> {
    let renames = reserved_keys(object);
    if renames.is_empty() {
        return Cow::Borrowed(object);
    }
    let mut out = String::with_capacity(object.len() + renames.len());
    let mut at = 0;
    for (range, key) in renames {
        out.push_str(&object[at..range.start]);
        out.push_str(&serde_json::to_string(&format!("_{key}")).expect("a string serializes"));
        at = range.end;
    }
    out.push_str(&object[at..]);
    Cow::Owned(out)
}

/// Whether a decoded key is underscores then `shopmirror`.
fn is_reserved(key: &str) -> bool {
    key.strip_suffix("shopmirror").is_some_and(|underscores| {
        !underscores.is_empty() && underscores.bytes().all(|b| b == b'_')
    })
}

/// The byte ranges (quotes included) and decoded names of the reserved top-level keys.
fn reserved_keys(object: &str) -> Vec<(Range<usize>, String)> {
    let bytes = object.as_bytes();
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut expect_key = false;
    let mut string_start = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(start) = string_start {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    string_start = None;
                    if depth == 1 && expect_key {
                        expect_key = false;
                        let text = &object[start..=i];
                        if let Ok(key) = serde_json::from_str::<String>(text) {
                            if is_reserved(&key) {
                                found.push((start..i + 1, key));
                            }
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => string_start = Some(i),
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && b == b'{';
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expect_key = true,
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_top_level_keys_get_one_more_underscore() {
        let raw = r#"{"id":1,"_shopmirror":{"_shopmirror":2},"__shopmirror":[3],"x":"\"_shopmirror\":","shopmirror":4,"_shopmirrors":5}"#;
        assert_eq!(
            renamed(raw),
            r#"{"id":1,"__shopmirror":{"_shopmirror":2},"___shopmirror":[3],"x":"\"_shopmirror\":","shopmirror":4,"_shopmirrors":5}"#
        );
        let escaped = r#"{ "\u005fshopmirror" : 1 , "a":[{"_shopmirror":1}]}"#;
        assert_eq!(
            renamed(escaped),
            r#"{ "__shopmirror" : 1 , "a":[{"_shopmirror":1}]}"#
        );
        let plain = r#"{"id":1,"title":"_shopmirror"}"#;
        assert!(matches!(renamed(plain), Cow::Borrowed(_)));
    }
}
