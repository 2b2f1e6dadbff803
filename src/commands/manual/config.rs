//! The CONFIGURATION section of shopmirror(1): every key of the commented example config
//! (config.toml, embedded), with its built-in default (from `config::defaults`), its
//! environment variable and the example's comment as its description.

use clap_mangen::roff::{bold, italic, roman, Roff};
use serde_json::Value;

/// The example config the package installs: the one list of documented keys.
const EXAMPLE: &str = include_str!("../../../config.toml");

/// One documented key.
#[derive(Debug)]
pub struct Key {
    /// The table it belongs to: "" (top level), "http", "stores.NAME".
    pub table: String,
    pub name: String,
    /// The value the example shows.
    pub example: String,
    /// The comment lines above it.
    pub doc: Vec<String>,
}

impl Key {
    /// `SHOPMIRROR_<TABLE>__<KEY>` (a top-level key: `SHOPMIRROR_<KEY>`).
    pub fn env(&self) -> String {
        let mut parts: Vec<String> = self
            .table
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| match p {
                "NAME" => "<NAME>".to_string(),
                p => p.to_ascii_uppercase(),
            })
            .collect();
        parts.push(self.name.to_ascii_uppercase());
        format!("SHOPMIRROR_{}", parts.join("__"))
    }

    /// `table.key` (a top-level key: `key`).
    pub fn path(&self) -> String {
        match self.table.as_str() {
            "" => self.name.clone(),
            table => format!("{table}.{}", self.name),
        }
    }

    /// The built-in default as the file would spell it; None when the key has none.
    pub fn default_value(&self, defaults: &Value) -> Option<String> {
        let mut at = defaults;
        for part in self.table.split('.').filter(|p| !p.is_empty()) {
            at = at.get(part)?;
        }
        match at.get(&self.name)? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            v => Some(v.to_string()),
        }
    }
}

/// The keys config.toml documents, set or commented out, in its order. A comment block
/// belongs to the key right below it; `# --- Heading ---` lines and the file's header
/// (separated by a blank line) to none.
pub fn keys() -> Vec<Key> {
    let mut keys = Vec::new();
    let mut table = String::new();
    let mut doc: Vec<String> = Vec::new();
    for line in EXAMPLE.lines() {
        let line = line.trim();
        let code = line.trim_start_matches('#').trim();
        // A trailing "# example" remark is not part of the value.
        let code = code.split("  #").next().unwrap_or(code).trim();
        if line.is_empty() {
            doc.clear();
        } else if let Some(name) = code.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
            let name = name.trim_matches(|c| c == '[' || c == ']');
            table = match name.split_once('.') {
                Some((map @ "stores", _)) => format!("{map}.NAME"),
                _ => name.to_string(),
            };
            doc.clear();
        } else if let Some((name, value)) = assignment(code) {
            keys.push(Key {
                table: table.clone(),
                name: name.to_string(),
                example: value.to_string(),
                doc: std::mem::take(&mut doc),
            });
        } else if !code.starts_with("---") {
            doc.push(code.to_string());
        }
    }
    keys
}

/// `key = value` with a bare lower-case key.
fn assignment(code: &str) -> Option<(&str, &str)> {
    let (name, value) = code.split_once(" = ")?;
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    bare.then_some((name, value.trim()))
}

pub fn render(roff: &mut Roff) {
    roff.control("SH", ["CONFIGURATION"]);
    roff.text([roman(
        "A TOML file (JSON when its name ends in .json) given with --config or \
         SHOPMIRROR_CONFIG; every key is optional. Layers, lowest first: the built-in defaults, \
         the file, SHOPMIRROR_* environment variables (nested keys as \
         SHOPMIRROR_<TABLE>__<KEY>), then --db. Durations are written like \"500ms\", \"10s\", \
         \"2m\". The commented example is /etc/shopmirror/config.toml in the package.",
    )]);
    let defaults = crate::config::defaults();
    let mut table = None;
    for key in keys() {
        if table.as_ref() != Some(&key.table) {
            let heading = match key.table.as_str() {
                "" => "Top level".to_string(),
                t => format!("[{t}]"),
            };
            roff.control("SS", [heading.as_str()]);
            table = Some(key.table.clone());
        }
        roff.control("TP", []);
        let value = match key.default_value(&defaults) {
            Some(default) => format!(" = {default}"),
            None => format!(" (not set by default; e.g. {})", key.example),
        };
        roff.text([bold(key.path()), roman(value)]);
        roff.text([roman("Environment: "), italic(key.env())]);
        roff.control("br", []);
        roff.text([roman(key.doc.join(" "))]);
    }
}
