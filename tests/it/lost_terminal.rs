//! Losing the terminal (`jobsplit run ... 2>&1 | head -1`, a closed ssh pipe) never stops, hangs
//! or loses work: the jobs run on, every row is recorded, the lock is released and the exit code
//! is what it would have been.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{text, wait_child, Study};

const JOBS: usize = 60;

/// Jobs that each print a few lines and fail when their index is `fail_at`.
fn study(fail_at: Option<usize>) -> Study {
    let jobs: Vec<String> = (0..JOBS)
        .map(|i| match fail_at {
            Some(f) if f == i => format!("echo job {i}; echo oops >&2; exit 3"),
            _ => format!("echo job {i}; echo more {i}; sleep 0.01"),
        })
        .collect();
    Study::with(&jobs, r#"{"solo": [1, 2]}"#, "")
}

/// Runs `jobsplit run` with stdout and stderr on pipes whose readers go away after one line
/// (plain progress lines go to the pipe), and returns the exit code.
fn run_with_closed_pipes(s: &Study, extra: &[&str]) -> Option<i32> {
    let mut child = s
        .std_cmd()
        .args([
            "run",
            "--machine",
            "solo",
            "--yes",
            "--progress-interval",
            "0.1",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the read ends, as `| head -1` does.
    let mut first = String::new();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    err.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "no first line");
    drop(err);
    drop(child.stdout.take());
    wait_child(&mut child, Duration::from_secs(60)).code()
}

fn assert_recorded(s: &Study, ok: usize) {
    let r = s.results("solo");
    let oks = r.rows.iter().filter(|row| row.status() == "ok").count();
    assert_eq!(oks, ok, "rows: {:?}", r.rows.len());
    assert_eq!(r.last_by_index().len(), JOBS, "every job recorded");
    let manifest = s.manifest("solo");
    assert_eq!(manifest["state"], "finished");
    // The lock was released: a rerun takes the directory and finds nothing to do.
    let again = s.run("solo").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
}

#[test]
fn a_closed_stderr_pipe_neither_hangs_nor_loses_work() {
    let s = study(None);
    assert_eq!(run_with_closed_pipes(&s, &[]), Some(0));
    assert_recorded(&s, JOBS);
}

#[test]
fn a_closed_pipe_keeps_the_exit_code_of_failed_jobs() {
    let s = study(Some(7));
    assert_eq!(run_with_closed_pipes(&s, &[]), Some(1));
    let r = s.results("solo");
    assert_eq!(r.of(7)[0].status(), "failed");
    assert_eq!(s.manifest("solo")["state"], "finished");
}
