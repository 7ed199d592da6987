//! `jobsplit slurm-script`: write the sbatch scripts of a study.

use super::term::outln;
use std::os::unix::fs::PermissionsExt as _;

use anyhow::{Context as _, Result};

use super::args::SlurmArgs;
use super::exit;
use crate::engine::{slurm_files, SlurmScriptOptions};
use crate::Error;

pub(crate) fn run(args: &SlurmArgs) -> Result<u8> {
    let mut opts = SlurmScriptOptions::new(args.shards);
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
    opts.cpus_per_task = args.cpus_per_task;
    opts.time.clone_from(&args.time);
    opts.merge_time.clone_from(&args.merge_time);
    opts.partition.clone_from(&args.partition);
    opts.extra_sbatch.clone_from(&args.sbatch_lines);
    let files = slurm_files(&opts)?;
    let dir = &args.submit_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, text) in &files {
        let path = dir.join(name);
        crate::output::write_atomic(&path, text.as_bytes())?;
        if name.ends_with(".sh") {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    outln!(
        "wrote {} in {}\nsubmit with: sh {}/submit.sh",
        names.join(", "),
        dir.display(),
        dir.display()
    );
    Ok(exit::OK)
}
