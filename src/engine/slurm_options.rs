//! What `jobsplit slurm-script` needs to write a study's Slurm scripts.

use std::path::PathBuf;
use std::time::Duration;

/// What [`slurm_files`](crate::engine::slurm_files) needs to write the scripts of a study.
///
/// Build it with [`SlurmScriptOptions::new`] and set the fields that differ from the
/// defaults. Relative paths are relative to `workdir` (where the tasks run); the CLI sets
/// `workdir` to the directory `jobsplit slurm-script` ran in, so paths mean what they meant
/// on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct SlurmScriptOptions {
    /// The Slurm job name (`--job-name`); the merge job is named `{job_name}-merge`.
    pub job_name: String,
    /// How many shards, so array tasks `0..shards` (`--array=0-{shards-1}`).
    pub shards: u64,
    /// The jobsplit binary the tasks run: a path every compute node can reach (a shared
    /// file system), or a bare name found on the nodes' `PATH`.
    pub jobsplit: PathBuf,
    /// The study's config file (`jobsplit run --config`).
    pub config: Option<PathBuf>,
    /// The job list (`jobsplit run --jobs`), when not named by the config.
    pub jobs: Option<PathBuf>,
    /// More arguments for `jobsplit run`, each one word (quoted in the script).
    pub run_args: Vec<String>,
    /// The directory the tasks run in (`#SBATCH --chdir`); `None` runs them where `sbatch`
    /// is called (Slurm's default).
    pub workdir: Option<PathBuf>,
    /// The output directory: shard `I` writes `out/shard-I/`, Slurm logs go to
    /// `out/slurm-{array job}_{task}.out`.
    pub out: PathBuf,
    /// Where the merge writes `results.csv` and `missing.txt`; outside `out`.
    pub merged: PathBuf,
    /// CPUs per array task (`--cpus-per-task`); jobsplit runs that many jobs at once,
    /// read from `SLURM_CPUS_PER_TASK`.
    pub cpus_per_task: u32,
    /// The time limit of each array task (`--time`): Slurm's forms (`MM:SS`, `HH:MM:SS`,
    /// `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) as written, or a duration with a unit (`90m`,
    /// `2h30m`, `1d`) converted to them; a bare number is refused ([`slurm_time`]). `None`
    /// takes the partition's default.
    ///
    /// [`slurm_time`]: crate::engine::slurm_time
    pub time: Option<String>,
    /// The time limit of the merge job, in the same forms; `None` takes `time`.
    pub merge_time: Option<String>,
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
    /// Options for a study of `shards` shards, with defaults: job name `jobsplit`, binary
    /// `jobsplit` from `PATH`, output `out`, merge into `merged`, 1 CPU per task, and the
    /// partition's time limit. Set `config` or `jobs` before use.
    #[must_use]
    pub(crate) fn new(shards: u64) -> SlurmScriptOptions {
        SlurmScriptOptions {
            job_name: "jobsplit".to_owned(),
            shards,
            jobsplit: PathBuf::from("jobsplit"),
            config: None,
            jobs: None,
            run_args: Vec::new(),
            workdir: None,
            out: PathBuf::from("out"),
            merged: PathBuf::from("merged"),
            cpus_per_task: 1,
            time: None,
            merge_time: None,
            stop_before: None,
            requeue: false,
            partition: None,
            extra_sbatch: Vec::new(),
        }
    }
}
