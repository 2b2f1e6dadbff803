//! `shopmirror db upgrade`: upgrades an older database in place after a backup copy, without
//! a configured store; says which copy it made.

use super::Failure;
use crate::config::Config;
use crate::store::{self, Upgrade};

pub fn upgrade(config: &Config) -> Result<(), Failure> {
    let path = &config.db_path;
    if !path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist: nothing to upgrade",
            path.display()
        )));
    }
    match store::upgrade(path)? {
        Upgrade::Current { version } => super::print_shown(&format!(
            "database {} is already at schema version {version}: nothing to do",
            path.display()
        )),
        Upgrade::Upgraded { from, to, backup } => super::print_shown(&format!(
            "database {} upgraded from schema version {from} to {to}; backup copy of the old \
             file: {}",
            path.display(),
            backup.display()
        )),
    }
    Ok(())
}
