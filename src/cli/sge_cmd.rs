//! `jobsplit sge-script`: write the qsub scripts of a study for Grid Engine.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::exit;
use super::slurm_cmd::{job_count, write_scripts};
use super::term::errln;
use crate::engine::{sge_files, shard_warnings, SgeScriptOptions};

#[derive(Debug, Args)]
pub(crate) struct SgeArgs {
    /// Number of array tasks (shards): qsub -t 1-N, task T runs shard T-1
    #[arg(long, value_name = "N")]
    pub(crate) shards: u64,
    /// Slots per task (needs --pe): jobs run at once in each task
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub(crate) slots: u32,
    /// Parallel environment that gives a task its slots on one host (`qconf -spl` lists them)
    #[arg(long, value_name = "NAME")]
    pub(crate) pe: Option<String>,
    /// Time limit per task (-l h_rt): 4h, 90m, 1d, or 04:00:00 (a bare number is refused)
    #[arg(long, value_name = "T")]
    pub(crate) time: Option<String>,
    /// Time limit of the merge job [default: --time]
    #[arg(long, value_name = "T")]
    pub(crate) merge_time: Option<String>,
    /// Array tasks balance the study among themselves: `run --steal` through the shared --out
    /// (docs/balance.md); tasks that start late find their share taken and end at once
    #[arg(long)]
    pub(crate) steal: bool,
    /// Jobs per claimed block with --steal (`run --steal-block`) [default: about 48 blocks per core]
    #[arg(long, value_name = "N", requires = "steal")]
    pub(crate) steal_block: Option<u64>,
    /// Queue (-q)
    #[arg(long, value_name = "Q")]
    pub(crate) queue: Option<String>,
    /// At most N tasks of the array run at once (-tc N)
    #[arg(long, value_name = "N")]
    pub(crate) max_running: Option<u64>,
    /// Grid Engine job name (-N)
    #[arg(long, default_value = "jobsplit", value_name = "NAME")]
    pub(crate) job_name: String,
    /// The study's config file
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The job list (when the config does not name it)
    #[arg(long, value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    /// Output directory of the array tasks
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Output directory of the merge
    #[arg(long, default_value = "merged", value_name = "DIR")]
    pub(crate) merged: PathBuf,
    /// An extra #$ line for every job (repeatable), e.g. '-l h_vmem=4G' or '-P project'
    #[arg(long = "qsub-line", value_name = "LINE", allow_hyphen_values = true)]
    pub(crate) qsub_lines: Vec<String>,
    /// The jobsplit binary as the execution hosts see it [default: this binary]
    #[arg(long, value_name = "PATH")]
    pub(crate) jobsplit: Option<PathBuf>,
    /// Directory to write the scripts into
    #[arg(long, default_value = "sge", value_name = "DIR")]
    pub(crate) submit_dir: PathBuf,
}

pub(crate) fn run(args: &SgeArgs) -> Result<u8> {
    let mut opts = SgeScriptOptions::new(args.shards);
    opts.job_name.clone_from(&args.job_name);
    opts.jobsplit = match &args.jobsplit {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("finding this binary's path")?,
    };
    opts.config.clone_from(&args.config);
    opts.jobs.clone_from(&args.jobs);
    opts.workdir = Some(std::env::current_dir().context("reading the current directory")?);
    opts.out.clone_from(&args.out);
    opts.merged.clone_from(&args.merged);
    opts.pe.clone_from(&args.pe);
    opts.slots = args.slots;
    opts.time.clone_from(&args.time);
    opts.merge_time.clone_from(&args.merge_time);
    if args.steal {
        opts.run_args.push("--steal".to_owned());
    }
    if let Some(b) = args.steal_block {
        opts.run_args
            .extend(["--steal-block".to_owned(), b.to_string()]);
    }
    opts.queue.clone_from(&args.queue);
    opts.max_running = args.max_running;
    opts.extra_qsub.clone_from(&args.qsub_lines);
    let files = sge_files(&opts)?;
    let jobs = job_count(args.config.as_deref(), args.jobs.as_deref());
    for warning in shard_warnings(args.shards, jobs, None) {
        errln!("{}: warning: {warning}", super::program::name());
    }
    write_scripts(&args.submit_dir, &files)?;
    Ok(exit::OK)
}
