//! Requests by source: what a run's HTTP requests were for (listing pages, collections, sitemap
//! files, single products, deletion checks). Each write adds the requests made since the last
//! one to the run's row, so the counts stay true across interruptions and resumes.

use std::path::Path;

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};

use super::{Context, Error};

/// HTTP requests by source; they add up to the run's `requests`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    /// /products.json pages.
    pub listing: i64,
    /// /collections.json pages, collection feeds and the checks of vanished collections.
    pub collections: i64,
    /// /sitemap.xml and the product sitemaps.
    pub sitemap: i64,
    /// /products/{handle}.json and .js for products no page showed.
    pub single: i64,
    /// /products/{handle}.json checks of deletion candidates.
    pub deletions: i64,
}

impl Requests {
    pub fn total(&self) -> i64 {
        self.listing + self.collections + self.sitemap + self.single + self.deletions
    }
}

/// Adds `r` to the run's request counters.
pub(super) fn add_requests(
    tx: &Transaction,
    path: &Path,
    run_id: i64,
    r: &Requests,
) -> Result<(), Error> {
    if *r == Requests::default() {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE sync_runs SET requests = requests + ?2,
             requests_listing = requests_listing + ?3,
             requests_collections = requests_collections + ?4,
             requests_sitemap = requests_sitemap + ?5,
             requests_single = requests_single + ?6,
             requests_deletions = requests_deletions + ?7
         WHERE run_id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            run_id,
            r.total(),
            r.listing,
            r.collections,
            r.sitemap,
            r.single,
            r.deletions
        ])
    })
    .ctx(path, "counting requests")?;
    Ok(())
}
