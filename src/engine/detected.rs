//! What a batch engine's environment said ([`Detected`]): the engine, its array's variables
//! and the shard they make. Read by `detect_read.rs`, chosen by `detect.rs`.

use std::fmt;

use super::shard::Shard;

/// The environment variable that gives the shard count where the engine does not tell a task
/// its array's size (a Kubernetes Indexed Job's `completions`, a PBS Pro or Torque array's
/// size), read by the CLI when `--shard-count` is not given.
pub const SHARD_COUNT_ENV: &str = "JOBSPLIT_SHARD_COUNT";

/// A batch engine found in the environment, with the values that made the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Detected {
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
    pub(crate) fn shard(&self) -> Shard {
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
    #[must_use]
    #[cfg(test)]
    pub(crate) fn engine(&self) -> &'static str {
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
