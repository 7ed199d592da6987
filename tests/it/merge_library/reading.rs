//! What reads a machine directory back: a rescue's ok jobs, the status of a run still writing,
//! and a results header that grows while rows are torn.

use super::*;

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
