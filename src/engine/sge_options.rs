//! What `jobsplit sge-script` needs to write a study's Grid Engine scripts.

use std::path::PathBuf;

/// What [`sge_files`](crate::engine::sge_files) needs to write the scripts of a study.
///
/// Build it with [`SgeScriptOptions::new`] and set the fields that differ from the
/// defaults. Relative paths are relative to `workdir` (where the tasks run); the CLI sets
/// `workdir` to the directory `jobsplit sge-script` ran in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct SgeScriptOptions {
    /// The job name (`-N`; not starting with a digit); the merge job is `{job_name}-merge`,
    /// the rescue `{job_name}-rescue`.
    pub job_name: String,
    /// How many shards: array tasks `1..=shards` (`-t 1-{shards}`; Grid Engine numbers
    /// tasks from 1), task `T` running shard `T-1`.
    pub shards: u64,
    /// The jobsplit binary the tasks run: a path every execution host can reach, or a bare
    /// name found on the hosts' `PATH`.
    pub jobsplit: PathBuf,
    /// The study's config file (`jobsplit run --config`).
    pub config: Option<PathBuf>,
    /// The job list (`jobsplit run --jobs`), when not named by the config.
    pub jobs: Option<PathBuf>,
    /// More arguments for `jobsplit run`, each one word (quoted in the script).
    pub run_args: Vec<String>,
    /// The directory the tasks run in (`-wd`); `None` runs them where `qsub` is called
    /// (`-cwd`; Grid Engine's own default is the home directory).
    pub workdir: Option<PathBuf>,
    /// The output directory: shard `I` writes `out/shard-I/`, the task logs go to
    /// `out/sge-{job id}.{task id}.out`.
    pub out: PathBuf,
    /// Where the merge writes `results.csv` and `missing.txt`; outside `out`.
    pub merged: PathBuf,
    /// The parallel environment that gives a task several slots on one host (`-pe NAME
    /// SLOTS`; `qconf -spl` lists them); `None` for one slot.
    pub pe: Option<String>,
    /// Slots per task in `pe`; jobsplit runs that many jobs at once, read from `NSLOTS`.
    pub slots: u32,
    /// The time limit of each task (`-l h_rt=`): `HH:MM:SS` as written, or a duration with a
    /// unit (`90m`, `2h30m`, `1d`); a bare number is refused ([`sge_time`](crate::engine::sge_time)). `None` takes
    /// the queue's.
    pub time: Option<String>,
    /// The time limit of the merge job, in the same forms; `None` takes `time`.
    pub merge_time: Option<String>,
    /// The queue (`-q`); `None` lets Grid Engine choose.
    pub queue: Option<String>,
    /// How many tasks of the array (and of a rescue round) may run at once (`-tc`); `None`
    /// for no limit.
    pub max_running: Option<u64>,
    /// More `#$` options for every job (array, merge, rescue), such as `-P physics` or
    /// `-l h_vmem=8G`; a leading `#$` is optional.
    pub extra_qsub: Vec<String>,
}

impl SgeScriptOptions {
    /// Options for a study of `shards` shards, with defaults: job name `jobsplit`, binary
    /// `jobsplit` from `PATH`, output `out`, merge into `merged`, one slot per task, the
    /// queue's time limit. Set `config` or `jobs` before use.
    #[must_use]
    pub(crate) fn new(shards: u64) -> SgeScriptOptions {
        SgeScriptOptions {
            job_name: "jobsplit".to_owned(),
            shards,
            jobsplit: PathBuf::from("jobsplit"),
            config: None,
            jobs: None,
            run_args: Vec::new(),
            workdir: None,
            out: PathBuf::from("out"),
            merged: PathBuf::from("merged"),
            pe: None,
            slots: 1,
            time: None,
            merge_time: None,
            queue: None,
            max_running: None,
            extra_qsub: Vec::new(),
        }
    }
}
