//! A store named on the command line (`history STORE`, `export --store`, `stores rename` and
//! `forget`): its name in the database, or its URL (the store with the same host and port);
//! an unknown one is refused with the names the database holds.

use std::path::Path;

use crate::config::{parse_store_url, same_site};
use crate::store::Reader;

/// The database name of the store `given` names, or a one-line message saying it names none
/// and listing the stores there are.
pub fn resolve(reader: &Reader, db: &Path, given: &str) -> Result<String, String> {
    let stores = reader
        .store_urls()
        .map_err(|e| crate::message::one_line(&e))?;
    if stores.iter().any(|(name, _)| name == given) {
        return Ok(given.to_string());
    }
    if let Ok(url) = parse_store_url(given) {
        let found = stores
            .iter()
            .find(|(_, base)| parse_store_url(base).is_ok_and(|base| same_site(&base, &url)));
        if let Some((name, _)) = found {
            return Ok(name.clone());
        }
    }
    let what = match parse_store_url(given) {
        Ok(_) => "with the URL",
        Err(_) => "named",
    };
    let known = match stores.is_empty() {
        true => "it holds no store yet".to_string(),
        false => {
            let names: Vec<&str> = stores.iter().map(|(n, _)| n.as_str()).collect();
            format!("its stores: {}", names.join(", "))
        }
    };
    Err(format!(
        "no store {what} {} in {} ({known})",
        shown(given),
        db.display()
    ))
}

/// The argument as printed: quoted, credentials removed.
fn shown(given: &str) -> String {
    format!("{:?}", crate::storefront::redact_text(given))
}
