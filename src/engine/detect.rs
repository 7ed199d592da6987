//! Which shard this process is, read from the environment a batch engine sets.

use std::fmt;

use super::shard::{check, Shard};
use crate::{Error, Result};

/// The Slurm array variables, in the order error messages name them.
const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
/// The Kubernetes Indexed Job variable.
const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

/// The environment variable that gives the shard count of a Kubernetes Indexed Job (the
/// Job's `completions`), read by the CLI when `--shard-count` is not given.
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
    /// A pod of a Kubernetes Indexed Job.
    Kubernetes {
        /// `JOB_COMPLETION_INDEX`, this pod's completion index.
        completion_index: u64,
        /// The Job's number of completions, from `--shard-count` or `JOBSPLIT_SHARD_COUNT`.
        completions: u64,
    },
}

impl Detected {
    /// The shard this task runs: `task_id - task_min` of `task_count` for Slurm,
    /// `completion_index` of `completions` for Kubernetes.
    #[must_use]
    pub fn shard(&self) -> Shard {
        match *self {
            Detected::Slurm {
                task_id,
                task_min,
                task_count,
                ..
            } => Shard {
                index: task_id - task_min,
                count: task_count,
            },
            Detected::Kubernetes {
                completion_index,
                completions,
            } => Shard {
                index: completion_index,
                count: completions,
            },
        }
    }

    /// The engine's name: `"Slurm"` or `"Kubernetes"`.
    #[must_use]
    pub fn engine(&self) -> &'static str {
        match self {
            Detected::Slurm { .. } => "Slurm",
            Detected::Kubernetes { .. } => "Kubernetes",
        }
    }
}

impl fmt::Display for Detected {
    /// One line for a log, e.g. `Slurm array job 1234, task 3 (ids 0..=3): shard 3/4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
                write!(
                    f,
                    " task {task_id} (ids {task_min}..={task_max}): shard {}",
                    self.shard()
                )
            }
            Detected::Kubernetes {
                completion_index, ..
            } => write!(
                f,
                "Kubernetes Indexed Job, completion index {completion_index}: shard {}",
                self.shard()
            ),
        }
    }
}

/// The shard this process runs, read from the environment of a Slurm job array task or a
/// Kubernetes Indexed Job pod; `Ok(None)` outside both.
///
/// This is [`detect_engine`] without the details; see it for the rules.
///
/// # Examples
///
/// ```
/// use jobsplit::engine::{detect, Shard};
///
/// let env = |name: &str| match name {
///     "SLURM_ARRAY_TASK_ID" => Some("7".to_owned()),
///     "SLURM_ARRAY_TASK_MIN" => Some("5".to_owned()),
///     "SLURM_ARRAY_TASK_MAX" => Some("8".to_owned()),
///     "SLURM_ARRAY_TASK_COUNT" => Some("4".to_owned()),
///     _ => None,
/// };
/// assert_eq!(detect(&env, None)?, Some(Shard { index: 2, count: 4 }));
/// assert_eq!(detect(&|_: &str| None, None)?, None);
/// # Ok::<(), jobsplit::Error>(())
/// ```
///
/// # Errors
///
/// A usage error naming the variables and their values when the environment is inconsistent;
/// see [`detect_engine`].
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
/// `JOBSPLIT_SHARD_COUNT` variable; the CLI reads both).
///
/// - **Slurm job array** (`SLURM_ARRAY_TASK_ID` is set): the shard is
///   `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`, so
///   `--array=0-3`, `--array=1-4` and the throttled `--array=0-3%2` are all 4 shards. The
///   task ids must be contiguous (`SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1 ==
///   SLURM_ARRAY_TASK_COUNT`): `--array=1,5,9` or `--array=0-6:2` is refused, because the
///   task ids are then no dense index. A `shard_count`, if given, must equal the array's
///   task count.
/// - **Kubernetes Indexed Job** (`JOB_COMPLETION_INDEX` is set): the shard is
///   `JOB_COMPLETION_INDEX` of `shard_count`, which must be given (Kubernetes does not tell
///   a pod the Job's `completions`).
///
/// An explicit `--shard I/N` overrides detection: the CLI does not call this function then.
///
/// # Examples
///
/// ```
/// use jobsplit::engine::{detect_engine, Detected};
///
/// let env = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "1".to_owned());
/// let found = detect_engine(&env, Some(4))?.unwrap();
/// assert_eq!(found.engine(), "Kubernetes");
/// assert_eq!(found.shard().to_string(), "1/4");
/// assert!(detect_engine(&env, None).is_err()); // the count is unknown
/// # Ok::<(), jobsplit::Error>(())
/// ```
///
/// # Errors
///
/// A usage error naming the variables and their values when a variable is not a whole
/// number, one of the Slurm variables is missing, the task ids are not contiguous, the index
/// is not below the count, `shard_count` disagrees with the Slurm array, or a Kubernetes pod
/// has no shard count.
pub fn detect_engine(
    env: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u64>,
) -> Result<Option<Detected>> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(task_id) = get(SLURM_ID) {
        return slurm(&get, &task_id, shard_count).map(Some);
    }
    if let Some(index) = get(K8S_INDEX) {
        return kubernetes(&index, shard_count).map(Some);
    }
    Ok(None)
}

