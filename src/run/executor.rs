//! The seam between scheduling and running: the runner asks an [`Executor`] to run one attempt,
//! so scheduling, resume and reporting are tested with a fake and no processes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::attempt::Attempt;
use crate::model::Stream;
use crate::plan::JobKey;

/// One attempt to run.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// The job's index in the job list.
    pub index: u64,
    /// Its split-v1 key.
    pub key: JobKey,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Limits an attempt runs under.
#[derive(Debug)]
pub struct Control<'a> {
    /// Set when the run is interrupted: stop the job now.
    pub cancel: &'a AtomicBool,
    /// The attempt's time limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

impl Control<'_> {
    /// True once the run was interrupted.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Runs attempts. Implementations must never panic for a job's misbehaviour: a failing job is an
/// [`Attempt`] with a failed outcome.
pub trait Executor: Sync {
    /// Runs one attempt, sending each whole output line to `log`.
    fn execute(
        &self,
        job: &JobSpec,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt;
}
