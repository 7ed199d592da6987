//! The output writers and `merge`, `load_rescue` and `status`, through the library API: machine
//! directories are written with the crate's own writers, then merged.

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

#[test]
fn ok_beats_failure_latest_beats_earlier_and_columns_unite() {
    let t = tempfile::tempdir().unwrap();
    let a = write(
        t.path(),
        &dir("a"),
        &[
            with(row(0, "a", Status::Failed, 10.0, 1.0), &[("x", "a0")]),
            row(1, "a", Status::Failed, 1.0, 1.0),
            with(row(1, "a", Status::Timeout, 3.0, 1.0), &[("x", "late")]),
            row(2, "a", Status::Failed, 5.0, 1.0),
            with(
                row(3, "a", Status::Ok, 6.0, 1.0),
                &[("x", "a3"), ("y", "1")],
            ),
        ],
    );
    let b = write(
        t.path(),
        &dir("b"),
        &[
            with(
                row(0, "b", Status::Ok, 5.0, 1.0),
                &[("z", "b0"), ("x", "bx"), ("status", "s")],
            ),
            row(2, "b", Status::Interrupted, 9.0, 1.0),
            with(row(4, "b", Status::Ok, 2.0, 1.0), &[("z", "b4,\"q\"")]),
        ],
    );
    let out = t.path().join("merged");
    let report = merge(&[a, b], &opts(&out)).unwrap();
    let (header, rows) = merged(&out);
    assert_eq!(
        header[9..],
        ["x", "y", "z", "result_status"],
        "fixed columns, then the union in order first seen"
    );
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["index"].as_str(),
                r["machine"].as_str(),
                r["status"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0", "b", "ok"),
            ("1", "a", "timeout"),
            ("2", "b", "interrupted"),
            ("3", "a", "ok"),
            ("4", "b", "ok"),
        ]
    );
    assert_eq!(rows[0]["x"], "bx");
    assert_eq!(rows[0]["z"], "b0");
    assert_eq!(rows[0]["result_status"], "s");
    assert_eq!(rows[0]["y"], "");
    assert_eq!(rows[1]["x"], "late");
    assert_eq!(rows[2]["error"], "interrupted, \"quoted\"");
    assert_eq!(rows[3]["y"], "1");
    assert_eq!(rows[4]["z"], "b4,\"q\"");
    let s = &report.summary;
    assert_eq!(
        (
            s.counts.ok,
            s.counts.failed,
            s.counts.timeout,
            s.counts.interrupted
        ),
        (3, 0, 1, 1)
    );
    assert_eq!((s.counts.not_run, s.missing, s.duplicates), (1, 3, 0));
    assert!(!report.all_ok());
    let missing = std::fs::read_to_string(out.join("missing.txt")).unwrap();
    assert_eq!(missing, "1\n2\n5\n");
    let on_disk = jobsplit::testing::Summary::read(&out).unwrap();
    assert_eq!(&on_disk, s);
    assert!(
        report.render_table().contains("6 jobs, 3 ok"),
        "{}",
        report.render_table()
    );
}

#[test]
fn duplicate_ok_rows_are_counted_listed_and_kept_once() {
    let t = tempfile::tempdir().unwrap();
    let mut d = dir("a");
    d.jobs_total = 2;
    let a = write(
        t.path(),
        &d,
        &[
            row(0, "a", Status::Ok, 1.0, 1.0),
            row(1, "a", Status::Ok, 1.0, 1.0),
        ],
    );
    let mut d = dir("b");
    d.jobs_total = 2;
    let b = write(t.path(), &d, &[row(1, "b", Status::Ok, 4.0, 1.0)]);
    let out = t.path().join("m");
    let report = merge(&[a, b], &opts(&out)).unwrap();
    assert_eq!(report.summary.duplicates, 1);
    assert_eq!(report.duplicates.len(), 1);
    assert_eq!(report.duplicates[0].0, 1);
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("more than one ok")));
    let (_, rows) = merged(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["machine"], "b", "the latest ok row is kept");
    assert!(report.all_ok());
    assert_eq!(
        std::fs::read_to_string(out.join("missing.txt")).unwrap(),
        ""
    );
}

