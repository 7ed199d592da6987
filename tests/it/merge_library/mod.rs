//! The output writers and `merge`, `load_rescue` and `status`, through the library API: machine
//! directories are written with the crate's own writers, then merged (`merge`) or read back
//! (`reading`). This file holds what both write with.

mod merge;
mod reading;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jobsplit::testing::LogWriter;
use jobsplit::testing::Manifest;
use jobsplit::testing::Stream;
use jobsplit::testing::Tally;
use jobsplit::testing::{load_rescue, merge, status, MergeOptions};
use jobsplit::testing::{ResultRow, ResultsWriter};
use jobsplit::testing::{RunState, Status};
use jobsplit::ErrorKind;

const WORK: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PLAN: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn at(s: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_secs_f64(s)
}

fn key(index: u64) -> String {
    format!("{:016x}", index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn row(index: u64, machine: &str, status: Status, start: f64, dur: f64) -> ResultRow {
    ResultRow {
        index,
        key: key(index),
        machine: machine.into(),
        status,
        exit_code: (status != Status::Interrupted).then_some(i32::from(status != Status::Ok)),
        attempt: 1,
        started_at: at(start),
        duration: Duration::from_secs_f64(dur),
        inputs: Vec::new(),
        command: None,
        error: (status != Status::Ok).then(|| format!("{status}, \"quoted\"")),
        fields: Vec::new(),
    }
}

fn with(mut r: ResultRow, fields: &[(&str, &str)]) -> ResultRow {
    r.fields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r
}

struct Dir {
    name: &'static str,
    weight: f64,
    cores: u64,
    plan: &'static str,
    work: &'static str,
    jobs_total: u64,
}

fn dir(name: &'static str) -> Dir {
    Dir {
        name,
        weight: 1.0,
        cores: 1,
        plan: PLAN,
        work: WORK,
        jobs_total: 6,
    }
}

/// Writes `root/<name>/` as a finished run: manifest.json, results.csv, log.gz.
fn write(root: &Path, d: &Dir, rows: &[ResultRow]) -> PathBuf {
    let path = root.join(d.name);
    std::fs::create_dir_all(&path).unwrap();
    let (mut w, _) = ResultsWriter::open(&path.join("results.csv"), false).unwrap();
    let (mut log, _) = LogWriter::open(&path.join("log.gz")).unwrap();
    for r in rows {
        w.append(r).unwrap();
        log.line(r.started_at, Some(r.index), Stream::Out, "out\tput")
            .unwrap();
        log.line(
            r.started_at + r.duration,
            Some(r.index),
            Stream::Event,
            r.status.as_str(),
        )
        .unwrap();
        log.end_member().unwrap();
    }
    log.finish().unwrap();
    let start = rows.iter().map(|r| r.started_at).min().unwrap_or(at(0.0));
    let end = rows
        .iter()
        .map(|r| r.started_at + r.duration)
        .max()
        .unwrap_or(at(0.0));
    let count = |s| rows.iter().filter(|r| r.status == s).count() as u64;
    Manifest {
        algorithm: "split-v1".into(),
        work_digest: d.work.into(),
        plan_digest: d.plan.into(),
        machine: d.name.into(),
        weight: d.weight,
        cores: d.cores,
        threads: d.cores,
        share: rows.len() as u64,
        jobs_total: d.jobs_total,
        excluded: 0,
        version: "test".into(),
        hostname: d.name.into(),
        started_at: jobsplit::testing::rfc3339(start),
        ended_at: Some(jobsplit::testing::rfc3339(end)),
        state: RunState::Finished,
        counts: Tally {
            ok: count(Status::Ok),
            failed: count(Status::Failed),
            timeout: count(Status::Timeout),
            interrupted: count(Status::Interrupted),
            cancelled: count(Status::Cancelled),
            ..Tally::default()
        },
        busy_s: rows.iter().map(|r| r.duration.as_secs_f64()).sum(),
        shard: None,
        first_key: None,
        balance: None,
        planned: Vec::new(),
        payload: None,
        epochs: Vec::new(),
    }
    .write_atomic(&path)
    .unwrap();
    path
}

fn opts(out: &Path) -> MergeOptions {
    MergeOptions {
        out: out.to_path_buf(),
        write_machines: None,
        collect_files: true,
    }
}

/// The merged results.csv: header, then rows as maps.
fn merged(out: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn hashes(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    crate::harness::files_under(root)
}
