//! Result fields named like a fixed column, or like the name such a field is given, keep their
//! own columns: one rule (a field that is a fixed column's name or starts with `result_` gets a
//! `result_` prefix) that cannot map two fields to one column.

use jobsplit::testing::{column_name, ResultsWriter};

use crate::harness::{row, Results, Study};

const FIELDS: [(&str, &str); 6] = [
    ("index", "1"),
    ("result_index", "2"),
    ("result_result_index", "3"),
    ("status", "4"),
    ("result", "5"),
    ("results", "6"),
];

#[test]
fn no_two_fields_share_a_column() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (mut w, _) = ResultsWriter::open(&path, false).unwrap();
    w.append(&row(0, &FIELDS)).unwrap();
    drop(w);
    let r = Results::read(&path);
    assert_eq!(
        r.result_columns(),
        [
            "result_index",
            "result_result_index",
            "result_result_result_index",
            "result_status",
            "result",
            "results"
        ]
    );
    let row = &r.rows[0];
    for ((field, value), column) in FIELDS.iter().zip(r.result_columns()) {
        assert_eq!(row.get(&column), *value, "{field}");
        assert_eq!(column_name(field), column);
    }
    assert_eq!(row.index(), 0);
}

#[test]
fn a_job_result_with_index_and_result_index_keeps_both_through_merge() {
    let job = r#"echo '{"index": "mine", "result_index": "theirs", "v": 1}' > "$JOBSPLIT_RESULT""#;
    let s = Study::with(&[job.to_owned(), job.to_owned()], r#"{"solo": [1, 1]}"#, "");
    s.run("solo").arg("--quiet").assert().code(0);
    let r = s.results("solo");
    for row in &r.rows {
        assert_eq!(row.get("result_index"), "mine");
        assert_eq!(row.get("result_result_index"), "theirs");
    }
    s.cmd()
        .args(["merge", "out", "--out", "m"])
        .assert()
        .code(0);
    let m = Results::read(&s.join("m/results.csv"));
    assert_eq!(m.rows.len(), 2);
    for row in &m.rows {
        assert_eq!(row.get("result_index"), "mine");
        assert_eq!(row.get("result_result_index"), "theirs");
    }
}
