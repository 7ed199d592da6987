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

/// The environment variable through which a launched run learns its payload digest (recorded
/// in its manifest.json as `payload`); `jobsplit launch` sets it.
pub const PAYLOAD_ENV: &str = "JOBSPLIT_PAYLOAD";

/// The payload digest given to a launched run (64 hex digits), if this process is one.
fn payload_of_this_run() -> Option<String> {
    std::env::var(PAYLOAD_ENV)
        .ok()
        .filter(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
