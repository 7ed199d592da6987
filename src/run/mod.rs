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
mod job_source;
mod library;
mod nonfinite;
pub(crate) mod notify;
mod pending;
mod rerun;
mod rundir;
mod runner;
mod running;
mod scheduler;
mod status_loop;
pub(crate) mod steal;
mod supervisor;
mod worker;

pub use attempt::Attempt;
#[cfg(test)]
pub(crate) use attempt::{fields_of, Reason};
pub use cancel::Cancel;
pub(crate) use cancel::Level;
pub(crate) use command::CommandExecutor;
pub use context::JobContext;
pub(crate) use events::Event;
pub use executor::{Control, Executor, JobSpec};
pub use job_rng::JobRng;
pub(crate) use library::panic_message;
pub(crate) use library::LibraryExecutor;
pub use library::{item_bytes, map, map_with, JobError, LogFn, MapOptions, ProgressFn};
pub(crate) use rerun::JobSet;
pub use rundir::Resume;
pub(crate) use runner::{hostname, RunSummary};
pub use runner::{RunOptions, Runner};
pub(crate) use steal::{Balance, StealOptions};
pub use supervisor::Exit;
pub(crate) use worker::WorkerExecutor;

/// The environment variable through which a launched run learns its payload digest (recorded
/// in its manifest.json as `payload`); `jobsplit launch` sets it.
pub(crate) const PAYLOAD_ENV: &str = "JOBSPLIT_PAYLOAD";

/// The payload digest given to a launched run (64 hex digits), if this process is one.
fn payload_of_this_run() -> Option<String> {
    std::env::var(PAYLOAD_ENV)
        .ok()
        .filter(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
