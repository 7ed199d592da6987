//! Library jobs (threads, which cannot be killed) under `--timeout` and Ctrl-C, through a
//! `Splitter` program (examples/deadline.rs): an over-time job is recorded `timeout` with one
//! warning, a cooperative one stops at its deadline, and a job that finishes after Ctrl-C keeps
//! its result.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{build_example, clean_env, signal, text, wait_child, wait_until, Study};

/// The example built once, and a study with its config: `[params]` from `params`.
fn study(params: &str) -> (PathBuf, Study) {
    let exe = build_example("deadline");
    let s = Study::new();
    s.write("machines.json", r#"{"solo": [1, 2]}"#);
    s.write(
        "jobsplit.toml",
        format!("machines = \"machines.json\"\n[params]\n{params}\n"),
    );
    (exe, s)
}

fn command(exe: &PathBuf, s: &Study, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    clean_env(&mut cmd);
    cmd.current_dir(s.path())
        .args(["run", "--machine", "solo", "--yes"])
        .args(args)
        .stdin(Stdio::null());
    cmd
}

#[test]
fn a_library_job_past_its_timeout_is_recorded_timeout_with_one_warning() {
    // 1.5 s of work that never looks at the deadline, under a 0.5 s limit.
    let (exe, s) = study("steps = 15\nstep_ms = 100\ncooperative = false");
    let out = command(&exe, &s, &["--timeout", "0.5"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 4, "{:?}", r.rows);
    for row in &r.rows {
        assert_eq!(row.status(), "timeout", "{row:?}");
        let e = row.get("error");
        assert!(e.contains("over its limit of 0.5 s"), "{e}");
        // The result of an over-time job is discarded.
        assert_eq!(row.try_get("steps").unwrap_or(""), "", "{row:?}");
    }
    assert_eq!(
        stderr.matches("a thread cannot be killed").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_library_job_that_finishes_after_ctrl_c_keeps_its_result() {
    let (exe, s) = study("steps = 15\nstep_ms = 100\ncooperative = false");
    let mut child = command(&exe, &s, &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The manifest is written just before the first jobs start.
    let manifest = s.machine_dir("solo").join("manifest.json");
    assert!(wait_until(Duration::from_secs(20), || manifest.exists()));
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), libc::SIGINT);
    let status = wait_child(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping: 2 jobs running"), "{stderr}");
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2, "no job starts after Ctrl-C: {:?}", r.rows);
    for row in &r.rows {
        assert_eq!(row.status(), "ok", "{row:?}");
        assert_eq!(row.get("steps"), "15");
    }
    let m = s.manifest("solo");
    assert_eq!(m["state"], "interrupted");
    assert_eq!(m["counts"]["ok"], 2);
}

#[test]
fn a_cooperative_library_job_stops_at_its_deadline() {
    // 10 s of work that checks ctx.is_cancelled() between 50 ms steps, under a 0.5 s limit.
    let (exe, s) = study("steps = 200\nstep_ms = 50\ncooperative = true");
    let start = Instant::now();
    let out = command(&exe, &s, &["--timeout", "0.5"]).output().unwrap();
    let took = start.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // A hang guard only: each row's duration below says the jobs stopped early.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(!stderr.contains("a thread cannot be killed"), "{stderr}");
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 4);
    for row in &r.rows {
        assert_eq!(row.status(), "timeout", "{row:?}");
        let d: f64 = row.get("duration_s").parse().unwrap();
        assert!(
            d < 5.0,
            "job {} ran {d} s (10 s if it ignored its deadline)",
            row.index()
        );
        let e = row.get("error");
        assert!(e.starts_with("timed out after 0.5 s: stopped after"), "{e}");
    }
}
