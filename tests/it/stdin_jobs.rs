//! A job list on standard input (issue 14): `--jobs -`, or piped in with no other job list
//! (`seq 3 | jobsplit run --cmd 'echo {}'`). The bytes read enter the work digest as a file's
//! would, so hosts that read other bytes see another plan digest.

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

fn study() -> Study {
    let s = Study::new();
    s.write("machines.json", ONE);
    s
}

#[test]
fn a_piped_job_list_runs_without_jobs_flag() {
    let s = study();
    let out = s
        .run("solo")
        .args(["--capture", "last-line", "--cmd", "echo {}"])
        .write_stdin("1\n2\n3\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    let mut got: Vec<(u64, String)> = r
        .rows
        .iter()
        .map(|row| (row.index(), row.get("result").to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (0, "1".to_owned()),
            (1, "2".to_owned()),
            (2, "3".to_owned())
        ]
    );
}

#[test]
fn jobs_dash_reads_stdin_and_the_digest_is_the_files() {
    let s = study();
    s.write("jobs.list", "a\nb\nc\n");
    let from_file = s.plan_json(&["--jobs", "jobs.list"]);
    let plan = |input: &str| {
        let out = s
            .cmd()
            .args(["plan", "--json", "--jobs", "-"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let from_stdin = plan("a\nb\nc\n");
    assert_eq!(from_stdin["work_digest"], from_file["work_digest"]);
    assert_eq!(from_stdin["plan_digest"], from_file["plan_digest"]);
    // Other bytes (one line more, here) are another work: the digest tells the hosts apart.
    let other = plan("a\nb\nc\nd\n");
    assert_ne!(other["plan_digest"], from_file["plan_digest"]);
    // A run of `--jobs -` checks its digest like any run.
    let out = s
        .run("solo")
        .args(["--jobs", "-", "--expect-digest", "0000"])
        .write_stdin("a\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
