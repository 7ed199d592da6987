//! What the tests of the batch script commands share (`cluster_slurm_script`,
//! `cluster_sge_script`): a study of numbered jobs, the script command run in it, a job script
//! run as the batch system starts it, and fake batch tools on a `PATH`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::harness::{Out, Study};

/// A study of `n` jobs in `jobs.txt`, job `i`'s command `job(i)`.
pub(crate) fn study(n: usize, job: impl Fn(usize) -> String) -> Study {
    let s = Study::new();
    s.jobs(&(0..n).map(job).collect::<Vec<_>>());
    s
}

/// `jobsplit COMMAND --jobs jobs.txt --submit-dir DIR ARGS` in `s` (`PATH` set to `path` when
/// given).
pub(crate) fn script(
    s: &Study,
    command: &str,
    dir: &str,
    path: Option<&str>,
    args: &[&str],
) -> Out {
    let mut cmd = s.cmd();
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let o = cmd
        .args([command, "--jobs", "jobs.txt", "--submit-dir", dir])
        .args(args)
        .output()
        .unwrap();
    Out::of(o)
}

/// `bash FILE` from the study, as a batch system starts a job script, with `vars` set.
pub(crate) fn bash(s: &Study, file: &str, vars: &[(&str, String)]) -> Out {
    let mut cmd = Command::new("bash");
    cmd.arg(s.join(file)).current_dir(s.path());
    crate::harness::clean_env(&mut cmd);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Out::of(cmd.output().unwrap())
}

/// A fake batch tool `name` in `dir/bin` running the `sh` script `body`; the `PATH` that finds
/// it first.
pub(crate) fn fake_tool(dir: &Path, name: &str, body: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}
