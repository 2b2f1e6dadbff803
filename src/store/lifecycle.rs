//! A store's lifecycle beyond syncing: whether it has a row, renaming it, and forgetting it
//! (every row of every table that holds its `store_id`, in one transaction).

use rusqlite::{params, OptionalExtension};

use super::write::WriteDb;
use super::{Context, Error};

/// How a rename ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renamed {
    Done,
    NoSuchStore,
    NameTaken,
}

impl WriteDb {
    /// True when the database has a row for the store `name`.
    pub fn has_store(&mut self, name: &str) -> Result<bool, Error> {
        self.conn
            .query_row("SELECT 1 FROM stores WHERE name = ?1", [name], |_| Ok(()))
            .optional()
            .map(|row| row.is_some())
            .ctx(&self.path, "looking up a store")
    }

    /// True when the store `name` has mirrored nothing yet: no product and no collection row.
    pub fn mirrored_nothing(&mut self, name: &str) -> Result<bool, Error> {
        self.conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM products JOIN stores USING (store_id)
                                    WHERE name = ?1)
                    AND NOT EXISTS (SELECT 1 FROM collections JOIN stores USING (store_id)
                                    WHERE name = ?1)",
                [name],
                |r| r.get(0),
            )
            .ctx(&self.path, "checking what a store has mirrored")
    }

    /// Gives the store `old` the name `new`; its rows keep their store id.
    pub fn rename_store(&mut self, old: &str, new: &str) -> Result<Renamed, Error> {
        self.transaction(|tx, path| {
            let taken = tx
                .query_row("SELECT 1 FROM stores WHERE name = ?1", [new], |_| Ok(()))
                .optional()
                .ctx(path, "looking up a store")?;
            if taken.is_some() {
                return Ok(Renamed::NameTaken);
            }
            let changed = tx
                .execute(
                    "UPDATE stores SET name = ?2 WHERE name = ?1",
                    params![old, new],
                )
                .ctx(path, "renaming a store")?;
            Ok(if changed == 1 {
                Renamed::Done
            } else {
                Renamed::NoSuchStore
            })
        })
    }

    /// Removes the store `name` and every row of every table that carries its store id, in
    /// one transaction; false when there was no such store. Tables are found from the schema,
    /// so tables added later are covered; foreign keys are checked at commit.
    pub fn forget_store(&mut self, name: &str) -> Result<bool, Error> {
        self.transaction(|tx, path| {
            let id: Option<i64> = tx
                .query_row("SELECT store_id FROM stores WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .ctx(path, "looking up a store")?;
            let Some(id) = id else { return Ok(false) };
            tx.execute_batch("PRAGMA defer_foreign_keys = ON")
                .ctx(path, "deferring foreign keys")?;
            let tables: Vec<String> = tx
                .prepare(
                    "SELECT m.name FROM sqlite_master m
                     WHERE m.type = 'table' AND m.name != 'stores' AND EXISTS
                         (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'store_id')",
                )
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .ctx(path, "listing tables")?;
            for table in tables {
                tx.execute(
                    &format!("DELETE FROM \"{table}\" WHERE store_id = ?1"),
                    [id],
                )
                .ctx(path, "forgetting a store's rows")?;
            }
            tx.execute("DELETE FROM stores WHERE store_id = ?1", [id])
                .ctx(path, "forgetting a store")?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Writer;

    #[tokio::test]
    async fn forget_removes_every_row_of_the_store_and_only_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::open(&dir.path().join("m.db")).unwrap();
        for name in ["a", "b"] {
            let name = name.to_string();
            writer
                .call(move |db| {
                    let id = db.ensure_store(&name, "http://x/")?;
                    db.begin_run(id, "http://x/").map(|_| ())
                })
                .await
                .unwrap();
        }
        assert!(writer.call(|db| db.forget_store("a")).await.unwrap());
        assert!(!writer.call(|db| db.forget_store("a")).await.unwrap());
        assert!(!writer.call(|db| db.has_store("a")).await.unwrap());
        assert!(writer.call(|db| db.has_store("b")).await.unwrap());
        let runs: i64 = rusqlite::Connection::open(dir.path().join("m.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM sync_runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 1, "b's run stays");
        let renamed = writer.call(|db| db.rename_store("b", "c")).await.unwrap();
        assert_eq!(renamed, Renamed::Done);
        let again = writer.call(|db| db.rename_store("b", "c")).await.unwrap();
        assert_eq!(again, Renamed::NameTaken);
        let missing = writer.call(|db| db.rename_store("zz", "y")).await.unwrap();
        assert_eq!(missing, Renamed::NoSuchStore);
    }
}
