//! merge, status and rescue through the real binary. This file holds the study the scenarios
//! share; `joins` holds the merges that go through, `refusals` what merge refuses or repairs.

mod joins;
mod refusals;

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{read_json, read_log, Results, Study};

const MACHINES: &str = r#"{"a": [1, 1], "b": [2, 1], "c": {"weight": 1, "cores": 2}}"#;

/// Jobs that report their index and, in a column named after the machine, a 1.
fn study(n: usize) -> Study {
    let jobs: Vec<String> = (0..n)
        .map(|_| r#"printf '{"v": %s, "on_%s": 1}' "$JOBSPLIT_JOB_INDEX" "$JOBSPLIT_MACHINE" > "$JOBSPLIT_RESULT"; echo "line of $JOBSPLIT_JOB_INDEX""#.to_owned())
        .collect();
    Study::with(&jobs, MACHINES, "seed = \"merge\"")
}

fn run_all(s: &Study, machines: &[&str], extra: &[&str]) {
    for m in machines {
        s.run(m).args(extra).args(["--quiet"]).assert().success();
    }
}

fn merge(s: &Study, args: &[&str]) -> std::process::Output {
    s.cmd().arg("merge").args(args).output().unwrap()
}

fn hashes(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    crate::harness::files_under(dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// The lines in the whole gzip members at the start of a file cut short.
fn whole_members(path: &Path) -> usize {
    use std::io::Read as _;
    let data = std::fs::read(path).unwrap();
    let mut rest: &[u8] = &data;
    let mut lines = 0;
    while !rest.is_empty() {
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        let mut text = String::new();
        if dec.read_to_string(&mut text).is_err() {
            break;
        }
        lines += text.lines().count();
        rest = dec.into_inner();
    }
    lines
}
