//! The inputs every host reads: job list, command template, machines file and config.

mod canonical;
mod config;
mod jobs;
mod machines;
mod template;

pub use canonical::{to_canonical, write_canonical};
pub use config::{parse_duration, Capture, Config, JobsConfig, RunConfig, DEFAULT_CONFIG};
pub use jobs::{Format, JobList, Record};
pub use machines::{load_machines, parse_machines, Machine, MAX_CORES, MAX_WEIGHT};
pub use template::Template;
