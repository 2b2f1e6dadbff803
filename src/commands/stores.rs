//! `shopmirror stores list | rename OLD NEW | forget NAME --yes`: a store's lifecycle in the
//! database. Rename and forget hold the store's lock (see `lock`), so they are refused while
//! any process crawls the store.

use super::{print_line, Failure};
use crate::cli::StoresAction;
use crate::config::Config;
use crate::lock::{self, Acquired, StoreLock};
use crate::store::{Renamed, Writer};

pub fn run(config: &Config, action: &StoresAction) -> Result<(), Failure> {
    match action {
        StoresAction::List => list(config),
        StoresAction::Rename { old, new } => {
            let old = &resolve(config, old)?;
            let _held = hold(config, old, "renamed")?;
            let (old2, new2) = (old.clone(), new.clone());
            match write(config, move |db| db.rename_store(&old2, &new2))? {
                Renamed::Done => Ok(()),
                Renamed::NoSuchStore => Err(no_such_store(config, old)),
                Renamed::NameTaken => Err(Failure::Failed(format!(
                    "a store named {new:?} already exists in {}",
                    config.db_path.display()
                ))),
            }
        }
        StoresAction::Forget { name, yes: false } => Err(Failure::Usage(format!(
            "forget removes store {name:?} and every row it has; add --yes to confirm"
        ))),
        StoresAction::Forget { name, yes: true } => {
            let name = &resolve(config, name)?;
            let _held = hold(config, name, "forgotten")?;
            let name2 = name.clone();
            match write(config, move |db| db.forget_store(&name2))? {
                true => Ok(()),
                false => Err(no_such_store(config, name)),
            }
        }
    }
}

fn list(config: &Config) -> Result<(), Failure> {
    let reader = super::export::open_reader(config)?;
    for s in reader.store_statuses()? {
        print_line(&format!(
            "{}\t{}\t{} live products\tlast run {}",
            s.store,
            s.base_url,
            s.live_products,
            s.last_run_status.map_or("never", |state| state.as_str())
        ));
    }
    Ok(())
}

/// The database name of the store the command line names (by name or URL).
fn resolve(config: &Config, given: &str) -> Result<String, Failure> {
    let reader = super::export::open_reader(config)?;
    super::store_arg::resolve(&reader, &config.db_path, given).map_err(Failure::Failed)
}

/// Takes the store's lock, or refuses naming the process that crawls it.
fn hold(config: &Config, store: &str, what: &str) -> Result<StoreLock, Failure> {
    match lock::try_lock(&config.db_path, store).map_err(|e| Failure::Failed(e.to_string()))? {
        Acquired::Held(held) => Ok(held),
        Acquired::Busy { pid } => Err(Failure::Failed(format!(
            "store {store}: being synced by another process ({}); not {what}",
            lock::describe(pid)
        ))),
    }
}

/// Runs one write on the database (which must exist already).
fn write<T: Send + 'static>(
    config: &Config,
    work: impl FnOnce(&mut crate::store::WriteDb) -> Result<T, crate::store::Error> + Send + 'static,
) -> Result<T, Failure> {
    super::export::open_reader(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start runtime: {e}")))?;
    runtime.block_on(async {
        let writer = Writer::open(&config.db_path)?;
        Ok(writer.call(work).await?)
    })
}

fn no_such_store(config: &Config, name: &str) -> Failure {
    Failure::Failed(format!(
        "no store named {name:?} in {}",
        config.db_path.display()
    ))
}
