//! The nesting limit: a product whose JSON nests arrays and objects deeper than
//! [`MAX_NESTING`] levels anywhere (an unknown key included) is unusable. Real products nest
//! about five levels; common readers of the exported JSON lines refuse deep input (Python's
//! json module by recursion, jq past its parser's depth limit), and so would the recursive
//! parsers here. A byte scan, so the depth costs no stack.

/// The deepest a product's JSON may nest, the product object itself counting as level 1.
const MAX_NESTING: usize = 64;

/// Why the product is refused, when its JSON nests deeper than [`MAX_NESTING`]; None when it
/// does not. `json` is one JSON value (not checked for validity here).
pub fn too_deep(json: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json.as_bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(format!(
                        "its JSON is nested deeper than {MAX_NESTING} levels of arrays and \
                         objects"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        // The product object is level 1; the key holds `levels - 1` arrays.
        let inner = levels - 1;
        format!(
            r#"{{"id":1,"x":{}{}}}"#,
            "[".repeat(inner),
            "]".repeat(inner)
        )
    }

    #[test]
    fn the_limit_is_counted_from_the_product_object() {
        assert_eq!(too_deep(&nested(MAX_NESTING)), None);
        let refused = too_deep(&nested(MAX_NESTING + 1)).unwrap();
        assert!(refused.contains("deeper than 64 levels"), "{refused}");
        assert!(too_deep(&nested(200_000)).is_some());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(
            r#"{{"title":"{}\"{}","id":1}}"#,
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(too_deep(&text), None);
        assert_eq!(too_deep(r#"{"a":"\\","b":[[1]]}"#), None);
    }
}
