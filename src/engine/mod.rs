//! Scale out on batch engines: Slurm job arrays, Kubernetes Indexed Jobs, or any scheduler
//! that can start `N` copies of a command with an index.
//!
//! A sharded study is planned for `N` equal machines named `shard-0` .. `shard-{N-1}`
//! ([`shard_machine_name`]; weight 1, cores 1), so every task computes the same plan digest
//! wherever the engine starts it. Task `I` runs the share of `shard-I` and writes
//! `OUT/shard-I/`; `jobsplit merge OUT` joins the shards.
//!
//! Which shard a task is comes from, in this order:
//!
//! 1. `--shard I/N` on the command line ([`Shard`] parses it), for any engine;
//! 2. the environment ([`detect`]): an array task of Slurm (`SLURM_ARRAY_TASK_ID`, ...),
//!    Grid Engine (`SGE_TASK_ID`, ...), PBS Pro (`PBS_ARRAY_INDEX`), Torque (`PBS_ARRAYID`)
//!    or LSF (`LSB_JOBINDEX`, ...), or a Kubernetes Indexed Job pod (`JOB_COMPLETION_INDEX`);
//!    where the engine does not tell the array's size (PBS Pro, Torque, Kubernetes) it comes
//!    from `--shard-count N` or `JOBSPLIT_SHARD_COUNT=N`;
//! 3. otherwise the task is no shard, and the machines file decides as on any host.
//!
//! [`slurm_files`] writes the sbatch scripts of a study: the array, the merge as a dependent
//! job, and the rescue of what did not end ok. [`slurm_time`] reads a time limit,
//! [`shard_warnings`] says when an array has more shards than jobs or than the cluster's
//! `MaxArraySize` ([`max_array_size`]) allows. [`sge_files`] writes the same for Grid Engine
//! (an array job, the merge held with `-hold_jid`, the rescue), with [`sge_time`] for its
//! time limits.

mod batch_study;
mod detect;
mod detect_read;
mod detected;
mod qsub_words;
mod sbatch_words;
mod script_shell;
mod sge_options;
mod sge_script;
mod sge_time;
mod shard;
mod slurm_limits;
mod slurm_options;
mod slurm_script;
mod slurm_time;
mod threads;

pub(crate) use batch_study::BatchStudy;
pub use detect::detect;
#[cfg(test)]
pub(crate) use detect::detect_engine;
pub use detected::SHARD_COUNT_ENV;
pub(crate) use sge_options::SgeScriptOptions;
pub(crate) use sge_script::sge_files;
#[cfg(test)]
pub(crate) use sge_time::sge_time;
#[cfg(test)]
pub(crate) use shard::shard_machine_name;
pub use shard::Shard;
pub(crate) use shard::MAX_SHARDS;
pub(crate) use slurm_limits::{max_array_size, shard_warnings};
pub(crate) use slurm_options::SlurmScriptOptions;
pub(crate) use slurm_script::slurm_files;
#[cfg(test)]
pub(crate) use slurm_script::slurm_script;
#[cfg(test)]
pub(crate) use slurm_time::slurm_time;
pub(crate) use threads::local_threads;
