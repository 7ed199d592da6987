//! `jobsplit sge-script`: write the qsub scripts of a study for Grid Engine.

use anyhow::{Context as _, Result};

use super::args::SgeArgs;
use super::exit;
use super::slurm_cmd::{job_count, write_scripts};
use super::term::errln;
use crate::engine::{sge_files, shard_warnings, SgeScriptOptions};

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
