//! The seam between scheduling and running: the runner asks an [`Executor`] to run one attempt,
//! so scheduling, resume and reporting are tested with a fake and no processes.

use std::time::{Duration, Instant};

use super::attempt::Attempt;
use super::cancel::{Cancel, Level};
use super::supervisor::{Exit, Stop};
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

/// How long a job killed by a stop signal waits for the run to be signalled too (see
/// [`Control::signalled_with_the_run`]): signals sent together arrive within milliseconds; a
/// job killed by hand with no stop of the run costs this much once, at its end.
pub(crate) const SIGNAL_WINDOW: Duration = Duration::from_secs(1);

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

    /// Why a job stopped because [`Control::cancelled`] is true was stopped: [`Stop::Cancelled`]
    /// when the user cancelled this job, else [`Stop::Interrupted`].
    pub fn stop(&self) -> Stop {
        if self.job.is_some_and(Cancel::is_cancelled) {
            Stop::Cancelled
        } else {
            Stop::Interrupted
        }
    }

    /// How a job stopped because [`Control::cancelled`] is true ends: [`Status::Cancelled`] when
    /// the user cancelled this job, else [`Status::Interrupted`].
    pub fn stopped_status(&self) -> Status {
        self.stop().status()
    }

    /// The `error` of an attempt stopped because [`Control::cancelled`] is true.
    pub fn stopped_error(&self) -> String {
        Exit::Stopped(self.stop()).to_string()
    }

    /// True when a job that died of `signal` while nobody here stopped it was signalled together
    /// with the run: Slurm's requeue or `scancel`, a container's stop and a terminal's Ctrl-C send
    /// SIGTERM, SIGINT or SIGHUP to every process at once, and the job may die before the run's
    /// own handler has marked it stopping. Such a job was interrupted, not failed: it waits up to
    /// `SIGNAL_WINDOW` (a second) for the run's cancellation before saying no.
    pub fn signalled_with_the_run(&self, signal: i32) -> bool {
        if ![libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&signal) {
            return false;
        }
        let until = Instant::now() + SIGNAL_WINDOW;
        loop {
            if self.cancel.is_cancelled() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
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

impl Control<'static> {
    /// Limits with no cancellation: only `timeout`, and no grace period (a notify command, a
    /// worker ended after the run).
    pub(crate) fn only_timeout(timeout: Option<Duration>) -> Control<'static> {
        static NEVER: Cancel = Cancel::new();
        Control {
            cancel: &NEVER,
            timeout,
            grace: Duration::ZERO,
            job: None,
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
