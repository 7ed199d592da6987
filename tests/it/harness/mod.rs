//! Helpers shared by the end-to-end tests of the `jobsplit` binary: a temporary study directory,
//! the built binary with a clean environment, and readers for what a run writes (results.csv,
//! log.gz, manifest.json) and for the processes a run may leave behind.
//!
//! Every test module uses it through `crate::harness`; not every module uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod procs;
mod results;
mod tmpfs;

pub(crate) use procs::{assert_no_procs_with_env, procs_with_env, signal, wait_child, wait_until};
pub(crate) use results::{
    gunzip, gzip_ok, read_csv, read_json, read_log, row, LogLine, Results, Row,
};
pub(crate) use tmpfs::Tmpfs;

/// The three machines most tests use: unequal weights and cores, in this file order.
pub(crate) const THREE_MACHINES: &str = r#"{
  "ws1": {"weight": 1, "cores": 2},
  "ws2": [2, 1],
  "server": {"weight": 1.5, "cores": 2}
}
"#;

/// The path of the built `jobsplit` binary (cargo builds it for integration tests), or the one
/// `JOBSPLIT_TEST_BIN` names (to run a test against another build, e.g. to see it fail before
/// a fix).
pub(crate) fn bin() -> PathBuf {
    std::env::var_os("JOBSPLIT_TEST_BIN")
        .map_or_else(|| assert_cmd::cargo::cargo_bin("jobsplit"), PathBuf::from)
}

/// The variable [`Study::env_marker`] names.
const MARKER_VAR: &str = "E2E_STUDY_DIR";

/// Removes the variables that would change what the binary does behind a test's back: every
/// `JOBSPLIT_*` (machine, config, shard count) and the batch engines' (`SLURM_*`, `SGE_TASK_*`,
/// `NSLOTS`, `PBS_*`, `NCPUS`, `LSB_*`, `JOB_COMPLETION_INDEX`), so a test run inside a batch
/// job sees none.
pub(crate) fn clean_env(cmd: &mut std::process::Command) {
    const ENGINE: [&str; 5] = ["SLURM_", "SGE_TASK_", "PBS_", "LSB_", "JOBSPLIT_"];
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if ENGINE.iter().any(|p| n.starts_with(p))
            || ["JOB_COMPLETION_INDEX", "NSLOTS", "NCPUS"].contains(&n.as_ref())
        {
            cmd.env_remove(&name);
        }
    }
}

/// A study in a temporary directory (removed on drop): files written into it, the binary run
/// from it.
pub(crate) struct Study {
    dir: tempfile::TempDir,
}

impl Default for Study {
    fn default() -> Self {
        Self::new()
    }
}

