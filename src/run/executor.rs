//! The seam between scheduling and running: the runner asks an [`Executor`] to run one attempt,
//! so scheduling, resume and reporting are tested with a fake and no processes.

use std::time::Duration;

use super::attempt::Attempt;
use super::cancel::{Cancel, Level};
use crate::model::{Status, Stream};
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
    /// This job's own cancellation (`jobsplit cancel`), when the scheduler gave it one: once
    /// stopping, the job is stopped as for the run's and recorded [`Status::Cancelled`].
    pub job: Option<&'a Cancel>,
}

impl Control<'_> {
    /// True once the run was interrupted or this job cancelled.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.job.is_some_and(Cancel::is_cancelled)
    }

    /// True once the running jobs (or this one) are to be ended without a grace period.
    pub fn killing(&self) -> bool {
        self.cancel.level() == Level::Killing
            || self.job.is_some_and(|j| j.level() == Level::Killing)
    }

    /// How a job stopped because [`Control::cancelled`] is true ends: [`Status::Cancelled`] when
    /// the user cancelled this job, else [`Status::Interrupted`].
    pub fn stopped_status(&self) -> Status {
        if self.job.is_some_and(Cancel::is_cancelled) {
            Status::Cancelled
        } else {
            Status::Interrupted
        }
    }

    /// The `error` of an attempt stopped because [`Control::cancelled`] is true.
    pub fn stopped_error(&self) -> &'static str {
        match self.stopped_status() {
            Status::Cancelled => "cancelled by jobsplit cancel",
            _ => "interrupted",
        }
    }

    /// The same limits with `job` as this job's own cancellation.
    pub fn for_job<'j>(&'j self, job: &'j Cancel) -> Control<'j> {
        Control {
            cancel: self.cancel,
            timeout: self.timeout,
            grace: self.grace,
            job: Some(job),
        }
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
