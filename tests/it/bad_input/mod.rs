//! The bad-input matrix: every case gives `run`, `plan`, `merge` or `status` one bad input (a
//! machines file, a job list, a config, a flag, an output directory) and asserts exit 2,
//! exactly one stderr line `jobsplit: error: ...` that names the file and line (or the flag)
//! and says what to do, and not one byte written or changed under the study directory.
//!
//! Table-driven: one `#[test]` per group; a failing case is named by its group and label, and
//! every failing case of a group is listed, not only the first.

mod config;
mod flags;
mod job_lists;
mod machines;
mod outputs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{files_under, jobsplit};

/// The job list every case starts from (unless it writes its own).
pub(crate) const JOBS: &[u8] = b"echo 1\necho 2\necho 3\n";
/// The machines file every case starts from.
pub(crate) const MACHINES: &[u8] = br#"{"a": [1, 2], "b": {"weight": 2, "cores": 1}}"#;
/// Any case still running after this is a hang, not a slow machine.
const HANG: Duration = Duration::from_secs(120);

/// What a case puts in the study directory before it runs.
#[derive(Clone)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Symlink(PathBuf),
}

/// One bad input and what its one error line must contain.
#[derive(Clone)]
pub(crate) struct Case {
    label: String,
    entries: Vec<(PathBuf, Entry)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    needles: Vec<String>,
}

/// A case labelled `label`, in a study holding `jobs.txt` and `machines.json`.
pub(crate) fn case(label: impl Into<String>) -> Case {
    Case {
        label: label.into(),
        entries: vec![
            ("jobs.txt".into(), Entry::File(JOBS.to_vec())),
            ("machines.json".into(), Entry::File(MACHINES.to_vec())),
        ],
        args: Vec::new(),
        env: Vec::new(),
        needles: Vec::new(),
    }
}

impl Case {
    /// Writes `bytes` to `path` (over a default file of that name).
    pub(crate) fn file(mut self, path: &str, bytes: impl AsRef<[u8]>) -> Case {
        self.entries.retain(|(p, _)| p != Path::new(path));
        self.entries
            .push((path.into(), Entry::File(bytes.as_ref().to_vec())));
        self
    }

    /// Makes `path` a directory (in place of a default file of that name).
    pub(crate) fn dir(mut self, path: &str) -> Case {
        self.entries.retain(|(p, _)| p != Path::new(path));
        self.entries.push((path.into(), Entry::Dir));
        self
    }

    /// Leaves out `path` (and everything under it).
    pub(crate) fn remove(mut self, path: &str) -> Case {
        self.entries.retain(|(p, _)| !p.starts_with(path));
        self
    }

    /// Makes `path` a symbolic link to `target`.
    pub(crate) fn symlink(mut self, path: &str, target: &str) -> Case {
        self.entries.retain(|(p, _)| p != Path::new(path));
        self.entries
            .push((path.into(), Entry::Symlink(target.into())));
        self
    }

    /// Adds the files of a finished study (see [`fixture`]): `out/a`, `out/b`, `merged`.
    pub(crate) fn with_output(mut self) -> Case {
        for (path, bytes) in fixture() {
            self = match bytes {
                None => self.dir(path.to_str().unwrap()),
                Some(b) => self.file(path.to_str().unwrap(), b),
            };
        }
        self
    }

    /// Rewrites the JSON file `path` (already in the case) through `f`.
    pub(crate) fn edit_json(self, path: &str, f: impl FnOnce(&mut serde_json::Value)) -> Case {
        let bytes = self.bytes(path);
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        f(&mut value);
        self.file(path, serde_json::to_vec_pretty(&value).unwrap())
    }

    /// Rewrites the text file `path` (already in the case) through `f`.
    pub(crate) fn edit(self, path: &str, f: impl FnOnce(String) -> String) -> Case {
        let text = String::from_utf8(self.bytes(path)).unwrap();
        self.file(path, f(text))
    }

    fn bytes(&self, path: &str) -> Vec<u8> {
        match self.entries.iter().find(|(p, _)| p == Path::new(path)) {
            Some((_, Entry::File(b))) => b.clone(),
            _ => panic!("{}: no file {path} to edit", self.label),
        }
    }

