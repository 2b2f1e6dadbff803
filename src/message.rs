//! How text becomes what commands print and the daemon records: one-line error messages, and
//! store text made safe for a terminal or a log line (`shown`). Shared by the command layer,
//! logging and the daemon so neither imports the other.

use std::borrow::Cow;
use std::fmt::{self, Display, Write};

/// A message on one line: line breaks and runs of spaces become single spaces, and control
/// characters are escaped (see [`shown`]).
pub fn one_line(message: impl Display) -> String {
    let line = message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    shown(&line).into_owned()
}

/// Whether a terminal could act on `c` rather than show it: C0 controls (line feed and tab
/// included), DEL, C1 controls (U+0080-U+009F, e.g. CSI), the bidirectional embedding,
/// override and isolate controls (which reorder what follows) and the Unicode line and
/// paragraph separators.
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

/// Store text (a title, a handle, a store name, an error naming them) ready for a terminal or
/// a text log line: every character [`is_control`] says a terminal could act on is written
/// as its escape, `\u{1b}`; everything else, other languages included, as it is.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Displays its text through [`shown`], for `format!` arguments.
pub struct Shown<'a>(pub &'a str);

impl Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(shown("Café 日本 \\ ok"), "Café 日本 \\ ok");
        assert!(matches!(shown("plain"), Cow::Borrowed(_)));
        assert_eq!(
            shown("a\u{1b}]0;t\u{7}b\u{9b}2J\u{202e}c\nd\te\r"),
            r"a\u{1b}]0;t\u{7}b\u{9b}2J\u{202e}c\u{a}d\u{9}e\u{d}"
        );
        assert_eq!(
            shown("\u{2066}x\u{2069}\u{2028}"),
            r"\u{2066}x\u{2069}\u{2028}"
        );
        assert_eq!(Shown("\u{7f}").to_string(), r"\u{7f}");
    }

    #[test]
    fn one_line_messages_are_single_escaped_lines() {
        assert_eq!(
            one_line("store a:\n  bad\u{1b}[2J  thing"),
            r"store a: bad\u{1b}[2J thing"
        );
    }
}
