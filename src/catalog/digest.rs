//! The raw digest of a product: its top-level id and a 64-bit hash of its JSON exactly as
//! received, with the value of every `updated_at` key left out (stores change those on every
//! response). Found in one scan without the typed parse, so a listing page can tell which of
//! its products are byte-for-byte what was stored last time; only the others are parsed and
//! compared by content hash, which stays the truth (a different digest is not a change). The
//! raw hash is XXH3 (64 bits): it only decides what to parse, every byte of every listing page
//! goes through it, and SHA-256 made it a third of an unchanged re-sync's parsing.

use xxhash_rust::xxh3::Xxh3;

/// A product's id (None when its top-level `id` is not an integer) and raw hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDigest {
    pub id: Option<i64>,
    pub hash: i64,
}

/// The key whose values never count: product, variant and image `updated_at`.
const VOLATILE_KEY: &[u8] = b"updated_at";

/// Scans one product's JSON text (as sliced from its page, so assumed well formed).
pub fn raw_digest(raw: &[u8]) -> RawDigest {
    let mut hasher = Xxh3::new();
    let mut id = None;
    let mut depth = 0usize;
    let mut hashed_to = 0;
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'"' => {
                let end = string_end(raw, at);
                let colon = skip_ws(raw, end);
                if raw.get(colon) != Some(&b':') {
                    at = end;
                    continue;
                }
                let key = &raw[at + 1..end - 1];
                let value = skip_ws(raw, colon + 1);
                if key == VOLATILE_KEY {
                    if let Some(value_end) = scalar_end(raw, value) {
                        hasher.update(&raw[hashed_to..value]);
                        hashed_to = value_end;
                        at = value_end;
                        continue;
                    }
                } else if depth == 1 && key == b"id" && id.is_none() {
                    id = integer_at(raw, value);
                }
                at = value;
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                at += 1;
            }
            _ => at += 1,
        }
    }
    hasher.update(&raw[hashed_to..]);
    RawDigest {
        id,
        hash: hasher.digest() as i64,
    }
}

/// Index just past the string starting at `at` (an opening quote), or the end of the text.
fn string_end(raw: &[u8], at: usize) -> usize {
    let mut from = at + 1;
    while let Some(found) = memchr::memchr2(b'"', b'\\', &raw[from..]) {
        let hit = from + found;
        if raw[hit] == b'\\' {
            from = hit + 2;
            if from >= raw.len() {
                return raw.len();
            }
        } else {
            return hit + 1;
        }
    }
    raw.len()
}

fn skip_ws(raw: &[u8], mut at: usize) -> usize {
    while matches!(raw.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// End of a string or literal value (null, number) at `at`; None for objects and arrays.
fn scalar_end(raw: &[u8], at: usize) -> Option<usize> {
    match raw.get(at)? {
        b'"' => Some(string_end(raw, at)),
        b'{' | b'[' => None,
        _ => {
            let len = raw[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                .unwrap_or(raw.len() - at);
            Some(at + len)
        }
    }
}

/// A JSON integer at `at` (not followed by a fraction or exponent).
fn integer_at(raw: &[u8], at: usize) -> Option<i64> {
    let end = scalar_end(raw, at)?;
    std::str::from_utf8(&raw[at..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(text: &str) -> RawDigest {
        raw_digest(text.as_bytes())
    }

    #[test]
    fn finds_the_top_level_id_only() {
        let d = digest(r#"{"variants":[{"id":5}],"title":"a \"id\": 3","id":42}"#);
        assert_eq!(d.id, Some(42));
        assert_eq!(digest(r#"{"id":"7"}"#).id, None);
        assert_eq!(digest(r#"{"id":7.5}"#).id, None);
        assert_eq!(digest(r#"{ "id" : -9 , "x":1}"#).id, Some(-9));
    }

    #[test]
    fn updated_at_values_do_not_count_anywhere() {
        let a = r#"{"id":1,"updated_at":"2026-01-01T00:00:00-05:00","variants":[{"id":2,"updated_at":"2026-01-01","price":"1.00"}]}"#;
        let b = r#"{"id":1,"updated_at":"2026-11-28T22:00:00+01:00","variants":[{"id":2,"updated_at":null,"price":"1.00"}]}"#;
        assert_eq!(digest(a), digest(b));
    }

    #[test]
    fn every_other_byte_counts() {
        let base = r#"{"id":1,"updated_at":"x","title":"A","variants":[{"price":"1.00"}]}"#;
        for other in [
            r#"{"id":1,"updated_at":"x","title":"B","variants":[{"price":"1.00"}]}"#,
            r#"{"id":1,"updated_at":"x","title":"A","variants":[{"price":"1.0"}]}"#,
            r#"{"id":1, "updated_at":"x","title":"A","variants":[{"price":"1.00"}]}"#,
            r#"{"id":1,"title":"A","updated_at":"x","variants":[{"price":"1.00"}]}"#,
            r#"{"id":1,"updated_at":"x","title":"A","variants":[{"price":"1.00"}],"updated_at_x":1}"#,
        ] {
            assert_ne!(digest(base), digest(other), "{other}");
        }
    }

    #[test]
    fn updated_at_inside_a_string_is_content() {
        let a = r#"{"id":1,"body_html":"\"updated_at\":\"1\"","title":"A"}"#;
        let b = r#"{"id":1,"body_html":"\"updated_at\":\"2\"","title":"A"}"#;
        assert_ne!(digest(a), digest(b));
    }

    #[test]
    fn the_value_masked_is_the_whole_string_with_escapes() {
        let a = r#"{"id":1,"updated_at":"a\"b","title":"A"}"#;
        let b = r#"{"id":1,"updated_at":"c","title":"A"}"#;
        assert_eq!(digest(a), digest(b));
    }
}