fn slurm(
    get: &dyn Fn(&str) -> Option<String>,
    task_id: &str,
    shard_count: Option<u64>,
) -> Result<Detected> {
    let value = |name: &str| -> Result<u64> {
        let Some(text) = get(name) else {
            return Err(Error::usage(format!(
                "{SLURM_ID}={task_id} is set (a Slurm array task) but {name} is not; \
                 this Slurm is too old to tell the array's size: give --shard I/N explicitly"
            )));
        };
        whole_number(name, &text)
    };
    let task_id = whole_number(SLURM_ID, task_id)?;
    let count = value(SLURM_COUNT)?;
    let min = value(SLURM_MIN)?;
    let max = value(SLURM_MAX)?;
    let vars =
        format!("{SLURM_ID}={task_id} {SLURM_MIN}={min} {SLURM_MAX}={max} {SLURM_COUNT}={count}");
    if task_id < min || task_id > max {
        return Err(Error::usage(format!(
            "{vars}: the task id is outside {SLURM_MIN}..={SLURM_MAX}; this environment is \
             not one Slurm sets: give --shard I/N explicitly"
        )));
    }
    if max.checked_sub(min).and_then(|d| d.checked_add(1)) != Some(count) {
        return Err(Error::usage(format!(
            "{vars}: the array's task ids are not contiguous (like --array=1,5,9 or \
             --array=0-6:2), so they are no shard index; submit a range such as \
             --array=0-{} (a throttle like %2 is fine), or give --shard I/N explicitly",
            count.max(1) - 1
        )));
    }
    let index = task_id - min;
    check(index, count).map_err(|why| Error::usage(format!("{vars}: {why}")))?;
    if let Some(n) = shard_count {
        if n != count {
            return Err(Error::usage(format!(
                "{vars}: the array has {count} tasks but the shard count is {n} \
                 (--shard-count or {SHARD_COUNT_ENV}); make them agree, or drop the shard count"
            )));
        }
    }
    Ok(Detected::Slurm {
        array_job_id: get("SLURM_ARRAY_JOB_ID"),
        task_id,
        task_min: min,
        task_max: max,
        task_count: count,
    })
}

fn kubernetes(index: &str, shard_count: Option<u64>) -> Result<Detected> {
    let index = whole_number(K8S_INDEX, index)?;
    let Some(count) = shard_count else {
        return Err(Error::usage(format!(
            "{K8S_INDEX}={index} is set (a Kubernetes Indexed Job) but the shard count is \
             unknown: pass --shard-count N or set the environment variable {SHARD_COUNT_ENV}=N, \
             with N the Job's completions"
        )));
    };
    check(index, count).map_err(|why| {
        Error::usage(format!(
            "{K8S_INDEX}={index} with shard count {count} (--shard-count or \
             {SHARD_COUNT_ENV}): {why}; the shard count must equal the Job's completions"
        ))
    })?;
    Ok(Detected::Kubernetes {
        completion_index: index,
        completions: count,
    })
}

fn whole_number(name: &str, text: &str) -> Result<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse() {
            return Ok(n);
        }
    }
    Err(Error::usage(format!(
        "{name}={text:?} is not a whole number"
    )))
}

/// The number of threads a Slurm task may use: `SLURM_CPUS_PER_TASK` (set by
/// `sbatch --cpus-per-task`), else `SLURM_CPUS_ON_NODE` (the CPUs Slurm gave the job on this
/// node, 1 by default); `None` outside Slurm or when neither is a positive whole number.
///
/// Without cgroups a task sees every CPU of the node, so the number of available CPUs would
/// oversubscribe it; the Slurm variables are the allocation. The CLI takes its `--threads`
/// flag first, then this, then the available CPUs: `std::thread::available_parallelism`,
/// which on Linux follows the affinity mask and the CPU quota of the process's cgroup (v2
/// `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, rounded down, at least 1), so a
/// Kubernetes pod runs as many threads as its CPU limit, not its node's CPU count.
///
/// # Examples
///
/// ```
/// use jobsplit::engine::local_threads;
///
/// let env = |name: &str| match name {
///     "SLURM_CPUS_PER_TASK" => Some("8".to_owned()),
///     "SLURM_CPUS_ON_NODE" => Some("8".to_owned()),
///     _ => None,
/// };
/// assert_eq!(local_threads(&env), Some(8));
/// assert_eq!(local_threads(&|_: &str| None), None);
/// ```
#[must_use]
pub fn local_threads(env: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
    let positive = |name: &str| {
        let text = env(name)?;
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<usize>().ok().filter(|&n| n > 0)
    };
    positive("SLURM_CPUS_PER_TASK").or_else(|| positive("SLURM_CPUS_ON_NODE"))
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
