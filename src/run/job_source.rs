//! Where the worker threads take their jobs from: a job still to run, the source that hands
//! them out, and the plain source of this share's pending list in share order (the stealing
//! source is in steal/source.rs).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;
use crate::plan::JobKey;

/// A job still to run: its index, key and the attempts earlier runs made.
pub(crate) type Pending = (u64, JobKey, u32);

/// Where the workers take their jobs from: this share's pending list, or blocks claimed as
/// they go (see [`super::steal`]).
pub(crate) trait JobSource: Sync {
    /// The next job, or `None` when this run has none left (`stopped` says the run is ending).
    ///
    /// # Errors
    /// A claims directory that cannot be written or read.
    fn next(&self, stopped: &dyn Fn() -> bool) -> Result<Option<Pending>>;
}

/// The pending jobs of this share, in share order.
pub(crate) struct ListSource<'a> {
    pending: &'a [Pending],
    next: AtomicUsize,
}

impl<'a> ListSource<'a> {
    /// A source of `pending`, in order.
    pub(crate) fn new(pending: &'a [Pending]) -> Self {
        ListSource {
            pending,
            next: AtomicUsize::new(0),
        }
    }
}

impl JobSource for ListSource<'_> {
    fn next(&self, _stopped: &dyn Fn() -> bool) -> Result<Option<Pending>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(self.pending.get(n).copied())
    }
}
