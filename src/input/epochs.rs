//! A job list that grows (docs/split-v1.md section 7): the list cut into the epochs its epochs
//! file records (and one more as a run asks), checked against them, and the epochs to record.
//! The file's codec: `epochs_file.rs`.

use std::path::{Path, PathBuf};

use super::epochs_file::{append, epochs_path, read_epochs, EpochRecord, Recorded};
use super::format::Format;
use super::jobs::JobList;
use crate::error::{Error, Result};
use crate::plan::{list_digest, Digest, EpochSpan};

/// What to do with jobs after the last recorded epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grow {
    /// Make the finished pending jobs a new epoch (to be recorded by `record_epochs`): `run`.
    pub pending: bool,
    /// Without an epochs file: epoch 0's length, from an earlier run's output (its manifest),
    /// when the list now holds more jobs.
    pub first_epoch: Option<u64>,
}

/// How a job list is cut into epochs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    /// Every epoch: those the file records, then any new one.
    pub epochs: Vec<EpochRecord>,
    /// How many of `epochs` the file records already.
    pub recorded: usize,
    /// Jobs after the last epoch: not in any plan yet.
    pub pending: u64,
    /// The epochs file.
    pub file: PathBuf,
}

impl Growth {
    /// The epochs' spans, in order.
    pub fn spans(&self) -> Vec<EpochSpan> {
        self.epochs.iter().map(|e| e.span).collect()
    }
}

/// Reads the list at `path` with its epochs (the list cut to the jobs of its epochs). Without an epochs file (and without
/// `grow.first_epoch` below the list's length) the list is one epoch, read exactly as
/// [`JobList::load`] reads it.
///
/// # Errors
/// As [`JobList::load`]; an epochs file that does not read; a list that no longer holds the
/// jobs its epochs record (edited, shortened): one line naming the list, the epoch and the fix.
pub fn load_growing(path: &Path, format: Format, grow: Grow) -> Result<(JobList, Growth)> {
    let file = epochs_path(path);
    let records = read_epochs(&file)?;
    if records.is_none() && grow.first_epoch.is_none() {
        return Ok(one_epoch(JobList::load(path, format)?, file));
    }
    let list = JobList::load_growing(path, format)?;
    cut(list, file, records, grow, |_| JobList::load(path, format))
}

/// The jobs a program supplies (a `Splitter`'s items) with the epochs recorded for them in
/// `file`: the same rule as [`load_growing`] for a list read from a file.
///
/// # Errors
/// As [`load_growing`].
pub(crate) fn grow_items(list: JobList, file: PathBuf, grow: Grow) -> Result<(JobList, Growth)> {
    let records = read_epochs(&file)?;
    cut(list, file, records, grow, Ok)
}

/// A list of one epoch: nothing to record, so its list digest is not computed.
fn one_epoch(list: JobList, file: PathBuf) -> (JobList, Growth) {
    let epochs = vec![EpochRecord {
        span: EpochSpan {
            first: 0,
            jobs: list.len(),
        },
        list_digest: None,
    }];
    let growth = Growth {
        epochs,
        recorded: 1,
        pending: 0,
        file,
    };
    (list, growth)
}

/// `list` cut into the epochs `records` holds (from `file`), and one more as `grow` says;
/// `whole` reads the list as one epoch when it turns out to be one (a file strictly again).
fn cut(
    mut list: JobList,
    file: PathBuf,
    records: Option<Vec<EpochRecord>>,
    grow: Grow,
    whole: impl FnOnce(JobList) -> Result<JobList>,
) -> Result<(JobList, Growth)> {
    let first_epoch = grow.first_epoch.filter(|_| records.is_none());
    if records.is_none() && first_epoch.is_none() {
        return Ok(one_epoch(whole(list)?, file));
    }
    let mut epochs = records.unwrap_or_default();
    check(&list, &epochs, &file)?;
    let recorded = epochs.len();
    if let Some(n0) = first_epoch {
        if n0 == 0 || n0 >= list.terminated() {
            return Ok(one_epoch(whole(list)?, file));
        }
        epochs = extend(&list, &epochs, n0);
    }
    let end = epochs.last().map_or(0, |e| e.span.end());
    let ready = list.terminated();
    if grow.pending && ready > end {
        epochs = extend(&list, &epochs, ready);
    }
    let end = epochs.last().map_or(0, |e| e.span.end());
    let pending = list.len() - end;
    list.truncate(end);
    let growth = Growth {
        epochs,
        recorded,
        pending,
        file,
    };
    Ok((list, growth))
}