#[test]
fn what_does_not_belong_together_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let a = write(t.path(), &dir("a"), &[row(0, "a", Status::Ok, 1.0, 1.0)]);
    let mut other = dir("b");
    other.work = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    let b = write(t.path(), &other, &[row(1, "b", Status::Ok, 1.0, 1.0)]);
    let out = t.path().join("m");
    let e = merge(&[a.clone(), b.clone()], &opts(&out)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PlanMismatch, "{e}");
    let e = e.to_string();
    assert!(
        e.contains("aaaaaaaa") && e.contains("cccccccc") && e.contains("/a") && e.contains("/b"),
        "{e}"
    );

    // The same machine of the same plan twice (a copy).
    let copy = t.path().join("copy/a");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["manifest.json", "results.csv", "log.gz"] {
        std::fs::copy(a.join(f), copy.join(f)).unwrap();
    }
    let e = merge(&[a.clone(), copy], &opts(&out)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutputDir, "{e}");
    assert!(e.to_string().contains("the same machine twice"), "{e}");

    // A directory without a manifest anywhere below.
    let empty = t.path().join("empty/sub");
    std::fs::create_dir_all(&empty).unwrap();
    let e = merge(&[a.clone(), t.path().join("empty")], &opts(&out)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutputDir, "{e}");
    assert!(e.to_string().contains("no manifest.json found"), "{e}");

    // An output directory inside an input, or holding one: refused before anything is made.
    let before = hashes(t.path());
    for bad in [a.join("merged"), t.path().to_path_buf()] {
        let e = merge(std::slice::from_ref(&a), &opts(&bad)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutputDir, "{e}");
        assert!(
            e.to_string().contains("merge never writes into its inputs"),
            "{e}"
        );
    }
    assert!(!a.join("merged").exists());
    assert_eq!(before, hashes(t.path()));
}

#[test]
fn merging_never_modifies_the_inputs_and_takes_gzip_and_torn_rows() {
    let t = tempfile::tempdir().unwrap();
    let inputs = t.path().join("OUT");
    let a = write(
        &inputs,
        &dir("a"),
        &[
            row(0, "a", Status::Ok, 1.0, 1.0),
            row(1, "a", Status::Ok, 2.0, 1.0),
        ],
    );
    let b = write(
        &inputs,
        &dir("b"),
        &[
            row(2, "b", Status::Ok, 1.0, 1.0),
            row(3, "b", Status::Ok, 2.0, 1.0),
        ],
    );
    // a: results.csv.gz; b: its last row torn by a crash; both logs cut mid-member.
    let plain = std::fs::read(a.join("results.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    std::fs::write(a.join("results.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::remove_file(a.join("results.csv")).unwrap();
    let data = std::fs::read(b.join("results.csv")).unwrap();
    std::fs::write(b.join("results.csv"), &data[..data.len() - 5]).unwrap();
    let log = std::fs::read(b.join("log.gz")).unwrap();
    std::fs::write(b.join("log.gz"), &log[..log.len() - 3]).unwrap();

    let before = hashes(&inputs);
    let out = t.path().join("merged");
    let report = merge(std::slice::from_ref(&inputs), &opts(&out)).unwrap();
    assert_eq!(before, hashes(&inputs), "an input changed");
    let (_, rows) = merged(&out);
    let idx: Vec<&str> = rows.iter().map(|r| r["index"].as_str()).collect();
    assert_eq!(idx, ["0", "1", "2"]);
    assert!(
        report.warnings.iter().any(|w| w.contains("cut short")),
        "{:?}",
        report.warnings
    );
    assert!(
        report.warnings.iter().any(|w| w.contains("log.gz")),
        "{:?}",
        report.warnings
    );
    assert_eq!(
        std::fs::read_to_string(out.join("missing.txt")).unwrap(),
        "3\n4\n5\n"
    );
    // No temporary file is left in the output.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["log.gz", "missing.txt", "results.csv", "summary.json"]
    );
}

#[test]
fn a_machine_twice_as_fast_per_core_is_suggested_twice_the_weight() {
    let t = tempfile::tempdir().unwrap();
    let n = 60;
    let mut slow = dir("slow");
    slow.jobs_total = n;
    slow.weight = 1.5;
    slow.cores = 4;
    let mut fast = dir("fast");
    fast.jobs_total = n;
    fast.weight = 1.5;
    fast.cores = 2;
    let rows = |d: &Dir, range: std::ops::Range<u64>, dur: f64| -> Vec<ResultRow> {
        range
            .map(|i| row(i, d.name, Status::Ok, i as f64 * dur / d.cores as f64, dur))
            .collect()
    };
    let s = write(t.path(), &slow, &rows(&slow, 0..40, 2.0));
    let f = write(t.path(), &fast, &rows(&fast, 40..n, 1.0));
    let out = t.path().join("m");
    let machines = t.path().join("machines.json");
    let o = MergeOptions {
        out: out.clone(),
        write_machines: Some(machines.clone()),
        collect_files: true,
    };
    let report = merge(&[s.clone(), f.clone()], &o).unwrap();
    let m = &report.summary.machines;
    let (ws, wf) = (
        m[0].suggested_weight.unwrap(),
        m[1].suggested_weight.unwrap(),
    );
    assert!((wf / ws - 2.0).abs() < 0.05, "{ws} {wf}");
    assert!(
        (ws + wf - 3.0).abs() < 0.01,
        "the sum of the weights is kept: {ws} {wf}"
    );
    let table = report.render_table();
    assert!(table.contains("slow") && table.contains("fast"), "{table}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&machines).unwrap()).unwrap();
    let keys: Vec<&String> = written.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["slow", "fast"], "in the machines' order");
    assert_eq!(written["fast"]["cores"], 2);
    assert_eq!(written["fast"]["weight"].as_f64(), Some(wf));
    // Never overwritten.
    let again = MergeOptions {
        out: t.path().join("m2"),
        write_machines: Some(machines.clone()),
        collect_files: true,
    };
    let e = merge(&[s, f], &again).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("never overwrites"), "{e}");
    assert!(!t.path().join("m2").exists());
}

