//! Events the runner emits; reporters (progress bar, plain lines, summary) turn them into output.
//! The library never prints.

use std::time::Duration;

use crate::model::Status;

/// Something that happened during a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The share is known and jobs are about to start.
    Started {
        /// This machine's name.
        machine: &'a str,
        /// Jobs in the share.
        share: u64,
        /// Jobs skipped because an earlier run finished them.
        skipped: u64,
        /// Worker threads.
        threads: usize,
    },
    /// An attempt started.
    JobStarted {
        /// The job's index.
        index: u64,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// An attempt ended.
    JobFinished {
        /// The job's index.
        index: u64,
        /// 1 for the first attempt.
        attempt: u32,
        /// How it ended.
        outcome: Status,
        /// How long it ran.
        duration: Duration,
        /// Why it failed, if it did.
        error: Option<&'a str>,
        /// True if another attempt follows.
        retrying: bool,
    },
    /// A library job reported its progress.
    JobProgress {
        /// The job's index.
        index: u64,
        /// 0.0 to 1.0.
        fraction: f64,
    },
    /// A warning worth showing (a repaired results file, say).
    Warning(&'a str),
}
