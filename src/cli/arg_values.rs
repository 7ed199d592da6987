//! Pieces the commands' arguments share: the inputs that define the work and the plan, and
//! the parsers of durations and bounded numbers.

use std::path::PathBuf;

use clap::Args;

use crate::input::Format;

/// The inputs that define the work and the plan; every host must give the same.
#[derive(Debug, Clone, Args)]
pub(crate) struct InputArgs {
    /// Config file [default: ./jobsplit.toml if present]
    #[arg(long, short = 'c', env = "JOBSPLIT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Job list (overrides [jobs] file) [default: ./jobs.txt if present]
    #[arg(long, short = 'j', value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    /// Job list format [default: from the extension, else lines]
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub(crate) format: Option<Format>,
    /// Command template: {} the line, {name} a record field, {#} the index (from 0), {%} the
    /// slot (from 1), {.} {/} {//} {/.} the line's path parts (as GNU parallel)
    #[arg(long = "cmd", value_name = "TEMPLATE")]
    pub(crate) command: Option<String>,
    /// Machines file (overrides `machines` in the config) [default: ./machines.json]
    #[arg(long, short = 'm', value_name = "FILE")]
    pub(crate) machines: Option<PathBuf>,
    /// Seed string (overrides `seed` in the config)
    #[arg(long, value_name = "TEXT")]
    pub(crate) seed: Option<String>,
}

impl InputArgs {
    /// The inputs of a study given by its config file alone (the rest from the config).
    pub(crate) fn of_config(config: Option<PathBuf>) -> InputArgs {
        InputArgs {
            config,
            jobs: None,
            format: None,
            command: None,
            machines: None,
            seed: None,
        }
    }
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::input::parse_duration(s).map_err(|e| e.to_string())
}

/// A whole number in `lo..=hi`, refused (never clamped or wrapped) outside it.
pub(super) fn ranged(s: &str, lo: u64, hi: u64) -> Result<u64, String> {
    crate::input::parse_ranged(s, lo, hi).map_err(|e| e.to_string())
}

pub(super) fn parse_shard_count(s: &str) -> Result<u64, String> {
    ranged(s, 1, crate::engine::MAX_SHARDS)
}
