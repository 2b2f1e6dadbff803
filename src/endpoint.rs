//! The one vocabulary of what a request is for: a listing page, a collection's list or product
//! page, a sitemap, a single product (`.json` or `.js`), or a deletion check. The same word is
//! the run's request count column (`sync_runs.requests_*`), a product's `products.source`, and
//! the `endpoint` label of the request latency histogram. A leaf: it imports nothing.

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A page of `/products.json`.
    Listing,
    /// `/collections.json` or a page of a collection's products.
    Collection,
    /// The sitemap index or a product sitemap.
    Sitemap,
    /// One product fetched alone (`/products/{handle}.json` or `.js`) to complete a capped
    /// listing.
    Single,
    /// One product asked for to confirm it gone.
    Deletions,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Listing,
        Endpoint::Collection,
        Endpoint::Sitemap,
        Endpoint::Single,
        Endpoint::Deletions,
    ];

    /// The word for this endpoint wherever it is stored or shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Listing => "listing",
            Endpoint::Collection => "collection",
            Endpoint::Sitemap => "sitemap",
            Endpoint::Single => "single",
            Endpoint::Deletions => "deletions",
        }
    }
}
