//! `shopmirror check-config`: validates the config and prints what it resolved to.

use super::Failure;
use crate::config::Config;

pub fn run(config: &Config) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&config.resolved).expect("config serializes");
    super::print_line(&text);
    Ok(())
}