#[test]
fn a_rescue_reads_the_ok_jobs_back() {
    let t = tempfile::tempdir().unwrap();
    let a = write(
        t.path(),
        &dir("a"),
        &[
            row(4, "a", Status::Ok, 1.0, 1.0),
            row(1, "a", Status::Failed, 1.0, 1.0),
            row(0, "a", Status::Ok, 1.0, 1.0),
        ],
    );
    // A rescue plan's run beside the original: merged by key, with a warning.
    let mut rescue = dir("a");
    rescue.plan = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    let r = write(
        &t.path().join("rescue"),
        &rescue,
        &[row(1, "a", Status::Ok, 9.0, 1.0)],
    );
    let out = t.path().join("m");
    let report = merge(&[a, r], &opts(&out)).unwrap();
    assert!(report.warnings.iter().any(|w| w.contains("2 plans")));
    assert_eq!(report.summary.plan_digests.len(), 2);
    let rescue = load_rescue(&out).unwrap();
    assert_eq!(rescue.ok, [0, 1, 4]);
    assert_eq!((rescue.jobs_total, rescue.work_digest.as_str()), (6, WORK));
    let e = load_rescue(t.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.to_string().contains("summary.json"), "{e}");
}

#[test]
fn status_reads_a_run_still_writing_its_results() {
    let t = tempfile::tempdir().unwrap();
    let a = write(
        t.path(),
        &dir("a"),
        &[
            row(0, "a", Status::Ok, 1.0, 1.0),
            row(1, "a", Status::Failed, 2.0, 1.0),
            row(2, "a", Status::Ok, 3.0, 1.0),
        ],
    );
    let mut m = Manifest::read(&a).unwrap();
    m.state = RunState::Running;
    m.ended_at = None;
    m.share = 6;
    m.write_atomic(&a).unwrap();
    let data = std::fs::read(a.join("results.csv")).unwrap();
    std::fs::write(a.join("results.csv"), &data[..data.len() - 10]).unwrap();
    let report = status(&[a]).unwrap();
    let s = &report.machines[0];
    assert_eq!(
        (s.progress.done, s.progress.ok, s.progress.failed, s.share),
        (2, 1, 1, 6)
    );
    assert_eq!(s.state, RunState::Running.into());
    assert!(s.eta_s.is_some());
    assert!(report.render_table().contains("2/6"));
    serde_json::to_string(&report).unwrap();
}

