//! `jobsplit launch` on a job list that grows (docs/remote.md, docs/split-v1.md section 7.1):
//! the laptop never runs the study, so `launch` records the list's epochs here with the rule
//! `run` uses, and ships the epochs file with the list.

use anyhow::Result;

use super::args::RemoteArgs;
use super::run_epochs::{record_growth, RUN_GROWS};
use crate::input::{hashed_from_start, read_epochs, Recorded};

/// Records the epochs of the job list `launch` ships that its epochs file does not hold yet
/// (true when it wrote any):
/// the finished jobs appended since the last launch become the next epoch. Without an epochs
/// file the whole list is recorded as epoch 0, since no run here will ever tell later where it
/// ended. Nothing for a list read from standard input.
///
/// # Errors
/// A list that does not read or was edited (one line, nothing written), an epochs file that
/// cannot be written, or other runs recording epochs of the list all the time.
pub(super) fn record(args: &RemoteArgs) -> Result<bool> {
    for _ in 0..5 {
        let study = super::resolve::study_with(&args.input, None, &[], None, RUN_GROWS)?;
        let Some(mut growth) = study.growth else {
            return Ok(false);
        };
        if read_epochs(&growth.file)?.is_none() {
            growth = hashed_from_start(study.work.jobs(), growth);
        }
        if record_growth(&growth, false)? == Recorded::Done {
            return Ok(growth.recorded < growth.epochs.len());
        }
    }
    Err(
        crate::Error::locked("other runs keep recording epochs of this job list: launch again")
            .into(),
    )
}
