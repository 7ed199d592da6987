//! The study and the checks shared by the crash properties (`crash_property`: kill -9 at random
//! moments; `crash_disk`: a disk that fills up): jobs that print, bring new result columns (so
//! results.csv is rewritten through its temporary file) and multi-line values with commas and
//! quotes, and that leave a trace of every start, so that the checks can tell
//!
//! - lost jobs: a job of the share without an ok row once the share is done;
//! - duplicate ok rows;
//! - finished jobs run again: a job started after an ok row for it was on disk;
//! - orphan processes: any process of the study left once the last run ended;
//!
//! and that Python's csv and gzip modules read results.csv and log.gz whole. This file holds
//! the study; `checks` reads what it left.

mod checks;

use checks::{lock_holders, python_reads};
pub(crate) use checks::{ok_rows, Figures};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{procs_with_env, sh_quote, text, wait_until, Study};

/// A small deterministic generator (splitmix64): a case is replayed from its seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// About `size` bytes of short lines (most of them one character), some with a comma and
/// quotes: many places right after a line break inside a quoted CSV value.
fn value_lines(job: u64, size: u64) -> String {
    let mut value = String::new();
    let mut n = 0;
    while (value.len() as u64) < size {
        match n % 16 {
            0 => value += &format!("job {job} line {n},\"x\"\n"),
            _ => value += "y\n",
        }
        n += 1;
    }
    value
}

/// `name` from the environment as a number, else `default`.
pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A one-machine study of `jobs` shell jobs whose output goes to `out`.
pub(crate) struct CrashStudy {
    pub(crate) s: Study,
    pub(crate) jobs: u64,
    pub(crate) out: PathBuf,
    /// Every job index seen with a complete ok row, with its number of starts then.
    ok_seen: BTreeMap<u64, usize>,
    /// What went wrong, as it was seen.
    pub(crate) violations: Vec<String>,
    /// What is worth reporting but breaks no promise.
    pub(crate) notes: Vec<String>,
}

