//! Whether a job list grew past a plan: what a follower (`run --follow`) waits for, cheaply
//! (a `stat` of the list and its epochs file, and a read only when one changed).

use std::path::Path;
use std::time::SystemTime;

use super::epochs_file::{epochs_path, read_epochs};
use super::format::Format;
use super::jobs::JobList;

/// What tells a changed list or epochs file cheaply: their sizes and modification times.
pub(crate) type Stamp = Option<[(u64, Option<SystemTime>); 2]>;

/// The stamp of the list at `path` and its epochs file now.
pub(crate) fn stamp(path: &Path) -> Stamp {
    let of = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    Some([of(path)?, of(&epochs_path(path)).unwrap_or((0, None))])
}

/// True when the list at `path` holds more finished jobs than a plan of `jobs` jobs in
/// `epochs` epochs, or its epochs file more epochs and the list their jobs. A list that does
/// not read now (being rewritten?), or an epochs file ahead of its list (`launch` ships the
/// epochs file first, the list a moment later), has not grown yet.
pub(crate) fn grew(path: &Path, format: Format, jobs: u64, epochs: usize) -> bool {
    let recorded = read_epochs(&epochs_path(path)).ok().flatten();
    let Ok(list) = JobList::load_growing(path, format) else {
        return false;
    };
    match recorded {
        Some(r) if r.len() > epochs => r.last().is_some_and(|e| list.len() >= e.span.end()),
        _ => list.terminated() > jobs,
    }
}

/// Watches a job list for growth past a plan, reading it only when its stamp changed.
#[derive(Debug)]
pub(crate) struct GrowthWatch {
    seen: Stamp,
}

impl GrowthWatch {
    /// Nothing seen yet: the first look reads the list.
    pub(crate) fn new() -> GrowthWatch {
        GrowthWatch { seen: None }
    }

    /// True when the list at `path` grew past a plan of `jobs` jobs in `epochs` epochs
    /// ([`grew`]), read only if it changed since the last look.
    pub(crate) fn grew(&mut self, path: &Path, format: Format, jobs: u64, epochs: usize) -> bool {
        let now = stamp(path);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        grew(path, format, jobs, epochs)
    }
}
