//! How errors become the one-line messages that commands print and the daemon records:
//! shared by the command layer and the daemon so neither imports the other.

use std::fmt::Display;

/// A message on one line: line breaks and runs of spaces become single spaces.
pub fn one_line(message: impl Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