impl CrashStudy {
    /// A study drawn from `rng`: 12 to 24 jobs on 4 threads, all with multi-line values of up to
    /// `big` bytes, one in `new_column` of them (none if 0) bringing a new result column.
    pub(crate) fn new(rng: &mut Rng, out: Option<&Path>, big: u64, new_column: u64) -> CrashStudy {
        let s = Study::new();
        let jobs = rng.range(12, 25);
        let root = s.path().to_path_buf();
        std::fs::create_dir_all(root.join("ran")).unwrap();
        let mut lines = Vec::new();
        for i in 0..jobs {
            let mut result = serde_json::Map::new();
            result.insert("v".into(), "line1\nline2,\"q\"".into());
            let size = rng.range(0, big + 1);
            result.insert("big".into(), value_lines(i, size).into());
            if new_column > 0 && rng.range(0, new_column) == 0 {
                // The row that brings a column ends with it: a cut inside this value leaves a
                // row as wide as the header (issue 10, failure 1).
                let size = rng.range(16, big / 4 + 17);
                let value = format!("new\r\ncolumn {i}\n{}", value_lines(i, size));
                result.insert(format!("c{i}"), value.into());
            }
            s.write(
                format!("res/{i}.json"),
                serde_json::to_vec(&serde_json::Value::Object(result)).unwrap(),
            );
            let ran = sh_quote(&root.join(format!("ran/{i}")).display().to_string());
            let res = sh_quote(&root.join(format!("res/{i}.json")).display().to_string());
            let print = match rng.range(0, 3) {
                0 => format!("seq 1 {}", rng.range(1, 400)),
                1 => format!("echo out {i}; echo err {i} >&2"),
                _ => "true".to_owned(),
            };
            let sleep = rng.range(0, 60);
            lines.push(format!(
                "echo start $JOBSPLIT_ATTEMPT >> {ran}; {print}; sleep 0.{sleep:03}; cp {res} \"$JOBSPLIT_RESULT\" && echo end $JOBSPLIT_ATTEMPT >> {ran}"
            ));
        }
        s.setup(&lines, r#"{"solo": [1, 4]}"#, "");
        let out = out.map_or_else(|| s.out(), Path::to_path_buf);
        CrashStudy {
            s,
            jobs,
            out,
            ok_seen: BTreeMap::new(),
            violations: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The machine directory.
    pub(crate) fn dir(&self) -> PathBuf {
        self.out.join("solo")
    }

    /// `jobsplit run` of this study, not yet started.
    pub(crate) fn command(&self) -> std::process::Command {
        let mut cmd = self.s.std_cmd();
        cmd.args(["run", "--machine", "solo", "--yes", "--quiet", "--out"])
            .arg(&self.out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs to the end (reruns, up to 5, while it fails), and returns the runs it took.
    pub(crate) fn finish(&mut self) -> u64 {
        for n in 1..=5 {
            let out = self
                .command()
                .output()
                .unwrap_or_else(|e| panic!("jobsplit: {e}"));
            self.observe(&format!("rerun {n}"));
            if out.status.code() == Some(0) {
                return n;
            }
            let err = text(&out.stderr);
            if err.contains("another jobsplit run is writing") {
                // Right after a kill -9: who still holds the lock? (Noted, then retried.)
                let holders = lock_holders(&self.dir().join(".lock"));
                self.notes
                    .push(format!("rerun {n} found the lock held by {holders:?}"));
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            self.violations.push(format!(
                "rerun {n} exited {:?}: {}",
                out.status.code(),
                text(&out.stderr).trim_end()
            ));
        }
        5
    }

    /// Copies the machine directory's files (not its subdirectories) somewhere kept after the
    /// test, for a failing case to be looked at; returns where.
    pub(crate) fn keep_evidence(&self, seed: u64) -> PathBuf {
        let kept =
            std::env::temp_dir().join(format!("jobsplit-crash-{seed:x}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&kept);
        for entry in std::fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
            }
        }
        let _ = std::fs::copy(self.s.join("jobs.txt"), kept.join("jobs.txt"));
        kept
    }

    /// True if job `i` was seen with an ok row at an earlier observation.
    pub(crate) fn seen_ok(&self, i: u64) -> bool {
        self.ok_seen.contains_key(&i)
    }

    /// How many times each job was started so far.
    fn starts(&self) -> BTreeMap<u64, usize> {
        (0..self.jobs)
            .map(|i| {
                let ran = std::fs::read_to_string(self.s.join(format!("ran/{i}")));
                let n = ran.map_or(0, |t| t.lines().filter(|l| l.starts_with("start")).count());
                (i, n)
            })
            .collect()
    }

    /// Checks what is on disk now (no run going): a job once seen with an ok row keeps it and
    /// is never started again.
    pub(crate) fn observe(&mut self, when: &str) {
        let ok = ok_rows(&self.dir().join("results.csv"));
        let starts = self.starts();
        for (&i, &n) in &self.ok_seen {
            if starts[&i] != n {
                self.violations.push(format!(
                    "{when}: job {i} was started again after its ok row ({n} starts then, {} now)",
                    starts[&i]
                ));
            }
            if !ok.contains_key(&i) {
                self.violations
                    .push(format!("{when}: job {i} lost the ok row it had"));
            }
        }
        for &i in ok.keys() {
            self.ok_seen.entry(i).or_insert(starts[&i]);
        }
    }

    /// The four figures once the share is done (lost, duplicate ok rows, finished jobs run
    /// again, orphans) and whether Python reads the files.
    pub(crate) fn check_done(&mut self) -> Figures {
        self.observe("done");
        let ok = ok_rows(&self.dir().join("results.csv"));
        let lost = (0..self.jobs).filter(|i| !ok.contains_key(i)).count();
        let duplicates: usize = ok.values().map(|&n| n.saturating_sub(1)).sum();
        let rerun = self
            .violations
            .iter()
            .filter(|v| v.contains("started again"))
            .count();
        let marker = self.s.env_marker();
        wait_until(Duration::from_secs(5), || {
            procs_with_env(&marker).is_empty()
        });
        let left = procs_with_env(&marker);
        for (pid, _) in &left {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        let python = python_reads(&self.dir());
        let temps: Vec<String> = std::fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        if !temps.is_empty() {
            self.violations
                .push(format!("temporary files left: {temps:?}"));
        }
        if lost > 0 {
            let which: Vec<u64> = (0..self.jobs).filter(|i| !ok.contains_key(i)).collect();
            self.violations.push(format!("lost jobs {which:?}"));
        }
        if duplicates > 0 {
            self.violations
                .push(format!("{duplicates} duplicate ok rows: {ok:?}"));
        }
        if !left.is_empty() {
            self.violations.push(format!("orphans: {left:?}"));
        }
        if let Err(e) = &python {
            self.violations.push(format!("python: {e}"));
        }
        Figures {
            lost,
            duplicates,
            rerun,
            orphans: left.len(),
            python_failures: usize::from(python.is_err()),
            ..Figures::default()
        }
    }
}