#[test]
fn results_header_grows_atomically_and_torn_rows_are_repaired() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (mut w, existing) = ResultsWriter::open(&path, true).unwrap();
    assert_eq!(existing.rows, 0);
    w.append(&with(row(0, "m", Status::Ok, 1.0, 1.0), &[("a", "1")]))
        .unwrap();
    w.append(&with(row(1, "m", Status::Ok, 2.0, 1.0), &[("b", "x\ny")]))
        .unwrap();
    w.append(&with(
        row(2, "m", Status::Ok, 3.0, 1.0),
        &[("b", "2"), ("a", "3")],
    ))
    .unwrap();
    // Rows that bring new columns in a burst may wait in the journal for one rewrite
    // (results.csv.pending): folded in now.
    w.finish().unwrap();
    let check = |rows: usize| {
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(
            r.headers().unwrap().iter().skip(9).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(recs.len(), rows);
        let tail =
            |r: &csv::StringRecord| -> Vec<String> { r.iter().skip(9).map(String::from).collect() };
        assert_eq!(tail(&recs[0]), ["1", ""]);
        assert_eq!(tail(&recs[1]), ["", "x\ny"]);
        assert_eq!(tail(&recs[2]), ["3", "2"]);
    };
    check(3);

    // A failure in the middle of a rewrite (here the file cannot be read back: a directory
    // took its name). The file stays as it was, whole, no temporary is left behind, and the
    // row waits in the journal for the next rewrite.
    let tmp = t.path().join("results.csv.tmp");
    let before = std::fs::read(&path).unwrap();
    let aside = t.path().join("aside.csv");
    std::fs::rename(&path, &aside).unwrap();
    std::fs::create_dir(&path).unwrap();
    let appended = w.append(&with(row(3, "m", Status::Ok, 4.0, 1.0), &[("c", "new")]));
    let folded = w.finish();
    assert!(appended.is_err() || folded.is_err());
    std::fs::remove_dir(&path).unwrap();
    std::fs::rename(&aside, &path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut left: Vec<String> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["results.csv", "results.csv.pending"],
        "a temporary is left"
    );
    // A half-written temporary left by a crash is simply replaced by the next rewrite, which
    // folds the waiting row in.
    std::fs::write(&tmp, "index,key,garbage").unwrap();
    drop(w);
    assert!(!t.path().join("results.csv.pending").exists());

    // A row torn by kill -9 is cut away on open; the rest are counted.
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(b"4,00000000000000ff,m,ok,0,1,2026");
    std::fs::write(&path, &data).unwrap();
    let (mut w, existing) = ResultsWriter::open(&path, false).unwrap();
    assert_eq!(existing.rows, 4);
    assert_eq!(existing.repaired_bytes, 32);
    assert_eq!(existing.ok_keys.len(), 4);
    assert_eq!(existing.attempts[&key(1)], 1);
    w.append(&with(row(4, "m", Status::Ok, 5.0, 1.0), &[("d", "new")]))
        .unwrap();
    w.finish().unwrap();
    assert!(!tmp.exists());
    let mut r = csv::Reader::from_path(&path).unwrap();
    assert_eq!(r.headers().unwrap().len(), 13);
    assert_eq!(r.records().count(), 5);

    // A malformed row before the end is an error naming its line.
    let mut data = std::fs::read(&path).unwrap();
    let second = data.iter().position(|&b| b == b'\n').unwrap() + 1;
    data.splice(second..second, b"oops\n".iter().copied());
    std::fs::write(&path, &data).unwrap();
    let e = ResultsWriter::open(&path, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Damaged, "{e}");
    assert!(e.to_string().contains("results.csv:2:"), "{e}");
}
