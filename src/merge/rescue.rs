//! Reading a merge output back for a rescue plan: which jobs are already ok.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Status;

/// What a rescue needs from a merge output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescue {
    /// The work digest the merge covers.
    pub work_digest: String,
    /// Jobs in the work.
    pub jobs_total: u64,
    /// Ascending indices of the jobs with an ok row: the rescue plan excludes them.
    pub ok: Vec<u64>,
}

/// Reads `summary.json` and `results.csv` of a merge output directory.
///
/// # Errors
/// If either is missing or malformed, or they disagree.
pub fn load_rescue(merged: &Path) -> Result<Rescue> {
    let summary = super::Summary::read(merged)?;
    let path = merged.join("results.csv");
    let mut reader = csv::Reader::from_path(&path).map_err(|e| csv_error(&path, e))?;
    let mut ok = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_error(&path, e))?;
        let bad = || {
            Error::invalid(
                Some(&path),
                Some(n as u64 + 2),
                "not a merged results row: run `jobsplit merge` again",
            )
        };
        let index: u64 = record.get(0).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let status: Status = record.get(3).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        if index >= summary.jobs_total {
            return Err(bad());
        }
        if status == Status::Ok {
            ok.push(index);
        }
    }
    ok.sort_unstable();
    ok.dedup();
    Ok(Rescue {
        work_digest: summary.work_digest,
        jobs_total: summary.jobs_total,
        ok,
    })
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::invalid(Some(path), None, format!("malformed CSV: {other:?}")),
    }
}
