//! What every run of a process shares (the HTTP client, the writer, the page size, the stop
//! signal, live progress counters), built in one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::store::Writer;
use crate::storefront::Client;

/// What every run shares: the HTTP client, the writer, settings and the stop signal.
pub struct SyncContext {
    pub client: Arc<Client>,
    pub writer: Writer,
    pub page_size: u32,
    pub cancel: CancellationToken,
    pub progress: Arc<Progress>,
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
        }
    }
}