/// `epochs` and one more epoch ending at job `end`, with its list digest.
fn extend(list: &JobList, epochs: &[EpochRecord], end: u64) -> Vec<EpochRecord> {
    let mut out = hashed(list, epochs);
    let (first, previous) = out
        .last()
        .map_or((0, None), |e| (e.span.end(), e.list_digest));
    let previous = previous.unwrap_or(Digest([0; 32]));
    let span = EpochSpan {
        first,
        jobs: end - first,
    };
    let bytes = (first..end).map(|i| list.job_bytes(i));
    out.push(EpochRecord {
        span,
        list_digest: Some(list_digest(&previous, span, bytes)),
    });
    out
}

/// `epochs` with every list digest computed (those not computed yet, in chain order).
fn hashed(list: &JobList, epochs: &[EpochRecord]) -> Vec<EpochRecord> {
    let mut previous = Digest([0; 32]);
    let mut out = Vec::with_capacity(epochs.len() + 1);
    for r in epochs {
        let digest = r.list_digest.unwrap_or_else(|| {
            let bytes = (r.span.first..r.span.end()).map(|i| list.job_bytes(i));
            list_digest(&previous, r.span, bytes)
        });
        out.push(EpochRecord {
            span: r.span,
            list_digest: Some(digest),
        });
        previous = digest;
    }
    out
}

/// `growth` to be written to a new epochs file from its first epoch on (`launch` records a
/// list read as one epoch, so that the hosts' later runs see it grow): every list digest
/// computed, none recorded.
pub(crate) fn hashed_from_start(list: &JobList, growth: Growth) -> Growth {
    Growth {
        epochs: hashed(list, &growth.epochs),
        recorded: 0,
        ..growth
    }
}

/// Refuses a list that does not reproduce every recorded epoch.
fn check(list: &JobList, records: &[EpochRecord], file: &Path) -> Result<()> {
    let path = list.path().display();
    let fix = format!(
        "a job list grows only by appending jobs at its end: restore the earlier jobs, or start a new study (move {} and the output aside)",
        file.display()
    );
    let Some(last) = records.last() else {
        return Ok(());
    };
    if list.len() < last.span.end() {
        return Err(Error::epochs(
            Some(list.path()),
            None,
            format!(
                "{path} holds {} jobs but {} records {} in {} epochs: it was shortened; {fix}",
                list.len(),
                file.display(),
                last.span.end(),
                records.len()
            ),
        ));
    }
    let mut previous = Digest([0; 32]);
    for (e, r) in records.iter().enumerate() {
        let bytes = (r.span.first..r.span.end()).map(|i| list.job_bytes(i));
        let digest = list_digest(&previous, r.span, bytes);
        if Some(digest) != r.list_digest {
            return Err(Error::epochs(
                Some(list.path()),
                list.line_of(r.span.first),
                format!(
                    "epoch {e} (jobs {} to {}) is not what {} records: the list was edited; {fix}",
                    r.span.first,
                    r.span.end() - 1,
                    file.display()
                ),
            ));
        }
        previous = digest;
    }
    Ok(())
}

/// Records the epochs of `growing` that the file does not hold yet, under an exclusive lock
/// on the file, if the file still holds exactly the epochs it held when the list was read.
///
/// # Errors
/// If the file cannot be created, locked, read or written.
pub(crate) fn record_epochs(growing: &Growth) -> Result<Recorded> {
    if growing.recorded >= growing.epochs.len() {
        return Ok(Recorded::Done);
    }
    if growing.epochs[growing.recorded..]
        .iter()
        .any(|r| r.list_digest.is_none())
    {
        return Err(Error::Internal {
            message: format!(
                "an epoch of {} to record has no list digest",
                growing.file.display()
            ),
        });
    }
    append(&growing.file, &growing.epochs, growing.recorded)
}
