//! `db upgrade`: brings an older database's schema up to date on demand, without syncing a
//! store, after a consistent backup copy of it (`VACUUM INTO` a new file beside it, named by
//! the old version and the time). A current database is left alone, a newer one refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema::{self, SCHEMA_VERSION};
use super::{Context, Error};

/// What `upgrade` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgrade {
    /// Already at this binary's schema version: nothing written.
    Current { version: i64 },
    /// Upgraded from `from` to `to`, after copying the old file to `backup`.
    Upgraded { from: i64, to: i64, backup: PathBuf },
}

/// Upgrades the existing database at `path` to [`SCHEMA_VERSION`], backing it up first.
pub fn upgrade(path: &Path) -> Result<Upgrade, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open_error = |source| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.busy_timeout(Duration::from_secs(5))
        .ctx(path, "setting busy timeout")?;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(open_error)?;
    if found > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(Upgrade::Current { version: found });
    }
    if found == 0 {
        return Err(Error::NotShopmirror {
            path: path.to_path_buf(),
        });
    }
    let backup = backup_path(path, found);
    conn.execute("VACUUM INTO ?1", [backup.to_string_lossy()])
        .ctx(path, "writing the backup copy")?;
    drop(conn);
    drop(schema::open_writer(path)?);
    Ok(Upgrade::Upgraded {
        from: found,
        to: SCHEMA_VERSION,
        backup,
    })
}

/// `<db>.v<version>-<UTC time>.bak` beside the database, as an absolute path.
fn backup_path(path: &Path, version: i64) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut name = std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .into_os_string();
    name.push(format!(".v{version}-{stamp}.bak"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_database_is_copied_then_upgraded_and_a_current_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema_v1.db");
        std::fs::copy(fixture, &path).unwrap();
        let Upgrade::Upgraded { from, to, backup } = upgrade(&path).unwrap() else {
            panic!("an older database is upgraded")
        };
        assert_eq!((from, to), (1, SCHEMA_VERSION));
        let copy = Connection::open(&backup).unwrap();
        let version: i64 = copy
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        assert_eq!(
            upgrade(&path).unwrap(),
            Upgrade::Current {
                version: SCHEMA_VERSION
            }
        );
        let empty = dir.path().join("empty.db");
        drop(Connection::open(&empty).unwrap());
        assert!(matches!(upgrade(&empty), Err(Error::NotShopmirror { .. })));
    }
}
