//! GNU parallel habits (issue 14): `-j 4` meant as a thread count gets a hint, `{%}` and
//! `JOBSPLIT_SLOT` give the slot, and `{.} {/} {//} {/.}` have GNU parallel's meanings on a lines
//! job list (checked against `parallel` itself when it is installed).

use std::collections::BTreeSet;

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

/// Lines whose path parts differ in every corner: extensions, dot files, slashes at either end.
const PATHS: &[&str] = &[
    "a/b/c.txt",
    "c.txt",
    "a/b.tar.gz",
    "/x/y",
    ".hidden",
    "a/.hidden",
    "a/b/",
    "sp ace/x y.z",
    "dir.d/file",
    "/",
    "./f.c",
    "a//b",
];

/// What `echo [{.}] [{/}] [{//}] [{/.}]` printed for each line, by jobsplit.
fn jobsplit_path_parts(threads: &str) -> Vec<String> {
    let jobs: Vec<String> = PATHS.iter().map(|p| (*p).to_owned()).collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo")
        .args(["--threads", threads, "--capture", "last-line"])
        .args(["--cmd", "echo [{.}] [{/}] [{//}] [{/.}]"])
        .assert()
        .code(0);
    let r = s.results("solo");
    let mut rows: Vec<_> = r
        .rows
        .iter()
        .map(|row| (row.index(), row.get("result")))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, v)| v.to_owned()).collect()
}

#[test]
fn path_parts_mean_what_they_mean_in_gnu_parallel() {
    let got = jobsplit_path_parts("2");
    let want = [
        "[a/b/c] [c.txt] [a/b] [c]",
        "[c] [c.txt] [.] [c]",
        "[a/b.tar] [b.tar.gz] [a] [b.tar]",
        "[/x/y] [y] [/x] [y]",
        "[] [.hidden] [.] []",
        "[a/] [.hidden] [a] []",
        "[a/b/] [] [a] []",
        "[sp ace/x y] [x y.z] [sp ace] [x y]",
        "[dir.d/file] [file] [dir.d] [file]",
        "[/] [] [/] []",
        "[./f] [f.c] [.] [f]",
        "[a//b] [b] [a] [b]",
    ];
    assert_eq!(got, want);
    // The same inputs through GNU parallel, when it is installed.
    let parallel = std::process::Command::new("parallel")
        .args([
            "-k",
            "--will-cite",
            "echo",
            "[{.}]",
            "[{/}]",
            "[{//}]",
            "[{/.}]",
            ":::",
        ])
        .args(PATHS)
        .output();
    if let Ok(out) = parallel {
        if out.status.success() {
            let theirs: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
            assert_eq!(got, theirs);
        }
    }
}

#[test]
fn slot_is_one_based_and_in_the_environment() {
    let jobs: Vec<String> = (0..8).map(|i| i.to_string()).collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo")
        .args(["--threads", "3", "--capture", "last-line"])
        .args(["--cmd", "sleep 0.2; echo {%} $JOBSPLIT_SLOT {#}"])
        .assert()
        .code(0);
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 8);
    let mut slots = BTreeSet::new();
    for row in &r.rows {
        let words: Vec<String> = row.get("result").split(' ').map(str::to_owned).collect();
        assert_eq!(words.len(), 3, "{row:?}");
        assert_eq!(words[0], words[1], "{{%}} and JOBSPLIT_SLOT agree: {row:?}");
        assert_eq!(words[2], row.index().to_string(), "{{#}} counts from 0");
        slots.insert(words[0].parse::<u64>().unwrap());
    }
    assert!(slots.iter().all(|s| (1..=3).contains(s)), "{slots:?}");
}

#[test]
fn dash_j_with_a_number_hints_at_threads() {
    let s = Study::with(&["true".to_owned()], ONE, "");
    let before = s.files();
    let out = s.run("solo").args(["-j", "4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--threads 4"), "{err}");
    assert_eq!(s.files(), before, "nothing written");
}

#[test]
fn path_parts_on_a_csv_list_are_refused() {
    let s = Study::with(&[], ONE, "");
    s.write("points.csv", "file\na/b.txt\n");
    let out = s
        .run("solo")
        .args(["--jobs", "points.csv", "--cmd", "echo {/.}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("`{/.}`") && err.contains("lines job list"),
        "{err}"
    );
}
