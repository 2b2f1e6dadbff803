//! Talking to stores over HTTP and nothing else: the client (client; answer: one request and
//! how its answer is classified; budget: the process's pages in flight) and its policy (guard: where it may go; pacing: politeness per
//! host; retry: what is retried and how long it waits; breaker: leaving a troubled store
//! alone), and what can go wrong (error). Answers leave here
//! as bytes; `catalog` reads them. Nothing here touches the database.

mod answer;
mod breaker;
mod budget;
mod client;
mod error;
mod guard;
mod pacing;
mod proxied;
mod retry;

pub use breaker::BreakerState;
pub use budget::{Body, Held};
pub use client::{Client, ClientSettings, Expect, StoreOptions, StoreReport};
pub use error::{snippet, BuildError, Error, ErrorKind};
pub use guard::{redact, redact_text};
pub use proxied::ProxyChoice;
pub use retry::RetryPolicy;
