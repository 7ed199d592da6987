//! The inputs every host reads: job list, command template, machines file and config.

mod canonical;
mod config;
mod epochs;
mod format;
mod jobs;
mod machines;
mod template;
mod values;

pub use canonical::{to_canonical, write_canonical};
pub use config::{Capture, Config, JobsConfig, RunConfig, ShipConfig, Workdir, DEFAULT_CONFIG};
pub use epochs::{
    epochs_path, grow_items, load_growing, read_epochs, record_epochs, EpochRecord, Grow, Growth,
    Recorded,
};
pub use format::Format;
pub use jobs::{JobList, Record};
pub use machines::{load_machines, parse_machines, Machine, MAX_CORES, MAX_WEIGHT};
pub use template::Template;
pub use values::{
    check_range, parse_duration, parse_progress_interval, parse_ranged, parse_status_interval,
    MAX_BLOCK, MAX_DURATION, MAX_NICE, MAX_RETRIES, MAX_THREADS, MIN_PROGRESS_INTERVAL,
    STATUS_INTERVAL,
};
