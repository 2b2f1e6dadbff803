//! The write context and the change funnel. A write (one page, one batch, one deletion check)
//! runs in one transaction with a `WriteCtx` that carries what every row writer needs (the
//! transaction, the database path, store, run, the write's timestamp). Every change row
//! (`product_events`, `variant_changes`, `collection_changes`) is written by
//! `WriteCtx::record`, typed (`crate::change`), and no other code writes those tables. Before
//! the transaction commits, the writer's `ChangeObserver` (alerts) sees each change of it once,
//! so what it writes commits or rolls back with the change. The products a write added enter
//! the search index then too (search_index.rs).

use std::cell::RefCell;
use std::path::Path;

use rusqlite::{params, Transaction};

use super::search_index::index_added;
use super::{Context, Error};
use crate::change::{Change, Price, VariantChange};
use crate::outcome::RunStatus;

/// A change as recorded: where, when, its row id in its table, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub store_id: i64,
    pub run_id: i64,
    /// The write's timestamp (`observed_at` of the row).
    pub observed_at: String,
    /// The row's id in the table its kind is stored in (event_id or change_id).
    pub row_id: i64,
    pub change: Change,
}

/// Sees every change of a write inside its transaction, before it commits (alerts hook here).
pub trait ChangeObserver: Send {
    /// `changes` are the write's changes in the order recorded (never empty). Whatever the
    /// observer writes through `view` commits with them; an error rolls the whole write back.
    fn observe(&mut self, view: &ChangeView<'_>, changes: &[Recorded]) -> Result<(), Error>;
}

/// The open transaction, as an observer may use it (its SQL lives in store/ too).
pub struct ChangeView<'a> {
    pub(super) tx: &'a Transaction<'a>,
    pub(super) path: &'a Path,
}

impl ChangeView<'_> {
    /// Whether the store has ended a complete run before: until then every change belongs to
    /// its baseline (the first complete sync), which announces nothing.
    pub fn past_baseline(&self, store_id: i64) -> Result<bool, Error> {
        self.tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sync_runs WHERE store_id = ?1 AND status = ?2)",
            )
            .and_then(|mut s| s.query_row(params![store_id, RunStatus::Complete], |r| r.get(0)))
            .ctx(self.path, "looking for a complete run")
    }
}

/// What every row writer of one write needs, and the changes the write recorded so far.
pub(super) struct WriteCtx<'a> {
    pub(super) tx: &'a Transaction<'a>,
    pub(super) path: &'a Path,
    pub(super) store_id: i64,
    pub(super) run_id: i64,
    /// The write's timestamp, the same on every row it writes.
    pub(super) now: String,
    recorded: RefCell<Vec<Recorded>>,
    /// Ids of the products written, for the search index.
    written: RefCell<Vec<i64>>,
}

impl<'a> WriteCtx<'a> {
    pub(super) fn new(
        tx: &'a Transaction<'a>,
        path: &'a Path,
        store_id: i64,
        run_id: i64,
        now: String,
    ) -> WriteCtx<'a> {
        WriteCtx {
            tx,
            path,
            store_id,
            run_id,
            now,
            recorded: RefCell::new(Vec::new()),
            written: RefCell::new(Vec::new()),
        }
    }

    /// Notes that the product `id` was written (inserted or rewritten) by this write.
    pub(super) fn product_written(&self, id: i64) {
        self.written.borrow_mut().push(id);
    }

    /// The funnel: writes the row of one change and remembers it for the observer.
    pub(super) fn record(&self, change: Change) -> Result<(), Error> {
        let (store, run, now) = (self.store_id, self.run_id, &self.now);
        let row_id = match &change {
            Change::Product { product_id, event } => self
                .tx
                .prepare_cached(
                    "INSERT INTO product_events (store_id, product_id, event, observed_at, run_id)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING event_id",
                )
                .and_then(|mut s| {
                    let args = params![store, product_id, event, now, run];
                    s.query_row(args, |r| r.get(0))
                })
                .ctx(self.path, "recording product event")?,
            Change::Variant {
                product_id,
                variant_id,
                change,
            } => {
                let (old, new) = values(change);
                let (old_cents, new_cents) = (old.cents(), new.cents());
                let (old, new) = (old.text(), new.text());
                self.tx
                    .prepare_cached(
                        "INSERT INTO variant_changes (store_id, product_id, variant_id, field,
                             old_value, new_value, old_cents, new_cents, observed_at, run_id)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING change_id",
                    )
                    .and_then(|mut s| {
                        let args = params![
                            store,
                            product_id,
                            variant_id,
                            change.field(),
                            old,
                            new,
                            old_cents,
                            new_cents,
                            now,
                            run
                        ];
                        s.query_row(args, |r| r.get(0))
                    })
                    .ctx(self.path, "recording variant change")?
            }
            Change::Collection {
                collection_id,
                product_id,
                membership,
            } => self
                .tx
                .prepare_cached(
                    "INSERT INTO collection_changes (store_id, collection_id, product_id, change,
                         observed_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING change_id",
                )
                .and_then(|mut s| {
                    let args = params![store, collection_id, product_id, membership, now, run];
                    s.query_row(args, |r| r.get(0))
                })
                .ctx(self.path, "recording membership change")?,
        };
        self.recorded.borrow_mut().push(Recorded {
            store_id: store,
            run_id: run,
            observed_at: now.clone(),
            row_id,
            change,
        });
        Ok(())
    }

    /// Indexes the products the write added for search, then hands the write's changes to
    /// the observer, if there is one and there are changes.
    pub(super) fn finish(
        self,
        observer: Option<&mut Box<dyn ChangeObserver>>,
    ) -> Result<(), Error> {
        index_added(self.tx, self.path, self.store_id, &self.written.borrow())?;
        let recorded = self.recorded.into_inner();
        match observer {
            Some(observer) if !recorded.is_empty() => {
                let view = ChangeView {
                    tx: self.tx,
                    path: self.path,
                };
                observer.observe(&view, &recorded)
            }
            _ => Ok(()),
        }
    }
}

