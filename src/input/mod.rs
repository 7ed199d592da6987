//! The inputs every host reads: job list, command template, machines file and config.

mod canonical;
mod config;
mod epochs;
mod epochs_file;
mod format;
mod grown;
mod jobs;
mod machines;
mod template;
mod values;

pub use canonical::to_canonical;
pub use config::Config;
pub(crate) use config::{Capture, RunConfig, Workdir, DEFAULT_CONFIG};
pub(crate) use epochs::{grow_items, hashed_from_start, record_epochs, Growth};
pub use epochs::{load_growing, Grow};
pub(crate) use epochs_file::{epochs_path, read_epochs, Recorded};
pub use format::{Format, Record};
pub(crate) use grown::GrowthWatch;
pub use jobs::JobList;
pub use machines::{load_machines, parse_machines, Machine};
pub use template::Template;
#[cfg(test)]
pub(crate) use values::MAX_DURATION;
pub(crate) use values::{
    parse_duration, parse_progress_interval, parse_ranged, parse_status_interval, MAX_BLOCK,
    MAX_NICE, MAX_RETRIES, MAX_THREADS,
};
