//! The one resume decision: what an existing results.csv says about a job of a share. A job with
//! an ok row, or whose last row is `cancelled`, is not run again unless `--rerun` names it
//! (docs/output-format.md, *Resume*). The runner, the stealing source and `--dry-run` all ask
//! [`Existing::decide`]; the scan that fills [`Existing`] is the writer's resume scan.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::data::Data;
use super::reader::ResultsReader;
use crate::error::Result;
use crate::model::Status;

/// What an existing results.csv already holds.
#[derive(Debug, Default)]
pub struct Existing {
    /// Rows read.
    pub rows: u64,
    /// Keys with an ok row.
    pub ok_keys: HashSet<String>,
    /// The highest attempt number per key.
    pub attempts: HashMap<String, u32>,
    /// Keys whose last row is `cancelled` (`jobsplit cancel`): a resume does not run them.
    pub cancelled_keys: HashSet<String>,
    /// Bytes cut from a row torn by a crash.
    pub repaired_bytes: u64,
}

impl Existing {
    /// Reads what the results.csv at `path` holds, writing nothing (a torn last row is left as
    /// it is; `run` cuts it).
    ///
    /// # Errors
    /// A results.csv that cannot be read or is not one.
    pub fn read(path: &Path) -> Result<Existing> {
        let mut existing = Existing::default();
        scan(path, &mut existing)?;
        Ok(existing)
    }
}

/// What a run does with one job, by [`Existing::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run it (again).
    Run,
    /// It has an ok row: skipped.
    SkipOk,
    /// Its last row is `cancelled` (`jobsplit cancel`): not run again.
    SkipCancelled,
}

impl Existing {
    /// The resume decision for the job with key `key` (16 hex digits): skip it if it is ok or
    /// its last row is `cancelled`, unless `rerun` (`--rerun` names it).
    pub fn decide(&self, key: &str, rerun: bool) -> Decision {
        if rerun {
            Decision::Run
        } else if self.ok_keys.contains(key) {
            Decision::SkipOk
        } else if self.cancelled_keys.contains(key) {
            Decision::SkipCancelled
        } else {
            Decision::Run
        }
    }

    /// True when nothing is skipped whatever the key (no ok and no cancelled row): a caller
    /// may then run every job without computing keys.
    pub fn skips_nothing(&self) -> bool {
        self.ok_keys.is_empty() && self.cancelled_keys.is_empty()
    }

    /// The highest attempt number recorded for `key` (0 if none).
    pub fn attempts_of(&self, key: &str) -> u32 {
        self.attempts.get(key).copied().unwrap_or(0)
    }
}

/// The end of a message about a results.csv `run` cannot append to.
pub(super) const RUN_FIX: &str = "move it away or pass --fresh";

/// Reads an existing file with the one reader: its result columns, what it holds, and where a
/// torn last row starts (the end of its last whole row), if it has one.
pub(super) fn scan(path: &Path, existing: &mut Existing) -> Result<(Vec<String>, Option<u64>)> {
    let mut reader = ResultsReader::from_data(path, Data::open(path)?, RUN_FIX)?;
    while let Some(row) = reader.next_row()? {
        existing.rows += 1;
        let key = String::from_utf8_lossy(row.cell(1)).into_owned();
        if row.status == Status::Ok {
            existing.ok_keys.insert(key.clone());
        }
        if row.status == Status::Cancelled {
            existing.cancelled_keys.insert(key.clone());
        } else {
            existing.cancelled_keys.remove(&key);
        }
        let a = existing.attempts.entry(key).or_insert(0);
        *a = (*a).max(row.attempt);
    }
    Ok((reader.columns().to_vec(), reader.torn_at()))
}
