//! What `jobsplit slurm-script` and `jobsplit sge-script` do alike: the study part of the
//! options from the flags both take, the warnings on the shard count, and writing the scripts.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::Result;

use super::term::{errln, outln};
use crate::engine::{shard_warnings, BatchStudy};
use crate::input::{Format, JobList};
use crate::Error;

/// The [`BatchStudy`] of a script command's flags (`SlurmArgs` or `SgeArgs`, whose shared
/// flags have one name and one meaning): the binary defaults to this one, the tasks run in
/// the current directory, and `--steal`, `--steal-block` pass to `jobsplit run`.
macro_rules! batch_study {
    ($args:expr) => {{
        let args = $args;
        let mut study = crate::engine::BatchStudy::new(args.shards);
        study.job_name.clone_from(&args.job_name);
        study.jobsplit = match &args.jobsplit {
            Some(p) => p.clone(),
            None => {
                anyhow::Context::context(std::env::current_exe(), "finding this binary's path")?
            }
        };
        study.config.clone_from(&args.config);
        study.jobs.clone_from(&args.jobs);
        study.workdir = Some(anyhow::Context::context(
            std::env::current_dir(),
            "reading the current directory",
        )?);
        study.out.clone_from(&args.out);
        study.merged.clone_from(&args.merged);
        study.time.clone_from(&args.time);
        study.merge_time.clone_from(&args.merge_time);
        if args.steal {
            study.run_args.push("--steal".to_owned());
        }
        if let Some(b) = args.steal_block {
            study
                .run_args
                .extend(["--steal-block".to_owned(), b.to_string()]);
        }
        study
    }};
}
pub(super) use batch_study;

/// Warns of a shard count the study's job list (when it can be read here) or the cluster's
/// largest array (`max_array`, when known) makes doubtful, then writes an engine's scripts
/// into `dir` (created), the `.sh` helpers executable, and says how to submit them.
pub(super) fn write_scripts(
    study: &BatchStudy,
    dir: &Path,
    files: &[(&str, String)],
    max_array: Option<u64>,
) -> Result<()> {
    let jobs = job_count(study.config.as_deref(), study.jobs.as_deref());
    for warning in shard_warnings(study.shards, jobs, max_array) {
        errln!("{}: warning: {warning}", super::program::name());
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, text) in files {
        let path = dir.join(name);
        crate::output::write_atomic(&path, text.as_bytes())?;
        if name.ends_with(".sh") {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    outln!(
        "wrote {} in {}\nsubmit with: bash {}/submit.sh",
        names.join(", "),
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// How many jobs the study of `config` and `jobs` has, when its job list can be read here
/// (the warnings are advice: a job list only the cluster sees is no error).
fn job_count(config: Option<&Path>, jobs: Option<&Path>) -> Option<u64> {
    let config = match config {
        Some(path) => Some(crate::input::Config::load(path).ok()?),
        None => None,
    };
    let path = jobs
        .map(Path::to_path_buf)
        .or_else(|| config.as_ref()?.jobs.file.clone())?;
    if path == Path::new("-") {
        return None;
    }
    let format = config
        .as_ref()
        .and_then(|c| c.jobs.format)
        .unwrap_or_else(|| Format::from_extension(&path));
    JobList::load(&path, format).ok().map(|jobs| jobs.len())
}
