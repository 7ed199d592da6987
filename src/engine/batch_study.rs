//! What a study's batch scripts say of the study whatever the batch system: the part of
//! [`SlurmScriptOptions`](super::SlurmScriptOptions) and
//! [`SgeScriptOptions`](super::SgeScriptOptions) they share, each of which says how its
//! system spells it.

use std::path::PathBuf;

/// The study a batch system's scripts run: its array, binary, input, directories and time
/// limits. Relative paths are relative to `workdir` (where the tasks run); the CLI sets
/// `workdir` to the directory the script command ran in, so paths mean what they meant on its
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct BatchStudy {
    /// The job name; the merge job is named `{job_name}-merge`, the rescue
    /// `{job_name}-rescue`.
    pub job_name: String,
    /// How many shards: one array task each.
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
    /// The directory the tasks run in; `None` runs them where the job is submitted.
    pub workdir: Option<PathBuf>,
    /// The output directory: shard `I` writes `out/shard-I/`, and the tasks' logs go there.
    pub out: PathBuf,
    /// Where the merge writes `results.csv` and `missing.txt`; outside `out`.
    pub merged: PathBuf,
    /// The time limit of each array task: the system's own forms as written, or a duration
    /// with a unit (`90m`, `2h30m`, `1d`) converted to them; a bare number is refused. `None`
    /// takes the partition's or queue's default.
    pub time: Option<String>,
    /// The time limit of the merge job, in the same forms; `None` takes `time`.
    pub merge_time: Option<String>,
}

impl BatchStudy {
    /// A study of `shards` shards, with defaults: job name `jobsplit`, binary `jobsplit`
    /// from `PATH`, output `out`, merge into `merged`, and the system's time limit. Set
    /// `config` or `jobs` before use.
    #[must_use]
    pub(crate) fn new(shards: u64) -> BatchStudy {
        BatchStudy {
            job_name: "jobsplit".to_owned(),
            shards,
            jobsplit: PathBuf::from("jobsplit"),
            config: None,
            jobs: None,
            run_args: Vec::new(),
            workdir: None,
            out: PathBuf::from("out"),
            merged: PathBuf::from("merged"),
            time: None,
            merge_time: None,
        }
    }
}
