//! `jobsplit slurm-script`: write the sbatch scripts of a study.

use super::term::{errln, outln};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::args::SlurmArgs;
use super::exit;
use crate::engine::{max_array_size, shard_warnings, slurm_files, SlurmScriptOptions};
use crate::input::{Format, JobList};
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
    opts.stop_before = args.stop_before;
    opts.requeue = args.requeue;
    if args.steal {
        opts.run_args.push("--steal".to_owned());
    }
    if let Some(b) = args.steal_block {
        opts.run_args
            .extend(["--steal-block".to_owned(), b.to_string()]);
    }
    opts.partition.clone_from(&args.partition);
    opts.extra_sbatch.clone_from(&args.sbatch_lines);
    let files = slurm_files(&opts)?;
    let jobs = job_count(args.config.as_deref(), args.jobs.as_deref());
    for warning in shard_warnings(args.shards, jobs, cluster_max_array_size()) {
        errln!("{}: warning: {warning}", super::program::name());
    }
    write_scripts(&args.submit_dir, &files)?;
    Ok(exit::OK)
}

/// Writes an engine's scripts into `dir` (created), the `.sh` helpers executable, and says
/// how to submit them.
pub(super) fn write_scripts(dir: &Path, files: &[(&str, String)]) -> Result<()> {
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
pub(super) fn job_count(config: Option<&Path>, jobs: Option<&Path>) -> Option<u64> {
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

/// The cluster's `MaxArraySize`, from `scontrol show config` when `scontrol` runs here and
/// answers within 10 s (a controller that is down makes it retry for longer).
fn cluster_max_array_size() -> Option<u64> {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("scontrol")
        .args(["show", "config"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let text = reader.join().ok()?.ok()?;
    status.success().then(|| max_array_size(&text)).flatten()
}
