//! Collected files in odd cases: a job's tree deeper than the system's path limit is passed over
//! with a warning (as a fifo is), not a reason to refuse the whole merge; two merges into one
//! `--out` at once both end with every file collected and a summary.json that counts what is
//! there.

use std::path::Path;

use crate::harness::{read_json, Study};

/// Files (not directories) under `dir`, links included.
fn count_files(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn a_tree_deeper_than_path_max_is_passed_over_with_a_warning() {
    // Job 0 keeps one file, then a chain of directories whose full path is beyond PATH_MAX
    // (made one step at a time with relative paths, as a program can); job 1 keeps one file.
    let deep = r#"mkdir -p "$JOBSPLIT_OUT" && echo top > "$JOBSPLIT_OUT/top.txt" && python3 -c 'import os; os.chdir(os.environ["JOBSPLIT_OUT"]); [(os.mkdir("d" * 200), os.chdir("d" * 200)) for _ in range(30)]; open("bottom.txt", "w").write("bottom")'"#
        .to_owned();
    let other = r#"mkdir -p "$JOBSPLIT_OUT" && echo one > "$JOBSPLIT_OUT/one.txt""#;
    let s = Study::with(&[deep, other.to_owned()], r#"{"a": [1, 1]}"#, "");
    s.run("a").assert().code(0);
    let o = s.output(&["merge", "out", "-o", "merged"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("longer than the system's limit") && o.stderr.contains("not collected"),
        "{}",
        o.stderr
    );
    assert_eq!(
        std::fs::read_to_string(s.join("merged/jobs/0/top.txt")).unwrap(),
        "top\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.join("merged/jobs/1/one.txt")).unwrap(),
        "one\n"
    );
    let summary = read_json(&s.join("merged/summary.json"));
    assert_eq!(
        summary["files"]["files"].as_u64().unwrap(),
        count_files(&s.join("merged/jobs")),
        "{summary}"
    );
}

#[test]
fn two_merges_into_one_out_at_once_both_collect_every_file() {
    // 300 jobs of 3 files each over two machines.
    let jobs: Vec<String> = (0..300)
        .map(|i| {
            format!(
                r#"mkdir -p "$JOBSPLIT_OUT/sub" && echo {i} > "$JOBSPLIT_OUT/a" && echo {i} > "$JOBSPLIT_OUT/b" && echo {i} > "$JOBSPLIT_OUT/sub/c""#
            )
        })
        .collect();
    let s = Study::with(&jobs, r#"{"a": [1, 2], "b": [1, 2]}"#, "");
    s.run("a").assert().code(0);
    s.run("b").assert().code(0);
    for round in 0..4 {
        let start = || {
            s.std_cmd()
                .args(["merge", "out", "-o", "merged"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (one, two) = (start(), start());
        for child in [one, two] {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let summary = read_json(&s.join("merged/summary.json"));
        assert_eq!(summary["files"]["files"], 900, "round {round}: {summary}");
        assert_eq!(
            count_files(&s.join("merged/jobs")),
            900,
            "round {round}: files missing from merged/jobs"
        );
        let left: Vec<String> = std::fs::read_dir(s.join("merged"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".jobs"))
            .collect();
        assert!(
            left.is_empty(),
            "round {round}: temporary trees left: {left:?}"
        );
    }
}
