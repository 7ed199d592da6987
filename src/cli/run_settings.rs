//! What `jobsplit run` resolved ([`RunSettings`]): made once by `run_resolve.rs`, read by the
//! run and its epochs.

use std::time::Duration;

use crate::input::{Capture, Machine, Workdir};
use crate::plan::Plan;
use crate::run::{RunOptions, StealOptions};
use crate::Work;

/// Everything a run needs, resolved.
pub(crate) struct RunSettings {
    /// The work (job list, template, params, seed).
    pub(crate) work: Work,
    /// The plan.
    pub(crate) plan: Plan,
    /// How the job list is cut into epochs: new ones are recorded when the run starts.
    pub(crate) growth: Option<crate::input::Growth>,
    /// This machine's index in the plan.
    pub(crate) machine: usize,
    /// The runner's settings.
    pub(crate) opts: RunOptions,
    /// What a command job's result is when it writes no result file.
    pub(crate) capture: Capture,
    /// Where command jobs run.
    pub(crate) workdir: Workdir,
    /// The persistent worker command, when workers run the jobs.
    pub(crate) worker: Option<String>,
    /// Restart each worker after this many jobs.
    pub(crate) worker_recycle: Option<u64>,
    /// The notify command, if any.
    pub(crate) notify: Option<String>,
    /// The jobs' scheduling priority.
    pub(crate) nice: i32,
    /// Time between plain progress lines.
    pub(crate) progress_interval: Duration,
    /// No progress and no summary.
    pub(crate) quiet: bool,
    /// Ask before running (on a terminal).
    pub(crate) confirm: bool,
    /// The one line that says what will run where.
    pub(crate) headline: String,
    /// Notes worth showing before the run.
    pub(crate) notes: Vec<String>,
    /// Warnings shown before the run, even when quiet.
    pub(crate) warnings: Vec<String>,
    /// `Some` for a stealing run.
    pub(crate) steal: Option<StealOptions>,
}

impl RunSettings {
    /// This machine.
    pub(crate) fn machine(&self) -> &Machine {
        &self.plan.machines()[self.machine]
    }

    /// The name this run goes by (its rows, `$JOBSPLIT_MACHINE`): the machine's, or a
    /// helper's (`--helper NAME`, not in the plan).
    pub(crate) fn machine_name(&self) -> &str {
        match self.steal.as_ref().and_then(|s| s.helper.as_deref()) {
            Some(helper) => helper,
            None => &self.machine().name,
        }
    }
}
