//! Opening connections and moving the schema forward. A new database is created from
//! schema.sql (the readable picture of the current schema); an older one is upgraded by the
//! frozen, append-only files in migrations/, each in its own transaction with foreign keys off
//! around table rebuilds. PRAGMA user_version records which version a file has.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Context, Error};

/// The schema version this binary writes. Databases with a larger user_version are refused.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The size the WAL is cut back to after a checkpoint (bytes).
pub const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// The current schema, for new databases.
const SCHEMA: &str = include_str!("../../schema.sql");

/// Entry `i` moves a database from version `i` to `i + 1`. Append only: a released entry is
/// never edited, since databases in the field have already applied it.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_corners.sql"),
    include_str!("../../migrations/0003_time_indices.sql"),
    include_str!("../../migrations/0004_run_url.sql"),
    include_str!("../../migrations/0005_big_stores.sql"),
    include_str!("../../migrations/0006_product_seen.sql"),
    include_str!("../../migrations/0007_change_cents.sql"),
    include_str!("../../migrations/0008_load.sql"),
    include_str!("../../migrations/0009_corners.sql"),
    include_str!("../../migrations/0010_web.sql"),
    include_str!("../../migrations/0011_alerts.sql"),
    include_str!("../../migrations/0012_perf.sql"),
    include_str!("../../migrations/0013_write_path.sql"),
    include_str!("../../migrations/0014_colls.sql"),
];

