//! A panic in a run of a `Splitter` program (examples/panics.rs): in the job it fails that job
//! only; outside it (the result's `Serialize`, inside the runner) the run stops at once as on
//! any error after it began writing (exit code 3, one line naming the panic, what it recorded
//! kept), never hangs (the signal watcher used to keep the process alive forever).

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{build_example, clean_env, wait_child, Results, Study};

fn study(panic_in: &str) -> (PathBuf, Study) {
    let exe = build_example("panics");
    let s = Study::new();
    s.write("machines.json", r#"{"solo": [1, 2]}"#);
    s.write(
        "jobsplit.toml",
        format!("machines = \"machines.json\"\n[params]\npanic_in = \"{panic_in}\"\n"),
    );
    (exe, s)
}

/// Runs the program's share: its exit code and stderr (the test fails if it runs past 60 s).
fn run(exe: &PathBuf, s: &Study) -> (Option<i32>, String) {
    let mut cmd = Command::new(exe);
    clean_env(&mut cmd);
    let mut child = cmd
        .current_dir(s.path())
        .args(["run", "--machine", "solo", "--yes", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_child(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

fn row(s: &Study, index: u64) -> crate::harness::Row {
    let results = Results::read(&s.path().join("out/solo/results.csv"));
    let row = results.rows.into_iter().rev().find(|r| r.index() == index);
    row.unwrap_or_else(|| panic!("no row of job {index}"))
}

#[test]
fn a_panic_in_a_job_fails_that_job_only() {
    let (exe, s) = study("job");
    let (code, stderr) = run(&exe, &s);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(row(&s, 2).status(), "failed");
    assert!(
        row(&s, 2).get("error").contains("job 2 gave up"),
        "{stderr}"
    );
    assert_eq!(row(&s, 3).status(), "ok");
}

#[test]
fn a_panic_inside_the_runner_stops_the_run_with_one_line_and_exit_3() {
    let (exe, s) = study("result");
    let (code, stderr) = run(&exe, &s);
    assert_eq!(code, Some(3), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("the run stopped"))
        .unwrap_or_else(|| panic!("no line saying the run stopped: {stderr}"));
    let panicked = "panicked: the result of job 2 cannot be written";
    assert!(line.contains(panicked), "{line}");
    assert!(line.contains("run the same command again"), "{line}");
    // What it recorded is whole (job 2 has no row: it runs again on a rerun).
    let results = Results::read(&s.path().join("out/solo/results.csv"));
    assert!(results.rows.iter().all(|r| r.index() != 2));
}