/// One side (old or new) of a variant change as its row stores it.
enum Side<'c> {
    None,
    Price(&'c Price),
    Flag(bool),
}

impl<'c> Side<'c> {
    /// The cents column: set for prices only.
    fn cents(&self) -> Option<i64> {
        match self {
            Side::Price(p) => Some(p.cents),
            _ => None,
        }
    }

    /// The text column: the price as the store wrote it, availability as '1'/'0'.
    fn text(&self) -> Option<String> {
        match self {
            Side::None => None,
            Side::Price(p) => Some(p.text.clone()),
            Side::Flag(b) => Some(if *b { "1" } else { "0" }.to_string()),
        }
    }
}

/// The old and new side of a variant change.
fn values(change: &VariantChange) -> (Side<'_>, Side<'_>) {
    fn opt(p: &Option<Price>) -> Side<'_> {
        match p {
            Some(p) => Side::Price(p),
            None => Side::None,
        }
    }
    match change {
        VariantChange::Price { old, new } => (Side::Price(old), Side::Price(new)),
        VariantChange::CompareAt { old, new } => (opt(old), opt(new)),
        VariantChange::Availability { old, new } => (Side::Flag(*old), Side::Flag(*new)),
        VariantChange::Added { price } => (Side::None, Side::Price(price)),
        VariantChange::Removed { price } => (Side::Price(price), Side::None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::change::ProductEvent;
    use crate::store::Writer;

    /// Keeps what it saw; fails every write once `fail` is set.
    struct Seen {
        changes: Arc<Mutex<Vec<Recorded>>>,
        fail: bool,
    }

    impl ChangeObserver for Seen {
        fn observe(&mut self, view: &ChangeView<'_>, changes: &[Recorded]) -> Result<(), Error> {
            assert!(!view.past_baseline(changes[0].store_id)?);
            if self.fail {
                return Err(Error::WriterGone);
            }
            self.changes.lock().unwrap().extend_from_slice(changes);
            Ok(())
        }
    }

    fn events(path: &Path) -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM product_events", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn the_observer_sees_each_change_once_and_its_failure_rolls_the_write_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let writer = Writer::open(&path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let observer = Seen {
            changes: seen.clone(),
            fail: false,
        };
        writer.set_observer(Box::new(observer)).await.unwrap();
        let change = |id| Change::Product {
            product_id: id,
            event: ProductEvent::Added,
        };
        let (a, b) = (change(1), change(2));
        let both = (a.clone(), b.clone());
        writer
            .call(move |db| db.write(7, 9, |ctx| ctx.record(both.0).and(ctx.record(both.1))))
            .await
            .unwrap();
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.iter().map(|r| &r.change).collect::<Vec<_>>(), [&a, &b]);
        assert!(got.iter().all(|r| r.store_id == 7 && r.run_id == 9));
        assert_ne!(got[0].row_id, got[1].row_id);
        assert_eq!(events(&path), 2);

        let failing = Seen {
            changes: seen.clone(),
            fail: true,
        };
        writer.set_observer(Box::new(failing)).await.unwrap();
        let third = change(3);
        let result = writer
            .call(move |db| db.write(7, 9, |ctx| ctx.record(third)))
            .await;
        assert!(result.is_err());
        assert_eq!(
            events(&path),
            2,
            "the change rolled back with the observer's failure"
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }
}
