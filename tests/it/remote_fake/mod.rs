//! Remote studies (issue 20, docs/remote.md) without root: the ssh command line is a stand-in
//! that runs the remote command with `sh` in a directory standing for the host's home, so the
//! host side (`remote-serve`) and the laptop side run as real processes over real pipes. The
//! real multi-host suite is tests/remote/run.sh. This file holds the lab and what its
//! scenarios share; `collect`, `epochs` and `rescue` hold the scenarios.

mod collect;
mod epochs;
mod rescue;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{bin, clean_env};

/// A laptop study and one host's home, with `ssh` standing in.
pub(crate) struct Lab {
    pub(crate) dir: tempfile::TempDir,
}

const FAKE_SSH: &str = r#"#!/bin/sh
# ssh stand-in: skips options up to `--`, runs the command in HOMES/DEST
homes=$(dirname "$0")/homes
while [ $# -gt 0 ]; do
  case $1 in -O) exit 0 ;; --) shift; break ;; *) shift ;; esac
done
dest=$1; shift
printf '%s\n' "$1" >>"$(dirname "$0")/calls"
case $dest in down*) echo "ssh: connect to host $dest port 22: Connection refused" >&2; exit 255 ;; esac
mkdir -p "$homes/$dest" && cd "$homes/$dest" && exec sh -c "$1"
"#;

impl Lab {
    pub(crate) fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
        };
        let ssh = lab.dir.path().join("fakessh");
        std::fs::write(&ssh, FAKE_SSH).unwrap();
        std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let study = lab.study();
        std::fs::create_dir_all(&study).unwrap();
        let jobs: String = (0..6).map(|i| format!("{i}\n")).collect();
        std::fs::write(study.join("jobs.txt"), jobs).unwrap();
        std::fs::write(
            study.join("machines.json"),
            r#"{"a b": {"weight": 1, "cores": 2, "ssh": "h1", "dir": "st it's"}}"#,
        )
        .unwrap();
        std::fs::write(
            study.join("jobsplit.toml"),
            "[jobs]\nfile = \"jobs.txt\"\ncommand = \"mkdir -p \\\"$JOBSPLIT_OUT\\\" && echo {} > \\\"$JOBSPLIT_OUT/f.txt\\\" && echo hi {}\"\n",
        )
        .unwrap();
        lab
    }

    pub(crate) fn study(&self) -> PathBuf {
        self.dir.path().join("study")
    }

    /// The host's copy of the study (as `launch` would leave it), its binary put there by hand
    /// (the debug build is dynamically linked, which launch refuses to ship).
    pub(crate) fn host_study(&self) -> PathBuf {
        let host = self.host_dir();
        let state = host.join(".jobsplit-remote");
        std::fs::create_dir_all(&state).unwrap();
        for f in ["jobs.txt", "machines.json", "jobsplit.toml"] {
            std::fs::copy(self.study().join(f), host.join(f)).unwrap();
        }
        let arch = std::env::consts::ARCH;
        std::fs::copy(bin(), state.join(format!("jobsplit-{arch}"))).unwrap();
        host
    }

    /// The host's study directory (where `launch` ships to).
    pub(crate) fn host_dir(&self) -> PathBuf {
        self.dir.path().join("homes/h1/st it's")
    }

    /// [`Lab::host_study`] once machine `a b` has run its share there.
    pub(crate) fn host_ran(&self) -> PathBuf {
        let host = self.host_study();
        let run = self.jobsplit(&host, &["run", "--machine", "a b", "--yes", "--quiet"]);
        exits(&run, 0);
        host
    }

    /// jobsplit run in the laptop's study.
    pub(crate) fn here(&self, args: &[&str]) -> std::process::Output {
        self.jobsplit(&self.study(), args)
    }

    pub(crate) fn jobsplit(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(bin());
        clean_env(&mut cmd);
        cmd.current_dir(dir)
            .env("JOBSPLIT_SSH", self.dir.path().join("fakessh"))
            .args(args)
            .output()
            .unwrap()
    }
}

pub(crate) fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that `out` ended with exit code `code`.
#[track_caller]
pub(crate) fn exits(out: &std::process::Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
}

/// Asserts that `out` printed `want` (stdout or stderr).
#[track_caller]
pub(crate) fn says(out: &std::process::Output, want: &str) {
    assert!(text(out).contains(want), "{}", text(out));
}

/// Asserts that each of jobs `0..jobs` printed its line once in the log.gz at `path`.
#[track_caller]
fn each_job_once(path: &Path, jobs: u64) {
    let log = crate::harness::gunzip(path);
    for i in 0..jobs {
        assert_eq!(
            log.matches(&format!("hi {i}\n")).count(),
            1,
            "job {i}: {log}"
        );
    }
}

/// True when the host's run of machine `a b` finished a plan of `jobs` jobs.
fn finished(host: &Path, jobs: u64) -> bool {
    let m: serde_json::Value = std::fs::read(host.join("out/a b/manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    m["state"] == "finished" && m["jobs_total"] == jobs
}

fn append_jobs(study: &Path, text: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(study.join("jobs.txt"))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}
