//! A complete (line-ended) but malformed row at the end of results.csv is not a torn row: `run`
//! refuses with one line naming the file and line, exit 2, and the file and the whole output
//! directory are left byte for byte as they were.

use jobsplit::testing::ResultsWriter;

use crate::harness::{files_under, row, text, Study};

const ONE: &str = r#"{"solo": [1, 2]}"#;

/// Complete rows that are not rows of this file: (what, the line appended).
fn malformed(key: &str) -> Vec<(&'static str, String)> {
    let time = "2026-11-23T05:01:02.123456Z";
    vec![
        (
            "unknown status",
            format!("0,{key},solo,done,0,1,{time},0.100000,,\n"),
        ),
        (
            "extra field",
            format!("0,{key},solo,ok,0,1,{time},0.100000,,,extra\n"),
        ),
        (
            "bad key",
            format!("0,not-a-key,solo,ok,0,1,{time},0.100000,,\n"),
        ),
        ("garbage", "garbage\n".to_owned()),
        (
            "bad time",
            format!("0,{key},solo,ok,0,1,yesterday,0.100000,,\n"),
        ),
        (
            "two garbage lines",
            format!("garbage\n0,{key},solo,ok,0,1,{time},0.1,,\n"),
        ),
    ]
}

#[test]
fn run_refuses_a_complete_malformed_last_row_and_changes_nothing() {
    let jobs: Vec<String> = (0..4)
        .map(|i| format!(r#"echo '{{"v": {i}}}' > "$JOBSPLIT_RESULT""#))
        .collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").arg("--quiet").assert().code(0);
    let path = s.machine_dir("solo").join("results.csv");
    let good = std::fs::read(&path).unwrap();
    let key = s.results("solo").rows[0].get("key").to_owned();
    let line = text(&good).lines().count() + 1;
    for (what, bad) in malformed(&key) {
        let mut data = good.clone();
        data.extend_from_slice(bad.as_bytes());
        std::fs::write(&path, &data).unwrap();
        let before = files_under(s.path());
        let out = s.run("solo").output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{what}: one error line: {err}");
        assert!(
            errors[0].contains(&format!("results.csv:{line}:")),
            "{what}: names the file and line {line}: {err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            data,
            "{what}: results.csv changed"
        );
        assert_eq!(files_under(s.path()), before, "{what}: files were written");
    }
}

#[test]
fn the_writer_refuses_a_malformed_last_row_and_leaves_the_file_alone() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (mut w, _) = ResultsWriter::open(&path, false).unwrap();
    w.append(&row(0, &[("v", "1")])).unwrap();
    drop(w);
    let good = std::fs::read(&path).unwrap();
    for (what, bad) in malformed("00000000000000ff") {
        let mut data = good.clone();
        data.extend_from_slice(bad.as_bytes());
        std::fs::write(&path, &data).unwrap();
        let e = ResultsWriter::open(&path, false).unwrap_err();
        assert_eq!(e.kind(), jobsplit::ErrorKind::Damaged, "{what}: {e}");
        assert!(e.to_string().contains("results.csv:3:"), "{what}: {e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            data,
            "{what}: the file changed"
        );
    }
    // A torn (unterminated) last row is still cut away.
    let mut data = good.clone();
    data.extend_from_slice(b"garbage");
    std::fs::write(&path, &data).unwrap();
    let (_, existing) = ResultsWriter::open(&path, false).unwrap();
    assert_eq!(existing.repaired_bytes, 7);
    assert_eq!(std::fs::read(&path).unwrap(), good);
}
