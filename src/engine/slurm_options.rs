//! What `jobsplit slurm-script` needs to write a study's Slurm scripts.

use std::time::Duration;

use super::batch_study::BatchStudy;

/// What [`slurm_files`](crate::engine::slurm_files) needs to write the scripts of a study.
///
/// Build it with [`SlurmScriptOptions::new`] and set the fields that differ from the
/// defaults. How Slurm spells the study's part ([`BatchStudy`]): the job name is
/// `--job-name`; array tasks are `0..shards` (`--array=0-{shards-1}`); `workdir` is
/// `#SBATCH --chdir` (`None`: where `sbatch` is called, Slurm's default); the tasks' logs are
/// `out/slurm-{array job}_{task}.out`; `time` is `--time`, in Slurm's forms (`MM:SS`,
/// `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) as written or converted from a duration
/// ([`slurm_time`]), `None` taking the partition's default.
///
/// [`slurm_time`]: crate::engine::slurm_time
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct SlurmScriptOptions {
    /// The study, as every batch system's scripts run it.
    pub study: BatchStudy,
    /// CPUs per array task (`--cpus-per-task`); jobsplit runs that many jobs at once,
    /// read from `SLURM_CPUS_PER_TASK`.
    pub cpus_per_task: u32,
    /// How long before the time limit Slurm sends SIGTERM to jobsplit
    /// (`#SBATCH --signal=B:TERM@SECONDS`), so that it stops its jobs, records them and exits
    /// before Slurm's SIGKILL; a rerun resumes. `None` takes [`DEFAULT_STOP_BEFORE`](crate::engine::DEFAULT_STOP_BEFORE) (or
    /// half of `time` when that is shorter); zero writes no `--signal`. Slurm may send it up
    /// to a minute earlier than asked.
    pub stop_before: Option<Duration>,
    /// `#SBATCH --requeue`: Slurm may requeue a task after a node failure or a preemption;
    /// the requeued task resumes its shard, and its log (`--open-mode=append`) keeps every
    /// attempt.
    pub requeue: bool,
    /// The partition (`--partition`); `None` takes the cluster's default.
    pub partition: Option<String>,
    /// More `#SBATCH` options for every job (array, merge, rescue), such as `--account=abc`
    /// or `--mem=8G`; a leading `#SBATCH` is optional.
    pub extra_sbatch: Vec<String>,
}

impl SlurmScriptOptions {
    /// Options for a study of `shards` shards, with the defaults of [`BatchStudy::new`], 1
    /// CPU per task, and the partition's time limit. Set `config` or `jobs` before use.
    #[must_use]
    pub(crate) fn new(shards: u64) -> SlurmScriptOptions {
        SlurmScriptOptions {
            study: BatchStudy::new(shards),
            cpus_per_task: 1,
            stop_before: None,
            requeue: false,
            partition: None,
            extra_sbatch: Vec::new(),
        }
    }
}
