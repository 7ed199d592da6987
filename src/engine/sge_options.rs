//! What `jobsplit sge-script` needs to write a study's Grid Engine scripts.

use super::batch_study::BatchStudy;

/// What [`sge_files`](crate::engine::sge_files) needs to write the scripts of a study.
///
/// Build it with [`SgeScriptOptions::new`] and set the fields that differ from the
/// defaults. How Grid Engine spells the study's part ([`BatchStudy`]): the job name is `-N`
/// (not starting with a digit); array tasks are `1..=shards` (`-t 1-{shards}`; Grid Engine
/// numbers tasks from 1), task `T` running shard `T-1`; `workdir` is `-wd` (`None`: `-cwd`,
/// where `qsub` is called; Grid Engine's own default is the home directory); the tasks' logs
/// are `out/sge-{job id}.{task id}.out`; `time` is `-l h_rt=`, `HH:MM:SS` as written or
/// converted from a duration ([`sge_time`](crate::engine::sge_time)), `None` taking the
/// queue's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct SgeScriptOptions {
    /// The study, as every batch system's scripts run it.
    pub study: BatchStudy,
    /// The parallel environment that gives a task several slots on one host (`-pe NAME
    /// SLOTS`; `qconf -spl` lists them); `None` for one slot.
    pub pe: Option<String>,
    /// Slots per task in `pe`; jobsplit runs that many jobs at once, read from `NSLOTS`.
    pub slots: u32,
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
    /// Options for a study of `shards` shards, with the defaults of [`BatchStudy::new`], one
    /// slot per task, and the queue's time limit. Set `config` or `jobs` before use.
    #[must_use]
    pub(crate) fn new(shards: u64) -> SgeScriptOptions {
        SgeScriptOptions {
            study: BatchStudy::new(shards),
            pe: None,
            slots: 1,
            queue: None,
            max_running: None,
            extra_qsub: Vec::new(),
        }
    }
}
