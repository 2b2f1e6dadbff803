//! One crawl per store across processes: an OS file lock per store in `<db>.locks/`, beside
//! the database. The lock is an `flock` on `<db>.locks/<store>.lock`, so it dies with its
//! holder (a process killed with SIGKILL never blocks the next one); the holder writes its pid
//! into the file so a refused caller can name it. Readers probe the lock to tell a running
//! run from one whose process died.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// A failure to create or open a lock file.
#[derive(Debug, thiserror::Error)]
#[error("store {store}: cannot use lock file {path}: {source}")]
pub struct Error {
    pub store: String,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A held store lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// The outcome of trying to take a store's lock.
#[derive(Debug)]
pub enum Acquired {
    Held(StoreLock),
    /// Another process holds it; its pid when it has written it already.
    Busy {
        pid: Option<u32>,
    },
}

/// The directory holding the lock files of the database at `db`: `<db>.locks`.
pub fn dir_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".locks");
    PathBuf::from(name)
}

/// Bytes kept as they are in a lock file's name; every other byte is written `%XX`.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// The longest encoded store name used whole in a lock file's name; file systems allow 255
/// bytes.
const WHOLE_NAME_MAX: usize = 100;

/// How much of a longer encoded name starts its lock file's name, before its hash.
const PREFIX_MAX: usize = 60;

/// The lock file of `store`; characters other than letters, digits, `.`, `-` and `_` are
/// written as `%XX`, and so is a leading `.`, so every store name is one safe, visible file
/// name. An encoded name longer than 100 bytes (28 Japanese characters are 252) is cut to a
/// readable prefix of whole characters, at most 60 bytes, plus `~` and the first 16 hex digits of the name's
/// SHA-256, so any name has a lock file; `~` is always encoded in the short form, so the two
/// forms never meet.
pub fn path_of(db: &Path, store: &str) -> PathBuf {
    let (lead, rest) = match store.strip_prefix('.') {
        Some(rest) => ("%2E", rest),
        None => ("", store),
    };
    let encoded = format!("{lead}{}", utf8_percent_encode(rest, KEPT));
    if encoded.len() <= WHOLE_NAME_MAX {
        return dir_of(db).join(format!("{encoded}.lock"));
    }
    // Whole characters only, so the prefix stays readable.
    let mut prefix = lead.to_string();
    for c in rest.chars() {
        let piece = utf8_percent_encode(c.encode_utf8(&mut [0; 4]), KEPT).to_string();
        if prefix.len() + piece.len() > PREFIX_MAX {
            break;
        }
        prefix.push_str(&piece);
    }
    let digest = Sha256::digest(store.as_bytes());
    let hash = hex::encode(&digest[..8]);
    dir_of(db).join(format!("{prefix}~{hash}.lock"))
}

/// Takes `store`'s lock without waiting for a crawler and writes this process's pid into it.
/// A lock held only for an instant (a reader's `holder` probe) is tried again a few times
/// within about 100 ms before the store counts as busy.
pub fn try_lock(db: &Path, store: &str) -> Result<Acquired, Error> {
    let mut tries = 0;
    loop {
        match try_lock_once(db, store)? {
            Acquired::Busy { .. } if tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            outcome => return Ok(outcome),
        }
    }
}

fn try_lock_once(db: &Path, store: &str) -> Result<Acquired, Error> {
    let path = path_of(db, store);
    let fail = |source| Error {
        store: store.to_string(),
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir_of(db)).map_err(fail)?;
    // A lock file created by another user (root's manual sync beside the service) may be
    // read-only to us: flock works on a read-only descriptor too, only the pid is not written.
    let mut file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => File::open(&path),
        opened => opened,
    }
    .map_err(fail)?;
    match file.try_lock() {
        Ok(()) => {
            // Best effort: the lock is what counts, the pid only names the holder.
            let _ = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| write!(file, "{}", std::process::id()))
                .and_then(|()| file.flush());
            Ok(Acquired::Held(StoreLock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(Acquired::Busy {
            pid: read_pid(&mut file),
        }),
        Err(TryLockError::Error(e)) => Err(fail(e)),
    }
}

/// Whether a live process holds `store`'s lock now (None: nobody does). Never creates files.
pub fn holder(db: &Path, store: &str) -> Option<Option<u32>> {
    let mut file = File::open(path_of(db, store)).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_pid(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// "pid 1234", or "pid unknown" when the holder has not written it yet.
pub fn describe(pid: Option<u32>) -> String {
    pid.map(|p| format!("pid {p}"))
        .unwrap_or_else(|| "pid unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_with_the_pid_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let Acquired::Held(first) = try_lock(&db, "shop").unwrap() else {
            panic!("first take succeeds")
        };
        // flock locks belong to the open file description: a second open in the same
        // process conflicts just like another process would.
        match try_lock(&db, "shop").unwrap() {
            Acquired::Busy { pid } => assert_eq!(pid, Some(std::process::id())),
            Acquired::Held(_) => panic!("a held lock must not be taken twice"),
        }
        assert_eq!(holder(&db, "shop"), Some(Some(std::process::id())));
        assert!(matches!(try_lock(&db, "other").unwrap(), Acquired::Held(_)));
        drop(first);
        assert_eq!(holder(&db, "shop"), None);
        assert!(matches!(try_lock(&db, "shop").unwrap(), Acquired::Held(_)));
    }

    #[test]
    fn store_names_become_safe_file_names() {
        let db = Path::new("/var/lib/shopmirror/shopmirror.db");
        assert_eq!(
            path_of(db, "127.0.0.1:8080"),
            Path::new("/var/lib/shopmirror/shopmirror.db.locks/127.0.0.1%3A8080.lock")
        );
        assert!(path_of(db, "../x").ends_with("%2E.%2Fx.lock"));
        assert!(path_of(db, ".hidden").ends_with("%2Ehidden.lock"));
        assert!(path_of(db, "café shop").ends_with("caf%C3%A9%20shop.lock"));
        assert!(path_of(db, "a~b").ends_with("a%7Eb.lock"));
    }

    #[test]
    fn long_store_names_get_a_short_readable_name_with_a_hash() {
        let db = Path::new("/var/lib/shopmirror/shopmirror.db");
        let name_of = |store: &str| {
            let path = path_of(db, store);
            path.file_name().unwrap().to_str().unwrap().to_string()
        };
        let japanese = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふ";
        let file = name_of(japanese);
        assert!(file.len() <= 60 + 1 + 16 + 5, "{file}");
        assert!(file.starts_with("%E3%81%82%E3%81%84"), "{file}");
        let (prefix, rest) = file.split_once('~').unwrap();
        assert!(
            !prefix.ends_with('%') && prefix.len() % 9 == 0,
            "whole %XX only: {prefix}"
        );
        assert_eq!(rest.len(), 16 + ".lock".len());
        assert_ne!(
            file,
            name_of(&format!("{japanese}へ")),
            "names sharing a prefix"
        );
        assert_eq!(file, name_of(japanese), "stable");
        let ascii = "a".repeat(300);
        assert!(
            name_of(&ascii).starts_with(&"a".repeat(60)),
            "ASCII cut at 60"
        );
        assert_eq!(
            name_of(&"b".repeat(100)),
            format!("{}.lock", "b".repeat(100))
        );
    }
}