/// The migration (index into MIGRATIONS) after whose SQL every stored content hash is
/// recomputed from its stored JSON, in the same transaction (see rehash.rs): the hash it
/// introduces leaves availability out.
const REHASH_AFTER: usize = 8;

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
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT};
         PRAGMA analysis_limit = 400;"
    ))
    .ctx(path, "setting pragmas")?;
    migrate(&conn, path)?;
    // Statement journals in memory: most writes of a page are statements that may need one,
    // and once one outgrew SQLite's 64 KiB it spilled to a temporary file that every later
    // statement of the transaction wrote to (a fifth of a first sync's CPU). Set after the
    // migrations, whose index builds may sort more than memory should hold; the writer's
    // own statements touch a page of products at a time.
    conn.execute_batch("PRAGMA temp_store = MEMORY")
        .ctx(path, "setting pragmas")?;
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
    if version < SCHEMA_VERSION {
        return Err(Error::OlderSchema {
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
    if found == 0 {
        return create(conn, path);
    }
    // Table rebuilds (create new, copy, drop old, rename) must not cascade or fail on foreign
    // keys half-way; each migration checks them itself before it commits.
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .ctx(path, "switching foreign keys off for migrations")?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        apply(conn, path, sql, index as i64 + 1, index == REHASH_AFTER)?;
    }
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .ctx(path, "switching foreign keys back on")
}

/// A new database: the current schema in one transaction. Two processes opening a new file
/// at once both saw version 0: the version is read again inside the write transaction, and
/// the later one upgrades (or keeps) what the first created instead of creating it twice.
fn create(conn: &Connection, path: &Path) -> Result<(), Error> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .ctx(path, "creating the schema")?;
    let step = || -> Result<bool, Error> {
        if user_version(conn, path)? != 0 {
            return Ok(false);
        }
        let batch = format!("{SCHEMA}\n; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;");
        conn.execute_batch(&batch)
            .ctx(path, "creating the schema")?;
        Ok(true)
    };
    match step() {
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = conn.execute_batch("ROLLBACK");
            migrate(conn, path)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// One migration in its own transaction, committed only if every foreign key still holds.
fn apply(
    conn: &Connection,
    path: &Path,
    sql: &str,
    target: i64,
    rehash: bool,
) -> Result<(), Error> {
    let step = || -> rusqlite::Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        // Another process may have applied it since this one read the version.
        let now: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= target {
            return conn.execute_batch("ROLLBACK");
        }
        conn.execute_batch(&format!("{sql}\n;"))?;
        if rehash {
            super::rehash::rehash_all(conn)?;
        }
        let broken: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migration to version {target} breaks {broken} foreign keys"
                )),
            ));
        }
        conn.execute_batch(&format!("PRAGMA user_version = {target}; COMMIT;"))
    };
    step().or_else(|source| {
        let _ = conn.execute_batch("ROLLBACK");
        Err(source).ctx(path, "applying schema migration")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables, columns, indices, views and triggers of a database, in a comparable form.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        let objects: Vec<(String, String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut shape = Vec::new();
        for (kind, name, table, sql) in objects {
            match kind.as_str() {
                "table" => {
                    let mut cols = conn
                        .prepare("SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)")
                        .unwrap();
                    let cols: Vec<String> = cols
                        .query_map([&name], |r| {
                            Ok(format!(
                                "{}:{}:{}:{}:{:?}:{}:{}",
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, i64>(3)?,
                                r.get::<_, Option<String>>(4)?,
                                r.get::<_, i64>(5)?,
                                r.get::<_, i64>(6)?
                            ))
                        })
                        .unwrap()
                        .map(Result::unwrap)
                        .collect();
                    let mut fks = conn
                        .prepare("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
                        .unwrap();
                    let fks: Vec<String> = fks
                        .query_map([&name], |r| {
                            Ok(format!(
                                "{}.{}->{}:{}",
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                                r.get::<_, String>(3)?
                            ))
                        })
                        .unwrap()
                        .map(Result::unwrap)
                        .collect();
                    let strict = sql.unwrap_or_default().to_uppercase();
                    let without_rowid = strict.contains("WITHOUT ROWID");
                    shape.push(format!(
                        "table {name} rowid={} cols={cols:?} fks={fks:?}",
                        !without_rowid
                    ));
                }
                "index" => {
                    let mut cols = conn
                        .prepare("SELECT name, desc, coll, key FROM pragma_index_xinfo(?1)")
                        .unwrap();
                    let cols: Vec<String> = cols
                        .query_map([&name], |r| {
                            Ok(format!(
                                "{:?}:{}:{:?}:{}",
                                r.get::<_, Option<String>>(0)?,
                                r.get::<_, i64>(1)?,
                                r.get::<_, Option<String>>(2)?,
                                r.get::<_, i64>(3)?
                            ))
                        })
                        .unwrap()
                        .map(Result::unwrap)
                        .collect();
                    let partial = sql
                        .as_deref()
                        .and_then(|s| {
                            s.to_uppercase()
                                .find(" WHERE ")
                                .map(|at| s[at..].to_string())
                        })
                        .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "));
                    shape.push(format!("index {name} on {table} {cols:?} {partial:?}"));
                }
                _ => {
                    let sql = sql.unwrap_or_default();
                    let words = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                    shape.push(format!("{kind} {name} on {table}: {words}"));
                }
            }
        }
        shape
    }

    /// SHA-256 of each released migration: a released migration is never edited.
    const RELEASED: &[&str] = &[
        "c9270b5ab32f4858d6229644b662cc298417b29f40ac453c32c35013f4364591",
        "121db23fca1ef8a5a914736a054149d1bbb26ae4de04d5c507b2ad9a5755c8d0",
        "e3bb6ebfbfcffcd3d1d1abc30f1b1953780bacd5092e05a44181aa2364c79ef2",
        "ad05ae47fd92cc5b574d638d73d84845a7739f4ec981333b11fbf258f35bed3e",
        "8c9f03e676af286cdb6391054fa720fe321be9a58038e3730f353df261b35c44",
        "9449b55ecaee6f9a2adab1a838840529d4d4a85cd82131660ae205ed23de0d45",
        "cc40b047fcc14ba19751842c8d1946dc97d8625f96aceeb122f9314eb5ab5b99",
        "0a4988e972ea6982416db534ad3b44babb24db244e81bf18f50890777a78d6a7",
        "c7214c04b31451227acc84d876a6d24e7b1258b3982ac0aeff9ddef5d8ec1449",
        "558110f6cc51814544c6d627e0045888f324366ea7ef8e29246fa02545675452",
        "c0b52e02d0c5462d434ba53e302973a84c5182ec868cbeb580a5de412839afd6",
        "1de49212bc0b89d8af6e3fc1d7f6a76f7332446fc348d7b8a70d7937f74c06bc",
        "b5590adcf6574bbf792d0e507bd5e3bc7f7213502323d5e18b14c2b92fe71896",
        "78fe298646f1053438ea15e1162821da28c1e2fb41e01de141c62e88ce324d5e",
    ];

    #[test]
    fn released_migrations_are_unchanged() {
        use sha2::{Digest, Sha256};
        for (index, expected) in RELEASED.iter().enumerate() {
            let found = hex::encode(Sha256::digest(MIGRATIONS[index].as_bytes()));
            assert_eq!(&found, expected, "migration {} was edited", index + 1);
        }
    }

    #[test]
    fn the_rehash_follows_the_migration_that_changed_the_hash() {
        assert!(MIGRATIONS[REHASH_AFTER].contains("recomputes every stored content hash"));
    }

    #[test]
    fn migrated_database_equals_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.db");
        let fresh_conn = open_writer(&fresh).unwrap();
        let old = dir.path().join("old.db");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema_v1.db"),
            &old,
        )
        .unwrap();
        let bodies = |conn: &Connection| -> Vec<(i64, String)> {
            conn.prepare("SELECT product_id, body_html FROM products ORDER BY product_id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let (before, old_bodies) = {
            let conn = Connection::open(&old).unwrap();
            (user_version(&conn, &old).unwrap(), bodies(&conn))
        };
        assert_eq!(before, 1, "the fixture is a version 1 database");
        let migrated = open_writer(&old).unwrap();
        assert_eq!(user_version(&migrated, &old).unwrap(), SCHEMA_VERSION);
        assert_eq!(shape(&migrated), shape(&fresh_conn));
        let products: i64 = migrated
            .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
            .unwrap();
        assert!(products > 0, "the fixture's rows survive the upgrade");
        // body_html, now read out of raw_json, reads as the stored copy did.
        assert_eq!(bodies(&migrated), old_bodies);
        let fk_on: i64 = migrated
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk_on, 1);
    }

    #[test]
    fn the_first_migration_is_the_released_version_1_schema() {
        // New databases come from schema.sql, so 0001 never runs: this keeps it honest, the
        // same tables, columns, indices and views as a database the v1 binary wrote.
        let dir = tempfile::tempdir().unwrap();
        let rebuilt = dir.path().join("v1.db");
        let conn = Connection::open(&rebuilt).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        let written = dir.path().join("written-by-v1.db");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema_v1.db"),
            &written,
        )
        .unwrap();
        let fixture = Connection::open(&written).unwrap();
        assert_eq!(shape(&conn), shape(&fixture));
    }

    #[test]
    fn readers_refuse_an_older_database_and_say_how_to_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        drop(open_writer(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION - 1))
            .unwrap();
        drop(conn);
        let message = open_reader(&path).unwrap_err().to_string();
        assert!(message.contains("db upgrade` to upgrade it"), "{message}");
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
