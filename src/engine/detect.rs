//! Which shard this process is, read from the environment a batch engine sets: what was
//! found ([`Detected`]) and the order engines are looked for ([`detect_engine`]). Each
//! engine's variables are read in `detect_read.rs`.

use super::detect_read as read;
use super::detected::Detected;
use super::shard::Shard;
use crate::Result;

/// The shard this process runs, read from the environment of a batch engine's array task;
/// `Ok(None)` outside one.
///
/// This is `detect_engine` without the details; see it for the rules.
///
/// # Errors
///
/// A usage error naming the variables and their values when the environment is inconsistent;
/// see `detect_engine`.
pub fn detect(
    env: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u64>,
) -> Result<Option<Shard>> {
    Ok(detect_engine(env, shard_count)?.map(|d| d.shard()))
}

/// The batch engine this process runs under, read through `env` (the CLI passes
/// `|name| std::env::var(name).ok()`); `Ok(None)` when it is in none. A variable set to the
/// empty string counts as unset.
///
/// `shard_count` is the shard count the user gave (`--shard-count N`, or else the
/// `JOBSPLIT_SHARD_COUNT` variable; the CLI reads both). Where the engine tells the array's
/// size, a `shard_count` must equal it; where it does not, the `shard_count` is needed.
///
/// The engines, looked for in this order:
///
/// - **Slurm job array** (`SLURM_ARRAY_TASK_ID` is set): the shard is
///   `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`, so
///   `--array=0-3`, `--array=1-4` and the throttled `--array=0-3%2` are all 4 shards. The
///   task ids must be contiguous (`SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1 ==
///   SLURM_ARRAY_TASK_COUNT`): `--array=1,5,9` or `--array=0-6:2` is refused, because Slurm
///   does not say how such ids are spaced.
/// - **Grid Engine array job** (`SGE_TASK_ID` is set and not `undefined`, which Grid Engine
///   sets outside an array): task ids run from `SGE_TASK_FIRST` to `SGE_TASK_LAST` by
///   `SGE_TASK_STEPSIZE` (from 1: Grid Engine has no task 0), and the shard is the task's
///   place in that sequence: `(SGE_TASK_ID - SGE_TASK_FIRST) / SGE_TASK_STEPSIZE` of
///   `(SGE_TASK_LAST - SGE_TASK_FIRST) / SGE_TASK_STEPSIZE + 1`. So `-t 1-4`, `-t 5-8` and
///   `-t 1-7:2` (ids 1, 3, 5, 7) are all 4 shards.
/// - **PBS Pro / OpenPBS array job** (`PBS_ARRAY_INDEX` is set): the shard is
///   `PBS_ARRAY_INDEX` of `shard_count`, which must be given (PBS tells a subjob its index,
///   not the array's size), so the array must be `-J 0-{N-1}`.
/// - **Torque array job** (`PBS_ARRAYID` is set): the shard is `PBS_ARRAYID` of
///   `shard_count`, which must be given, so the array must be `-t 0-{N-1}`.
/// - **LSF job array** (`LSB_JOBINDEX` is set and not `0`, which LSF sets outside an array):
///   indices run from the first to the last index of the list in `LSB_JOBNAME`
///   (`study[1-8]`, `study[1-15:2]`, with or without a `%4` slot limit) by its step, and the
///   shard is the element's place in that sequence, as for Grid Engine. Without a list in
///   the name, the indices run from 1 (LSF's default) to `LSB_JOBINDEX_END` by
///   `LSB_JOBINDEX_STEP`. A list of several ranges (`study[1-4,9]`) is refused.
/// - **Kubernetes Indexed Job** (`JOB_COMPLETION_INDEX` is set): the shard is
///   `JOB_COMPLETION_INDEX` of `shard_count`, which must be given (Kubernetes does not tell
///   a pod the Job's `completions`).
///
/// An explicit `--shard I/N` overrides detection: the CLI does not call this function then.
///
/// # Errors
///
/// A usage error naming the variables and their values when a variable is not a whole
/// number, a variable the engine always sets is missing, the task ids are no regular
/// sequence, the task is outside its array, the index is not below the count, `shard_count`
/// disagrees with the array, or the engine does not tell the array's size and no
/// `shard_count` is given.
pub(crate) fn detect_engine(
    env: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u64>,
) -> Result<Option<Detected>> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(task_id) = get(read::SLURM_ID) {
        return read::slurm(&get, &task_id, shard_count).map(Some);
    }
    if let Some(task_id) = get(read::SGE_ID).filter(|v| v != read::SGE_UNDEFINED) {
        return read::grid_engine(&get, &task_id, shard_count).map(Some);
    }
    if let Some(index) = get(read::PBS_INDEX) {
        return read::pbs_pro(&get, &index, shard_count).map(Some);
    }
    if let Some(index) = get(read::TORQUE_ID) {
        return read::torque(&get, &index, shard_count).map(Some);
    }
    if let Some(index) = get(read::LSF_INDEX).filter(|v| v != "0") {
        return read::lsf(&get, &index, shard_count).map(Some);
    }
    if let Some(index) = get(read::K8S_INDEX) {
        return read::kubernetes(&index, shard_count).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "detect_batch_tests.rs"]
mod batch_tests;
