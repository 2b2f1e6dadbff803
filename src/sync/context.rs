//! What every run of a process shares (the HTTP client, the writer, the page size, the stop
//! signal, live progress counters, the raw-hash lookup connection), built in one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::store::{self, Reader, Writer};
use crate::storefront::Client;

/// What every run shares: the HTTP client, the writer, settings and the stop signal.
pub struct SyncContext {
    pub client: Arc<Client>,
    pub writer: Writer,
    pub page_size: u32,
    pub cancel: CancellationToken,
    pub progress: Arc<Progress>,
    /// The read-only connection listings look up stored raw hashes through, beside the
    /// writer; one for the process (opened at the first listing), so stores synced at once
    /// do not each hold a connection and its schema.
    raw_hashes: OnceLock<Arc<Mutex<Reader>>>,
}

/// Live counters for progress displays, summed over all stores of the process.
#[derive(Debug, Default)]
pub struct Progress {
    pub pages: AtomicU64,
    pub products: AtomicU64,
    pub requests: AtomicU64,
}

impl Progress {
    pub(super) fn add(&self, pages: u64, products: u64) {
        self.pages.fetch_add(pages, Ordering::Relaxed);
        self.products.fetch_add(products, Ordering::Relaxed);
    }
}

impl SyncContext {
    /// The context of runs that share `client`, `writer` and `progress`, stopped by `cancel`.
    pub fn new(
        client: Arc<Client>,
        writer: Writer,
        page_size: u32,
        cancel: CancellationToken,
        progress: Arc<Progress>,
    ) -> SyncContext {
        SyncContext {
            client,
            writer,
            page_size,
            cancel,
            progress,
            raw_hashes: OnceLock::new(),
        }
    }

    /// The raw-hash reader, opened on first use.
    pub(super) fn raw_hash_reader(&self) -> Result<Arc<Mutex<Reader>>, store::Error> {
        if let Some(reader) = self.raw_hashes.get() {
            return Ok(reader.clone());
        }
        let reader = Arc::new(Mutex::new(Reader::open_raw_hashes(self.writer.path())?));
        // Two listings starting together may both open one; the first kept is the one used.
        Ok(self.raw_hashes.get_or_init(|| reader).clone())
    }
}
