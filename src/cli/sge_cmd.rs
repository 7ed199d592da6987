//! `jobsplit sge-script`: write the qsub scripts of a study for Grid Engine.

use anyhow::Result;

use super::args::SgeArgs;
use super::batch_scripts::{batch_study, write_scripts};
use super::exit;
use crate::engine::{sge_files, SgeScriptOptions};

pub(crate) fn run(args: &SgeArgs) -> Result<u8> {
    let mut opts = SgeScriptOptions::new(args.shards);
    opts.study = batch_study!(args);
    opts.pe.clone_from(&args.pe);
    opts.slots = args.slots;
    opts.queue.clone_from(&args.queue);
    opts.max_running = args.max_running;
    opts.extra_qsub.clone_from(&args.qsub_lines);
    let files = sge_files(&opts)?;
    write_scripts(&opts.study, &args.submit_dir, &files, None)?;
    Ok(exit::OK)
}
