//! results.csv grows its header without rewriting the whole file once per new column (that
//! cost rows x columns^2): rows bringing new columns in a burst wait in the journal
//! `results.csv.pending` and are folded in with one rewrite; a journal a killed run left is
//! folded by the next run before anything else, once.

use std::io::BufRead;
use std::path::Path;

use jobsplit::testing::ResultsWriter;

use crate::harness::{row, Results, Study};

fn first_line(path: &Path) -> String {
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

#[test]
fn a_burst_of_new_columns_is_folded_in_a_few_rewrites_not_one_each() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (mut w, _) = ResultsWriter::open(&path, false).unwrap();
    for i in 0..2_000 {
        w.append(&row(i, &[("v", "1")])).unwrap();
    }
    // 200 rows, each with a column of its own: every rewrite gives the file a new header.
    let mut header = first_line(&path);
    let mut rewrites = 0;
    for i in 2_000..2_200u64 {
        let name = format!("c{i}");
        w.append(&row(i, &[("v", "2"), (name.as_str(), "x")]))
            .unwrap();
        let now = first_line(&path);
        if now != header {
            rewrites += 1;
            header = now;
        }
    }
    w.finish().unwrap();
    drop(w);
    eprintln!("{rewrites} rewrites for 200 new columns");
    assert!(rewrites < 50, "{rewrites} rewrites for 200 new columns");
    assert!(!t.path().join("results.csv.pending").exists());
    let r = Results::read(&path);
    assert_eq!(r.rows.len(), 2_200);
    assert_eq!(r.result_columns().len(), 201);
    for (i, row) in r.rows.iter().enumerate() {
        assert_eq!(
            row.index(),
            i as u64,
            "file order is the order of the attempts"
        );
        if i >= 2_000 {
            assert_eq!(row.get(&format!("c{i}")), "x");
            assert_eq!(row.get("v"), "2");
        } else {
            assert_eq!(row.get("c2000"), "");
        }
    }
}

/// A study of one machine `solo` whose jobs `0..n` each write a result `{"v": I}`.
fn study(n: u64) -> Study {
    let jobs: Vec<String> = (0..n)
        .map(|i| format!(r#"echo '{{"v": {i}}}' > "$JOBSPLIT_RESULT""#))
        .collect();
    Study::with(&jobs, r#"{"solo": [1, 1]}"#, "")
}

#[test]
fn a_journal_a_killed_run_left_is_folded_by_the_next_run_once() {
    let s = study(4);
    s.run("solo").assert().code(0);
    let csv = s.machine_dir("solo").join("results.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // Jobs 2 and 3's rows, as if they were still in the journal (with a column results.csv
    // lacks), the last line of the journal torn by the kill.
    let header = lines.remove(0);
    let keep: Vec<&str> = lines
        .iter()
        .filter(|l| !l.starts_with("2,") && !l.starts_with("3,"))
        .copied()
        .collect();
    let moved: Vec<Vec<String>> = lines
        .iter()
        .filter(|l| l.starts_with("2,") || l.starts_with("3,"))
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(moved.len(), 2);
    std::fs::write(&csv, format!("{header}\n{}\n", keep.join("\n"))).unwrap();
    let mut journal = String::from("{\"after_rows\":2}\n");
    for cells in &moved {
        let v = cells.last().unwrap();
        journal += &serde_json::json!({
            "fixed": &cells[..9],
            "cells": [["v", v], ["extra", "e"]],
        })
        .to_string();
        journal.push('\n');
    }
    journal += "{\"fixed\":[\"9\"";
    std::fs::write(s.machine_dir("solo").join("results.csv.pending"), journal).unwrap();
    // The next run folds the journal in first: nothing left to run, nothing lost.
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!s.machine_dir("solo").join("results.csv.pending").exists());
    let r = s.results("solo");
    let mut got: Vec<(u64, String, String)> = r
        .rows
        .iter()
        .map(|x| (x.index(), x.get("v").to_owned(), x.get("extra").to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (0, "0".into(), "".into()),
            (1, "1".into(), "".into()),
            (2, "2".into(), "e".into()),
            (3, "3".into(), "e".into())
        ]
    );
    // A journal whose rows are in results.csv already (a fold killed after its rename) is
    // dropped, not folded twice.
    std::fs::write(
        s.machine_dir("solo").join("results.csv.pending"),
        "{\"after_rows\":2}\n",
    )
    .unwrap();
    s.run("solo").assert().code(0);
    assert_eq!(s.results("solo").rows.len(), 4);
    assert!(!s.machine_dir("solo").join("results.csv.pending").exists());
}
