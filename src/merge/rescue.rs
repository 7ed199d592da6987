//! Reading a merge output back for a rescue plan: which jobs are already ok (through the one
//! results reader).

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::results::ResultsReader;

/// What a rescue needs from a merge output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescue {
    /// The work digest the merge covers.
    pub work_digest: String,
    /// Jobs in the work.
    pub jobs_total: u64,
    /// Ascending indices of the jobs with an ok row: the rescue plan excludes them.
    pub ok: Vec<u64>,
    /// Ascending indices of the jobs the user cancelled (`jobsplit cancel`; their row in the
    /// merge is `cancelled`): the rescue plan excludes them too.
    pub cancelled: Vec<u64>,
}

impl Rescue {
    /// Ascending indices the rescue plan leaves out: the ok jobs and the cancelled ones.
    pub fn excluded(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.ok.iter().chain(&self.cancelled).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Reads `summary.json` and `results.csv` of a merge output directory.
///
/// # Errors
/// If either is missing or malformed, or they disagree.
pub fn load_rescue(merged: &Path) -> Result<Rescue> {
    let summary = super::Summary::read(merged)?;
    let path = merged.join("results.csv");
    let mut reader = ResultsReader::open(&path)?;
    let mut ok = Vec::new();
    let mut cancelled = Vec::new();
    while let Some(row) = reader.next_row()? {
        if row.index >= summary.jobs_total {
            return Err(Error::damaged(
                Some(&path),
                Some(row.line),
                format!(
                    "job index {} is beyond the work's {} jobs: run `jobsplit merge` again",
                    row.index, summary.jobs_total
                ),
            ));
        }
        match row.status {
            Status::Ok => ok.push(row.index),
            Status::Cancelled => cancelled.push(row.index),
            _ => {}
        }
    }
    // A merge writes its files whole: a row cut short means a damaged file, and skipping it
    // would run an ok job again.
    if let Some(w) = reader.take_warnings().into_iter().next() {
        return Err(Error::damaged(
            Some(&path),
            None,
            format!("is damaged ({w}): run `jobsplit merge` again"),
        ));
    }
    ok.sort_unstable();
    ok.dedup();
    cancelled.sort_unstable();
    cancelled.dedup();
    cancelled.retain(|i| ok.binary_search(i).is_err());
    Ok(Rescue {
        work_digest: summary.work_digest,
        jobs_total: summary.jobs_total,
        ok,
        cancelled,
    })
}
