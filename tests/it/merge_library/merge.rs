//! `merge` of machine directories written by the library's writers: which row wins, what is
//! refused, the inputs left untouched, and the weights it suggests.

use super::*;

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
