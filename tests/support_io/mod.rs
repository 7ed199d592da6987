//! Small helpers for the input, plan and merge tests of the binary: a study directory, the
//! binary run in it with a clean environment, and readers for what it writes.
//!
//! Each test file that uses it says `mod support_io;`; not every file uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A study in a temporary directory, removed on drop.
pub(crate) struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    /// An empty directory.
    pub(crate) fn new() -> Dir {
        Dir {
            dir: tempfile::Builder::new()
                .prefix("jobsplit-io-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// A directory holding `files` (relative path, contents).
    pub(crate) fn with(files: &[(&str, &[u8])]) -> Dir {
        let d = Dir::new();
        for (name, bytes) in files {
            d.write(name, bytes);
        }
        d
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path/rel`.
    pub(crate) fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `rel`, creating directories.
    pub(crate) fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// `jobsplit` run from this directory.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        jobsplit(self.path())
    }

    /// `jobsplit ARGS`, run to the end.
    pub(crate) fn output(&self, args: &[&str]) -> Out {
        Out::of(self.cmd().args(args).output().unwrap())
    }

    /// `jobsplit plan --json ARGS`: the raw text and the parsed value; panics unless it succeeds.
    pub(crate) fn plan_json(&self, args: &[&str]) -> (String, serde_json::Value) {
        let out = self.output(&[&["plan", "--json"][..], args].concat());
        assert_eq!(out.code, 0, "plan --json {args:?}: {}", out.stderr);
        let value = serde_json::from_str(&out.stdout).expect("plan --json prints JSON");
        (out.stdout, value)
    }

    /// The plan digest of `jobsplit plan --json ARGS`.
    pub(crate) fn digest(&self, args: &[&str]) -> String {
        self.plan_json(args).1["plan_digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every file under the directory with its bytes.
    pub(crate) fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        files_under(self.path())
    }
}

/// `jobsplit` with a clean environment, run from `dir`, stdin from /dev/null.
pub(crate) fn jobsplit(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("jobsplit").unwrap();
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n.starts_with("JOBSPLIT_") || n.starts_with("SLURM_") || n == "JOB_COMPLETION_INDEX" {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(dir).write_stdin("");
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
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Every file under `dir` (recursively), by path, with its bytes.
pub(crate) fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A results.csv (plain or .gz) as its header and rows of column -> cell.
pub(crate) fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(data.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A multi-member gzip file, decompressed to text; panics if it is not whole.
pub(crate) fn gunzip(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(data.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// Reads a JSON file.
pub(crate) fn json(path: &Path) -> serde_json::Value {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// index -> machine name, from a `plan --json` value; panics if a job is planned twice.
pub(crate) fn owners(plan: &serde_json::Value) -> BTreeMap<u64, String> {
    let mut map = BTreeMap::new();
    for m in plan["machines"].as_array().unwrap() {
        for i in m["jobs"].as_array().unwrap() {
            let old = map.insert(i.as_u64().unwrap(), m["name"].as_str().unwrap().to_owned());
            assert!(old.is_none(), "job {i} planned twice");
        }
    }
    map
}
