//! `jobsplit slurm-script`: write the sbatch scripts of a study.

use anyhow::Result;

use super::args::SlurmArgs;
use super::batch_scripts::{batch_study, write_scripts};
use super::exit;
use crate::engine::{max_array_size, slurm_files, SlurmScriptOptions};

pub(crate) fn run(args: &SlurmArgs) -> Result<u8> {
    let mut opts = SlurmScriptOptions::new(args.shards);
    opts.study = batch_study!(args);
    opts.cpus_per_task = args.cpus_per_task;
    opts.stop_before = args.stop_before;
    opts.requeue = args.requeue;
    opts.partition.clone_from(&args.partition);
    opts.extra_sbatch.clone_from(&args.sbatch_lines);
    let files = slurm_files(&opts)?;
    write_scripts(
        &opts.study,
        &args.submit_dir,
        &files,
        cluster_max_array_size(),
    )?;
    Ok(exit::OK)
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
