//! One sync run of one store: start or resume the run, enumerate the listing page by page
//! (listing; every paged feed is walked by pages, which knows where a feed ends), walk
//! collections and their membership (collections), complete a capped listing through the
//! sitemap, or look there for renamed products before deletions are checked (sitemap), confirm
//! deletions (deletions), and record how it ended (run);
//! every request URL comes from urls and every request goes through request's one fetch path.
//! The shared types live apart: the error (error) and what runs share (context). HTTP lives in
//! storefront, SQL in store.
mod collections;
mod context;
mod deletions;
mod error;
mod listing;
mod pages;
mod request;
mod run;
mod sitemap;
mod urls;

pub use context::{Progress, SyncContext};
pub use error::{Error, PageError};
pub use run::{sync_store, sync_store_alone};

use request::{bad_answer, fetch, is_listing_cap, is_not_found, off_thread, RequestCounter};

use crate::storefront::Expect;
