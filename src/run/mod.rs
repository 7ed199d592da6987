//! Running this machine's share: the scheduler, command jobs, library jobs and their events.

mod attempt;
mod cancel;
pub(crate) mod command;
mod context;
mod events;
mod executor;
mod input_cells;
mod job_cancels;
mod job_rng;
mod library;
mod nonfinite;
pub mod notify;
mod pending;
mod rerun;
mod rundir;
mod runner;
mod running;
mod scheduler;
mod status_loop;
pub mod steal;
mod supervisor;
mod worker;

pub use attempt::{fields_of, Attempt, Reason};
pub use cancel::{Cancel, Level};
pub use command::CommandExecutor;
pub use context::JobContext;
pub use events::Event;
pub use executor::{Control, Executor, JobSpec};
pub use job_rng::JobRng;
pub use library::{
    item_bytes, map, map_with, JobError, LibraryExecutor, LogFn, MapOptions, ProgressFn,
};
pub use rerun::JobSet;
pub use rundir::Resume;
pub use runner::{hostname, RunOptions, RunSummary, Runner};
pub use steal::{Balance, StealOptions};
pub use supervisor::{Exit, Stop};
pub use worker::WorkerExecutor;
