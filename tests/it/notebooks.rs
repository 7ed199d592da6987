//! docs/notebooks.md: each Python snippet reads a real merged results.csv (a result column that
//! is a number in its first 150 rows and a string later, a job killed by a signal, so an empty
//! exit code) with the right types. A snippet whose package is not installed is skipped, said
//! on stderr.

use std::process::Command;

use crate::harness::Study;

/// The ```python blocks of docs/notebooks.md.
fn python_blocks() -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/notebooks.md")).unwrap();
    doc.split("```python\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .collect()
}

/// Checks appended to each snippet, by the package it imports: the types it promises.
fn checks(block: &str) -> Option<(&'static str, &'static str)> {
    let pandas = r#"
assert str(df["key"].dtype) == "string", df.dtypes
assert str(df["exit_code"].dtype) == "Int64", df.dtypes
assert str(df["started_at"].dtype).startswith("datetime64") and "UTC" in str(df["started_at"].dtype), df.dtypes
assert df["exit_code"].isna().sum() == 1 and (df["exit_code"] == 3).sum() == 1
assert (df["key"].str.len() == 16).all()
"#;
    let polars = r#"
assert df.schema["key"] == pl.String, df.schema
assert df.schema["exit_code"] == pl.Int64, df.schema
assert df.schema["started_at"] == pl.Datetime("us", "UTC"), df.schema
assert df.schema["v"] == pl.String, df.schema
assert df["exit_code"].null_count() == 1
assert df.height == 154
"#;
    let duckdb = r#"
types = dict(zip(df.columns, [str(t) for t in df.dtypes]))
assert types["key"] == "VARCHAR", types
assert types["exit_code"] == "INTEGER", types
assert types["started_at"] == "TIMESTAMP WITH TIME ZONE", types
assert types["v"] == "VARCHAR", types
assert len(df.fetchall()) == 154
"#;
    [("pandas", pandas), ("polars", polars), ("duckdb", duckdb)]
        .into_iter()
        .find(|(name, _)| block.contains(&format!("import {name}")))
}

#[test]
fn python_snippets_read_results_with_the_right_types() {
    // 151 jobs with a numeric result `v`, then one whose `v` is a string (past polars' and
    // pandas' first rows), one killed by a signal and one exiting 3. Every key is read as text.
    let mut jobs: Vec<String> = (0..151)
        .map(|i| format!(r#"printf '{{"v": {i}, "loss": 0.5}}' > "$JOBSPLIT_RESULT""#))
        .collect();
    jobs.push(r#"printf '{"v": "text"}' > "$JOBSPLIT_RESULT""#.to_owned());
    jobs.push("kill -9 $$".to_owned());
    jobs.push("exit 3".to_owned());
    let s = Study::with(&jobs, r#"{"here": [1, 1]}"#, "");
    s.run("here").arg("--quiet").assert().code(1);
    s.cmd()
        .args(["merge", "out", "--out", "merged"])
        .assert()
        .code(1);
    let blocks = python_blocks();
    assert_eq!(blocks.len(), 3, "pandas, polars, duckdb");
    for block in blocks {
        let (name, check) = checks(&block).expect("a snippet of pandas, polars or duckdb");
        let present = Command::new("python3")
            .args(["-c", &format!("import {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            eprintln!("notebooks: {name} is not installed; its snippet is not checked");
            continue;
        }
        let out = Command::new("python3")
            .args(["-c", &format!("{block}\n{check}")])
            .current_dir(s.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} snippet:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
