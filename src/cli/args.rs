//! Command-line arguments, parsed by clap and resolved elsewhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::Format;

#[derive(Debug, Parser)]
#[command(
    name = "jobsplit",
    version,
    about = "Split a list of independent jobs across unlike machines, with no server.",
    long_about = "Split a list of independent jobs across unlike machines, with no server.\n\n\
        Copy the same binary, job list, config and machines.json to every host. Each host \
        computes the same plan (shown by its digest) and runs its own share.",
    after_help = "Examples:\n  jobsplit init study && cd study\n  jobsplit plan\n  jobsplit run --machine ws1\n  jobsplit merge out --out merged",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show who runs what: the plan digest and each machine's share.
    #[command(
        after_help = "Examples:\n  jobsplit plan\n  jobsplit plan --jobs jobs.txt --machines machines.json --json\n  jobsplit plan --shard-count 4"
    )]
    Plan(PlanArgs),
    /// Write a starter jobsplit.toml, machines.json and jobs.txt to edit.
    #[command(after_help = "Example:\n  jobsplit init my-study")]
    Init(InitArgs),
}

/// The inputs that define the work and the plan; every host must give the same.
#[derive(Debug, Clone, Args)]
pub(crate) struct InputArgs {
    /// Config file [default: ./jobsplit.toml if present]
    #[arg(long, short = 'c', env = "JOBSPLIT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Job list (overrides [jobs] file)
    #[arg(long, short = 'j', value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    /// Job list format [default: from the extension, else lines]
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub(crate) format: Option<Format>,
    /// Command template: {} the line, {name} a record field, {#} the index
    #[arg(long = "cmd", value_name = "TEMPLATE")]
    pub(crate) command: Option<String>,
    /// Machines file (overrides `machines` in the config) [default: ./machines.json]
    #[arg(long, short = 'm', value_name = "FILE")]
    pub(crate) machines: Option<PathBuf>,
    /// Seed string (overrides `seed` in the config)
    #[arg(long, value_name = "TEXT")]
    pub(crate) seed: Option<String>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Plan for N equal shards named shard-0..N-1 instead of the machines file
    #[arg(long, value_name = "N")]
    pub(crate) shard_count: Option<u64>,
    /// Print the plan as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory to write into (created if needed)
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
}
