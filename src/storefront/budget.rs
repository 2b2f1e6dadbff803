//! The process-wide budget of pages in flight (`sync.pages_in_flight`): every request of every
//! store takes one place before it is sent and gives it back when its answer's body is dropped
//! (for a feed page: once the page is written), so the bodies and parsed pages held at once
//! stay bounded however many stores sync. A place is one answer whatever its size, so a page
//! larger than the others still goes through. The one rule that keeps it free of deadlock:
//! nothing waits for a place while it keeps another answer's `Body` (the page writer waits for
//! none).

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The places of one process (one per client; a reloaded client starts its own).
#[derive(Debug, Clone)]
pub(super) struct Budget(Arc<Semaphore>);

impl Budget {
    pub(super) fn new(places: usize) -> Budget {
        Budget(Arc::new(Semaphore::new(places.max(1))))
    }

    /// Waits for a free place.
    pub(super) async fn take(&self) -> Place {
        let permit = self.0.clone().acquire_owned().await;
        Place {
            _permit: permit.expect("the budget's semaphore is never closed"),
        }
    }
}

/// One place in the budget, given back when dropped.
#[derive(Debug)]
pub(super) struct Place {
    _permit: OwnedSemaphorePermit,
}

/// An answer's body with its place in the budget: keep it (or `hold`) until what was read from
/// it is written, and drop it before waiting for another answer.
#[derive(Debug)]
pub struct Body {
    bytes: Bytes,
    place: Place,
}

/// A body's place in the budget, kept apart from the bytes once they are parsed.
#[derive(Debug)]
pub struct Held {
    _place: Place,
}

impl Body {
    pub(super) fn new(bytes: Bytes, place: Place) -> Body {
        Body { bytes, place }
    }

    /// The bytes and the place, to be dropped separately.
    pub fn split(self) -> (Bytes, Held) {
        (self.bytes, Held { _place: self.place })
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}
