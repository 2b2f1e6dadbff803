//! Opening connections and moving the schema forward. The schema text lives in schema.sql at
//! the crate root and is embedded here; PRAGMA user_version records which version a file has.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Context, Error};

/// The schema version this binary writes. Databases with a larger user_version are refused.
pub const SCHEMA_VERSION: i64 = 1;

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[include_str!("../../schema.sql")];

/// Opens (creating if needed) the database for writing and brings its schema up to date.
pub(super) fn open_writer(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(Duration::from_secs(5))
        .ctx(path, "setting busy timeout")?;
    // journal_mode answers with a row, so it is read rather than executed.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidQuery,
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA analysis_limit = 400;",
    )
    .ctx(path, "setting pragmas")?;
    migrate(&conn, path)?;
    Ok(conn)
}

/// Opens an existing database read-only, refusing files newer than this binary.
pub(super) fn open_reader(path: &Path) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(Duration::from_secs(5))
        .ctx(path, "setting busy timeout")?;
    let version = user_version(&conn, path)?;
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(conn)
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, Error> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })
}

fn migrate(conn: &Connection, path: &Path) -> Result<(), Error> {
    let found = user_version(conn, path)?;
    if found > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let target = index as i64 + 1;
        let batch = format!("BEGIN IMMEDIATE; {sql}\n; PRAGMA user_version = {target}; COMMIT;");
        if let Err(source) = conn.execute_batch(&batch) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(Error::Sqlite {
                path: path.to_path_buf(),
                context: "applying schema migration",
                source,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_end_at_the_declared_version() {
        assert_eq!(MIGRATIONS.len() as i64, SCHEMA_VERSION);
    }

    #[test]
    fn newer_database_is_refused_with_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        drop(open_writer(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(conn);
        let message = open_writer(&path).unwrap_err().to_string();
        assert!(
            message.contains("99") && message.contains("upgrade shopmirror"),
            "{message}"
        );
        assert!(matches!(
            open_reader(&path),
            Err(Error::NewerSchema { found: 99, .. })
        ));
    }

    #[test]
    fn reopening_keeps_version_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let conn = open_writer(&path).unwrap();
        conn.execute(
            "INSERT INTO stores (name, base_url, added_at) VALUES ('a', 'http://a', 'now')",
            [],
        )
        .unwrap();
        drop(conn);
        let conn = open_writer(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM stores", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(user_version(&conn, &path).unwrap(), SCHEMA_VERSION);
    }
}
