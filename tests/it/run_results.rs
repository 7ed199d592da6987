//! Result capture of command jobs: a JSON object in `$JOBSPLIT_RESULT` becomes columns (the
//! header grows as new ones appear, earlier rows padded), `--capture last-line` keeps the last
//! stdout line, and a result file that is not a JSON object fails the job with a clear error.

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

#[test]
fn result_objects_become_columns_and_new_columns_grow_the_header() {
    // Every job writes the common column `a` and a column of its own, so (one thread, share
    // order) every job after the first grows the header over rows already written.
    let jobs: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"printf '{{"a": {i}, "c{i}": "v,{i}\\n\\"q\\"", "status": "mine", "n": {{"x": [{i}]}}}}' > "$JOBSPLIT_RESULT""#
            )
        })
        .collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").args(["--threads", "1"]).assert().code(0);
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 6);
    let mut expected_cols = vec!["a", "result_status", "n"];
    let own: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    expected_cols.extend(own.iter().map(String::as_str));
    let mut cols = r.result_columns().to_vec();
    cols.sort();
    expected_cols.sort_unstable();
    assert_eq!(cols, expected_cols, "header {:?}", r.headers);
    for row in &r.rows {
        let i = row.index();
        assert_eq!(row.status(), "ok", "{row:?}");
        assert_eq!(row.get("a"), i.to_string());
        assert_eq!(row.get(&format!("c{i}")), format!("v,{i}\n\"q\""));
        // A field named like a fixed column gets `result_`; the fixed one is untouched.
        assert_eq!(row.get("result_status"), "mine");
        assert_eq!(row.get("n"), format!(r#"{{"x":[{i}]}}"#));
        for j in (0..6).filter(|&j| j != i) {
            assert_eq!(row.get(&format!("c{j}")), "", "row {i} padded");
        }
    }
    // A rerun resumes the grown file without complaint.
    s.run("solo").assert().code(0);
    assert_eq!(s.results("solo"), r);
}

#[test]
fn capture_last_line_fills_the_result_column() {
    let jobs: Vec<String> = (0..4)
        .map(|i| match i {
            // A result file wins over the last line.
            3 => r#"echo '{"from_file": 1}' > "$JOBSPLIT_RESULT"; echo last"#.to_owned(),
            _ => format!("echo first; echo 'last line {i}, with a comma'; echo; echo ' ' >&2"),
        })
        .collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo")
        .args(["--capture", "last-line"])
        .assert()
        .code(0);
    let r = s.results("solo");
    for row in &r.rows {
        match row.index() {
            3 => {
                assert_eq!(row.get("from_file"), "1");
                assert_eq!(row.get("result"), "");
            }
            i => assert_eq!(row.get("result"), format!("last line {i}, with a comma")),
        }
    }
    // Without capture there is no result column.
    let plain = Study::with(&jobs[..1], ONE, "");
    plain.run("solo").assert().code(0);
    assert!(plain.results("solo").result_columns().is_empty());
}

#[test]
fn a_result_file_that_is_not_a_json_object_fails_the_job() {
    let jobs = vec![
        r#"echo 'not json {' > "$JOBSPLIT_RESULT""#.to_owned(),
        r#"echo '[1, 2]' > "$JOBSPLIT_RESULT""#.to_owned(),
        r#"echo '{"fine": true}' > "$JOBSPLIT_RESULT""#.to_owned(),
    ];
    let s = Study::with(&jobs, ONE, "");
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = s.results("solo");
    let last = r.last_by_index();
    for i in [0, 1] {
        let row = last[&i];
        assert_eq!(row.status(), "failed", "{row:?}");
        assert!(
            row.get("error").contains("JOBSPLIT_RESULT") && row.get("error").contains("JSON"),
            "unclear error: {row:?}"
        );
    }
    assert_eq!(last[&2].status(), "ok");
    assert_eq!(last[&2].get("fine"), "true");
}

#[test]
fn a_job_that_changes_directory_still_finds_its_result_file_and_scratch_dir() {
    // The config's relative `out` must not leak into the job's paths: a job that changes
    // directory (to its scratch dir, say) still writes its result where the runner reads it.
    let jobs = vec![
        r#"mkdir -p "$JOBSPLIT_OUT" && cd "$JOBSPLIT_OUT" && touch scratch-file && echo '{"x": 1}' > "$JOBSPLIT_RESULT""#
            .to_owned(),
        r#"cd / && mkdir -p "$JOBSPLIT_OUT" && test -d "$JOBSPLIT_OUT" && echo '{"x": 2}' > "$JOBSPLIT_RESULT""#.to_owned(),
    ];
    let s = Study::with(&jobs, ONE, "");
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    let last = r.last_by_index();
    assert_eq!(last[&0].get("x"), "1");
    assert_eq!(last[&1].get("x"), "2");
    // The scratch dir the job wrote into is kept under the machine's output dir.
    assert!(s.machine_dir("solo").join("jobs/0/scratch-file").is_file());
    assert!(!s.join("scratch-file").exists());
}
