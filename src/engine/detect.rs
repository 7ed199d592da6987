//! Which shard this process is, read from the environment a batch engine sets: what was
//! found ([`Detected`]) and the order engines are looked for ([`detect_engine`]). Each
//! engine's variables are read in `detect_read.rs`.

use std::fmt;

use super::detect_read as read;
use super::shard::Shard;
use crate::Result;

/// The environment variable that gives the shard count where the engine does not tell a task
/// its array's size (a Kubernetes Indexed Job's `completions`, a PBS Pro or Torque array's
/// size), read by the CLI when `--shard-count` is not given.
pub const SHARD_COUNT_ENV: &str = "JOBSPLIT_SHARD_COUNT";

/// A batch engine found in the environment, with the values that made the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detected {
    /// A task of a Slurm job array.
    Slurm {
        /// `SLURM_ARRAY_JOB_ID`, the array's job id, when set.
        array_job_id: Option<String>,
        /// `SLURM_ARRAY_TASK_ID`, this task's id in the array.
        task_id: u64,
        /// `SLURM_ARRAY_TASK_MIN`, the array's lowest task id.
        task_min: u64,
        /// `SLURM_ARRAY_TASK_MAX`, the array's highest task id.
        task_max: u64,
        /// `SLURM_ARRAY_TASK_COUNT`, how many tasks the array has.
        task_count: u64,
    },
    /// A task of a Grid Engine array job (`qsub -t FIRST-LAST:STEP`; SGE, Son of Grid
    /// Engine, Open Cluster Scheduler, Altair Grid Engine).
    GridEngine {
        /// `JOB_ID`, the array job's id, when set.
        job_id: Option<String>,
        /// `SGE_TASK_ID`, this task's id.
        task_id: u64,
        /// `SGE_TASK_FIRST`, the first task id of `-t`.
        first: u64,
        /// `SGE_TASK_LAST`, the last id as given to `-t` (with a step it need not be a
        /// task id: `-t 1-9:3` runs 1, 4 and 7 and sets 9).
        last: u64,
        /// `SGE_TASK_STEPSIZE`, the step between task ids (1 without one).
        step: u64,
    },
    /// A subjob of a PBS Pro or OpenPBS array job (`qsub -J 0-{N-1}`).
    PbsPro {
        /// `PBS_ARRAY_ID`, the array job's id (`1234[].server`), when set.
        array_id: Option<String>,
        /// `PBS_ARRAY_INDEX`, this subjob's index: the shard index.
        array_index: u64,
        /// The array's size, from `--shard-count` or `JOBSPLIT_SHARD_COUNT` (PBS does not
        /// tell a subjob).
        count: u64,
    },
    /// A task of a Torque array job (`qsub -t 0-{N-1}`).
    Torque {
        /// `PBS_JOBID`, this task's job id (`1234[2].server`), when set.
        job_id: Option<String>,
        /// `PBS_ARRAYID`, this task's index: the shard index.
        array_id: u64,
        /// The array's size, from `--shard-count` or `JOBSPLIT_SHARD_COUNT` (Torque does
        /// not tell a task).
        count: u64,
    },
    /// An element of an LSF job array (`bsub -J 'name[FIRST-LAST:STEP]'`).
    Lsf {
        /// `LSB_JOBID`, the array's job id, when set.
        job_id: Option<String>,
        /// `LSB_JOBINDEX`, this element's index.
        job_index: u64,
        /// The first index: from the index list in `LSB_JOBNAME` (`name[5-8]`), else 1,
        /// LSF's default start.
        first: u64,
        /// The last index: from `LSB_JOBNAME`'s index list, else `LSB_JOBINDEX_END`.
        last: u64,
        /// The step: from `LSB_JOBNAME`'s index list, else `LSB_JOBINDEX_STEP` (1 when
        /// unset).
        step: u64,
    },
    /// A pod of a Kubernetes Indexed Job.
    Kubernetes {
        /// `JOB_COMPLETION_INDEX`, this pod's completion index.
        completion_index: u64,
        /// The Job's number of completions, from `--shard-count` or `JOBSPLIT_SHARD_COUNT`.
        completions: u64,
    },
}

