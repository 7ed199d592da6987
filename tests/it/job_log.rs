//! `jobsplit log DIR JOB...`: a job's lines, every attempt, in time order, with attempt and
//! stream, from a machine directory, an OUT tree or a merged directory; `--stream` and `--json`.

use crate::harness::Study;

const ONE: &str = r#"{"solo": [1, 1]}"#;

fn study() -> Study {
    let jobs = vec![
        "echo zero".to_owned(),
        // Job 1 fails on its first attempt and succeeds on its second.
        r#"echo "one out"; if [ -e tried ]; then echo 'second try' >&2; else touch tried; echo 'tab	here' >&2; exit 4; fi"#
            .to_owned(),
        "echo two".to_owned(),
    ];
    let s = Study::with(&jobs, ONE, "");
    s.run("solo")
        .args(["--threads", "1", "--retries", "1"])
        .assert()
        .code(0);
    s.cmd()
        .args(["merge", "out", "--out", "merged"])
        .assert()
        .code(0);
    s
}

fn log(s: &Study, args: &[&str]) -> Vec<String> {
    let out = s.output(&[&["log"], args].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().map(str::to_owned).collect()
}

/// The fields after the time: job, attempt, stream, text.
fn plain(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.split_once("  ").expect("a time first").1.to_owned())
        .collect()
}

#[test]
fn a_job_log_shows_every_attempt_from_any_directory() {
    let s = study();
    let want = [
        "job 1  attempt 1  out  one out",
        r"job 1  attempt 1  err  tab\there",
        "job 1  attempt 1  event  attempt 1 failed: exit code 4: tab\\there",
        "job 1  attempt 2  out  one out",
        "job 1  attempt 2  err  second try",
    ];
    for dir in ["out/solo", "out", "merged"] {
        let got = log(&s, &[dir, "1"]);
        assert_eq!(plain(&got), want, "{dir}");
        let times: Vec<&str> = got.iter().map(|l| &l[..27]).collect();
        assert!(times.is_sorted(), "{dir}: in time order: {got:?}");
    }
    let err = plain(&log(&s, &["out", "1", "--stream", "err"]));
    assert_eq!(err, [want[1], want[4]]);
    // Two jobs: both, in time order (the run's order, shuffled, not the indices').
    let mut two = plain(&log(&s, &["merged", "2", "0"]));
    two.sort();
    assert_eq!(
        two,
        ["job 0  attempt 1  out  zero", "job 2  attempt 1  out  two"]
    );
}

#[test]
fn a_job_log_as_json_is_one_object_per_line() {
    let s = study();
    let lines = log(&s, &["out/solo", "1", "--json", "--stream", "err"]);
    let objs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(objs.len(), 2, "{lines:?}");
    assert_eq!(objs[0]["job"], 1);
    assert_eq!(objs[0]["attempt"], 1);
    assert_eq!(objs[0]["stream"], "err");
    assert_eq!(objs[0]["text"], "tab\there");
    assert_eq!(objs[1]["attempt"], 2);
    assert_eq!(objs[1]["text"], "second try");
    assert!(objs[0]["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn a_log_of_a_directory_without_runs_is_refused_in_one_line() {
    let s = Study::with_files(&[("empty/x", b"")]);
    let out = s.output(&["log", "empty", "1"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
}
