//! `shopmirror check-config`: validates the config and prints what it resolved to, with any
//! credentials in store URLs removed.

use super::Failure;
use crate::config::Config;
use crate::storefront::redact_text;

pub fn run(config: &Config) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&config.resolved).expect("config serializes");
    super::print_line(&redact_text(&text));
    Ok(())
}