    /// The command line: `jobsplit ARGS`.
    pub(crate) fn args(mut self, args: &[&str]) -> Case {
        self.args = args.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// `jobsplit run --machine a --yes EXTRA`.
    pub(crate) fn run(self, extra: &[&str]) -> Case {
        let args: Vec<&str> = ["run", "--machine", "a", "--yes"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        self.args(&args)
    }

    /// `jobsplit plan EXTRA`.
    pub(crate) fn plan(self, extra: &[&str]) -> Case {
        let args: Vec<&str> = ["plan"].iter().chain(extra).copied().collect();
        self.args(&args)
    }

    /// Sets an environment variable for the run.
    pub(crate) fn env(mut self, name: &str, value: &str) -> Case {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// What the error line must contain (the file and line or the flag, and the fix).
    pub(crate) fn says(mut self, needles: &[&str]) -> Case {
        self.needles = needles.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The same case as `run` and as `plan` (for inputs both read): two cases.
    pub(crate) fn run_and_plan(self, extra: &[&str]) -> [Case; 2] {
        let label = self.label.clone();
        let mut plan = self.clone().plan(extra);
        plan.label = format!("{label} [plan]");
        let mut run = self.run(extra);
        run.label = format!("{label} [run]");
        [run, plan]
    }

    fn materialize(&self, root: &Path) {
        for (path, entry) in &self.entries {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            match entry {
                Entry::File(bytes) => std::fs::write(&full, bytes).unwrap(),
                Entry::Dir => std::fs::create_dir_all(&full).unwrap(),
                Entry::Symlink(target) => std::os::unix::fs::symlink(target, &full).unwrap(),
            }
        }
    }

    /// Runs the case; `Err` says what is wrong.
    fn check(&self) -> Result<(), String> {
        let dir = tempfile::Builder::new()
            .prefix("jobsplit-bad-")
            .tempdir()
            .unwrap();
        self.materialize(dir.path());
        let before = files_under(dir.path());
        let mut cmd = jobsplit(dir.path());
        cmd.args(&self.args).timeout(HANG);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().map_err(|e| format!("cannot run: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut why = Vec::new();
        match out.status.code() {
            Some(2) => {}
            code => why.push(format!("exit {code:?}, not 2")),
        }
        let lines: Vec<&str> = stderr.lines().collect();
        if lines.len() != 1 {
            why.push(format!("{} stderr lines, not 1", lines.len()));
        }
        let first = lines.first().copied().unwrap_or("");
        if !first.starts_with("jobsplit: error: ") {
            why.push("the line does not start with `jobsplit: error: `".to_owned());
        }
        for n in &self.needles {
            if !first.contains(n.as_str()) {
                why.push(format!("`{n}` is missing"));
            }
        }
        if files_under(dir.path()) != before {
            why.push(changed(&before, &files_under(dir.path())));
        }
        if why.is_empty() {
            Ok(())
        } else {
            let shown: Vec<&str> = lines.iter().take(3).copied().collect();
            Err(format!(
                "{}\n      stderr: {}",
                why.join("; "),
                shown.join("\n              ")
            ))
        }
    }
}

fn changed(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> String {
    let differ: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    format!("files written or changed: {}", differ.join(", "))
}

/// Runs every case of a group and fails naming each case that failed.
pub(crate) fn check_group(group: &str, cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| c.check().err().map(|e| format!("  {}: {e}", c.label)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases of `{group}` failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A finished study made once: `out/a`, `out/b` (each machine's run of [`JOBS`]) and `merged`
/// (their merge), by path relative to the study, `None` for a directory.
pub(crate) fn fixture() -> &'static BTreeMap<PathBuf, Option<Vec<u8>>> {
    static FIXTURE: std::sync::OnceLock<BTreeMap<PathBuf, Option<Vec<u8>>>> =
        std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        case("fixture").materialize(dir.path());
        for args in [
            &["run", "--machine", "a", "--yes", "-q"][..],
            &["run", "--machine", "b", "--yes", "-q"],
            &["merge", "out", "--out", "merged"],
        ] {
            let out = jobsplit(dir.path()).args(args).output().unwrap();
            assert!(out.status.success(), "fixture {args:?}: {out:?}");
        }
        files_under(dir.path())
            .into_iter()
            .filter_map(|(p, bytes)| {
                let rel = p.strip_prefix(dir.path()).unwrap().to_path_buf();
                let top = rel.components().next()?.as_os_str().to_owned();
                (top == "out" || top == "merged")
                    .then(|| (rel.clone(), (!p.is_dir()).then_some(bytes)))
            })
            .collect()
    })
}
