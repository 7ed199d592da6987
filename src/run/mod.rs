//! Running this machine's share: the scheduler, command jobs, library jobs and their events.

mod attempt;
mod cancel;
mod command;
mod context;
mod events;
mod executor;
mod guard;
mod library;
mod runner;

pub use attempt::{fields_of, Attempt, Outcome, Stream};
pub use cancel::{Cancel, Level};
pub use command::CommandExecutor;
pub use context::JobContext;
pub use events::Event;
pub use executor::{Control, Executor, JobSpec};
pub use library::{item_bytes, map, map_with, JobError, LibraryExecutor, MapOptions};
pub use runner::{hostname, run_share, Counts, Resume, RunOptions, RunSummary};
