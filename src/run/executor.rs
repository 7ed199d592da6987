//! The seam between scheduling and running: the runner asks an [`Executor`] to run one attempt,
//! so scheduling, resume and reporting are tested with a fake and no processes.

use std::time::Duration;

use super::attempt::Attempt;
use super::cancel::{Cancel, Level};
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
    /// The run's cancellation: once stopping, stop the job (SIGTERM, the grace period, SIGKILL);
    /// once killing, end it now.
    pub cancel: &'a Cancel,
    /// The attempt's time limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

impl Control<'_> {
    /// True once the run was interrupted.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// True once the running jobs are to be ended without a grace period.
    pub fn killing(&self) -> bool {
        self.cancel.level() == Level::Killing
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