impl Detected {
    /// The shard this task runs:
    ///
    /// | engine | index | count |
    /// | --- | --- | --- |
    /// | Slurm | `task_id - task_min` | `task_count` |
    /// | Grid Engine, LSF | `(id - first) / step` | `(last - first) / step + 1` |
    /// | PBS Pro, Torque | the array index | the shard count given |
    /// | Kubernetes | `completion_index` | `completions` |
    #[must_use]
    pub fn shard(&self) -> Shard {
        let stepped = |id: u64, first: u64, last: u64, step: u64| {
            let step = step.max(1);
            Shard {
                index: id.saturating_sub(first) / step,
                count: last.saturating_sub(first) / step + 1,
            }
        };
        match *self {
            Detected::Slurm {
                task_id,
                task_min,
                task_count,
                ..
            } => Shard {
                index: task_id.saturating_sub(task_min),
                count: task_count,
            },
            Detected::GridEngine {
                task_id,
                first,
                last,
                step,
                ..
            } => stepped(task_id, first, last, step),
            Detected::Lsf {
                job_index,
                first,
                last,
                step,
                ..
            } => stepped(job_index, first, last, step),
            Detected::PbsPro {
                array_index: index,
                count,
                ..
            }
            | Detected::Torque {
                array_id: index,
                count,
                ..
            }
            | Detected::Kubernetes {
                completion_index: index,
                completions: count,
            } => Shard { index, count },
        }
    }

    /// The engine's name: `"Slurm"`, `"Grid Engine"`, `"PBS Pro"`, `"Torque"`, `"LSF"` or
    /// `"Kubernetes"`.
    #[cfg(test)]
    #[must_use]
    pub fn engine(&self) -> &'static str {
        match self {
            Detected::Slurm { .. } => "Slurm",
            Detected::GridEngine { .. } => "Grid Engine",
            Detected::PbsPro { .. } => "PBS Pro",
            Detected::Torque { .. } => "Torque",
            Detected::Lsf { .. } => "LSF",
            Detected::Kubernetes { .. } => "Kubernetes",
        }
    }
}

impl fmt::Display for Detected {
    /// One line for a log, e.g. `Slurm array job 1234, task 3 (ids 0..=3): shard 3/4` or
    /// `Grid Engine array job 77, task 7 (ids 1..=9 step 3): shard 2/3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let job = |f: &mut fmt::Formatter<'_>, id: &Option<String>| match id {
            Some(id) => write!(f, " {id},"),
            None => Ok(()),
        };
        let range = |f: &mut fmt::Formatter<'_>, first: u64, last: u64, step: u64| {
            write!(f, "{first}..={last}")?;
            if step != 1 {
                write!(f, " step {step}")?;
            }
            Ok(())
        };
        match self {
            Detected::Slurm {
                array_job_id,
                task_id,
                task_min,
                task_max,
                ..
            } => {
                write!(f, "Slurm array")?;
                if let Some(id) = array_job_id {
                    write!(f, " job {id},")?;
                }
                write!(f, " task {task_id} (ids {task_min}..={task_max})")?;
            }
            Detected::GridEngine {
                job_id,
                task_id,
                first,
                last,
                step,
            } => {
                write!(f, "Grid Engine array job")?;
                job(f, job_id)?;
                write!(f, " task {task_id} (ids ")?;
                range(f, *first, *last, *step)?;
                write!(f, ")")?;
            }
            Detected::PbsPro {
                array_id,
                array_index,
                ..
            } => {
                write!(f, "PBS Pro array job")?;
                job(f, array_id)?;
                write!(f, " subjob {array_index}")?;
            }
            Detected::Torque {
                job_id, array_id, ..
            } => {
                write!(f, "Torque array job")?;
                job(f, job_id)?;
                write!(f, " task {array_id}")?;
            }
            Detected::Lsf {
                job_id,
                job_index,
                first,
                last,
                step,
            } => {
                write!(f, "LSF job array")?;
                job(f, job_id)?;
                write!(f, " element {job_index} (indices ")?;
                range(f, *first, *last, *step)?;
                write!(f, ")")?;
            }
            Detected::Kubernetes {
                completion_index, ..
            } => write!(
                f,
                "Kubernetes Indexed Job, completion index {completion_index}"
            )?,
        }
        write!(f, ": shard {}", self.shard())
    }
}

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
pub fn detect_engine(
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