impl Study {
    /// An empty study directory.
    pub(crate) fn new() -> Study {
        Study {
            dir: tempfile::Builder::new()
                .prefix("jobsplit-e2e-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// A study of `jobs` (one shell command each, in `jobs.txt`) over `machines` (JSON), with a
    /// `jobsplit.toml` naming both and adding `extra_toml` (a seed, `[params]`, `[run]`...).
    pub(crate) fn with(jobs: &[String], machines: &str, extra_toml: &str) -> Study {
        let s = Study::new();
        s.setup(jobs, machines, extra_toml);
        s
    }

    /// Writes `jobs.txt`, `machines.json` and `jobsplit.toml` as [`Study::with`] does, into
    /// this study (whose path the jobs may need to know).
    pub(crate) fn setup(&self, jobs: &[String], machines: &str, extra_toml: &str) {
        self.jobs(jobs);
        self.write("machines.json", machines);
        self.write(
            "jobsplit.toml",
            format!("machines = \"machines.json\"\n{extra_toml}\n[jobs]\nfile = \"jobs.txt\"\n"),
        );
    }

    /// The study directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path/rel`.
    pub(crate) fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `rel` (creating directories) and returns its path.
    pub(crate) fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// A study directory holding `files` (relative path, contents) and nothing else.
    pub(crate) fn with_files(files: &[(&str, &[u8])]) -> Study {
        let s = Study::new();
        for (name, bytes) in files {
            s.write(name, bytes);
        }
        s
    }

    /// `jobsplit ARGS` run to the end.
    pub(crate) fn output(&self, args: &[&str]) -> Out {
        Out::of(self.cmd().args(args).output().unwrap())
    }

    /// `jobsplit plan --json ARGS`: the raw text and the parsed value; panics unless it succeeds.
    pub(crate) fn plan_json_text(&self, args: &[&str]) -> (String, serde_json::Value) {
        let out = self.output(&[&["plan", "--json"][..], args].concat());
        assert_eq!(out.code, 0, "plan --json {args:?}: {}", out.stderr);
        let value = serde_json::from_str(&out.stdout).expect("plan --json prints JSON");
        (out.stdout, value)
    }

    /// The plan digest of `jobsplit plan --json ARGS`.
    pub(crate) fn digest(&self, args: &[&str]) -> String {
        self.plan_json(args)["plan_digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every file and directory under the study with its bytes (directories have none).
    pub(crate) fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        files_under(self.path())
    }

    /// Writes the job list `jobs.txt`, one command a line.
    pub(crate) fn jobs(&self, jobs: &[String]) -> PathBuf {
        let mut text = jobs.join("\n");
        text.push('\n');
        self.write("jobs.txt", &text)
    }

    /// `jobsplit` run from the study directory with a clean environment, stdin empty.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// The same as a `std::process::Command`, to spawn and signal it.
    pub(crate) fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        clean_env(&mut cmd);
        cmd.current_dir(self.path());
        cmd.stdin(std::process::Stdio::null());
        cmd.env(MARKER_VAR, self.path());
        cmd
    }

    /// `NAME=VALUE` of a variable set for every run of this study, and so inherited by every
    /// job and whatever it starts: find them with [`procs_with_env`].
    pub(crate) fn env_marker(&self) -> String {
        format!("{MARKER_VAR}={}", self.path().display())
    }

    /// `jobsplit run --machine MACHINE --yes`, to add flags to.
    pub(crate) fn run(&self, machine: &str) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.args(["run", "--machine", machine, "--yes"]);
        cmd
    }

    /// `jobsplit plan --json` parsed, with extra arguments.
    pub(crate) fn plan_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["plan", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "plan failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("plan --json prints JSON")
    }

    /// The default output directory, `out/`.
    pub(crate) fn out(&self) -> PathBuf {
        self.join("out")
    }

    /// `out/<machine>`.
    pub(crate) fn machine_dir(&self, machine: &str) -> PathBuf {
        self.out().join(machine)
    }

    /// `out/<machine>/results.csv`, parsed strictly.
    pub(crate) fn results(&self, machine: &str) -> Results {
        Results::read(&self.machine_dir(machine).join("results.csv"))
    }

    /// `out/<machine>/log.gz`, decompressed.
    pub(crate) fn log(&self, machine: &str) -> Vec<LogLine> {
        read_log(&self.machine_dir(machine).join("log.gz"))
    }

    /// `out/<machine>/manifest.json`.
    pub(crate) fn manifest(&self, machine: &str) -> serde_json::Value {
        read_json(&self.machine_dir(machine).join("manifest.json"))
    }
}

/// `jobsplit` with a clean environment, run from `dir`, stdin empty.
pub(crate) fn jobsplit(dir: &Path) -> assert_cmd::Command {
    let mut cmd = std::process::Command::new(bin());
    clean_env(&mut cmd);
    cmd.current_dir(dir);
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.write_stdin("");
    cmd
}

/// What a finished command gave.
#[derive(Debug)]
pub(crate) struct Out {
    /// The exit code (-1 if killed by a signal).
    pub(crate) code: i32,
    /// Standard output as text.
    pub(crate) stdout: String,
    /// Standard error as text.
    pub(crate) stderr: String,
}

impl Out {
    /// From a `std::process::Output`.
    pub(crate) fn of(o: std::process::Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: text(&o.stdout),
            stderr: text(&o.stderr),
        }
    }
}

/// Every file and directory under `dir` (recursively), by path, with its bytes (a directory
/// has none): compare two of these to prove nothing was written.
pub(crate) fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(p, target.into_os_string().into_encoded_bytes());
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Bytes as text, for messages.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// index -> machine name, from `plan --json`.
pub(crate) fn assignment(plan: &serde_json::Value) -> BTreeMap<u64, String> {
    let mut map = BTreeMap::new();
    for m in plan["machines"].as_array().expect("machines") {
        let name = m["name"].as_str().unwrap().to_owned();
        for i in m["jobs"].as_array().unwrap() {
            let old = map.insert(i.as_u64().unwrap(), name.clone());
            assert!(old.is_none(), "job {i} planned twice");
        }
    }
    map
}

/// The host name, as `jobsplit` reads it.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 0, "gethostname failed");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A single-quoted shell word.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Builds an example with the cargo running this test and returns its executable.
pub(crate) fn build_example(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            name,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the example's executable")
}
