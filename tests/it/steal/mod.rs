//! `run --steal`: blocks claimed in the shared output directory, the tails of slow shares
//! stolen, exactly once proved by merge. Processes on one local disk (the multihost suite runs
//! the same over sshfs). This file holds what the scenarios share; `sharing` holds the runs
//! that go as planned, `faults` those where a host dies, freezes, restarts or is forged.

mod faults;
mod sharing;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::Duration;

use crate::harness::*;

const THREE: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}, "c": {"weight": 1, "cores": 1}}"#;

/// Jobs that sleep `$SLEEP` seconds (each host sets its own: its simulated speed).
fn sleepy(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("sleep \"$SLEEP\"; echo job {i} on $JOBSPLIT_MACHINE"))
        .collect()
}

fn spawn(s: &Study, args: &[&str], sleep: &str) -> Child {
    s.std_cmd()
        .args(["run", "--yes", "--quiet", "--steal"])
        .args(args)
        .env("SLEEP", sleep)
        .spawn()
        .unwrap()
}

fn finish(mut child: Child) -> i32 {
    wait_child(&mut child, Duration::from_secs(120))
        .code()
        .unwrap_or(-1)
}

/// Every row of every machine directory under `out`: job index -> machines with an ok row.
fn ok_rows(s: &Study, out: &str, machines: &[&str]) -> BTreeMap<u64, Vec<String>> {
    let mut rows: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for m in machines {
        let path = s.join(out).join(m).join("results.csv");
        if !path.exists() {
            continue;
        }
        for r in Results::read(&path)
            .rows
            .iter()
            .filter(|r| r.status() == "ok")
        {
            rows.entry(r.index()).or_default().push((*m).to_owned());
        }
    }
    rows
}

fn merge(s: &Study, inputs: &[&str], out: &str) -> (Out, serde_json::Value) {
    let mut args = vec!["merge"];
    args.extend_from_slice(inputs);
    args.extend_from_slice(&["-o", out]);
    let o = s.output(&args);
    let summary = read_json(&s.join(out).join("summary.json"));
    (o, summary)
}

fn credit(summary: &serde_json::Value, machine: &str) -> (u64, u64) {
    let m = summary["balance"]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["machine"] == machine)
        .unwrap_or_else(|| panic!("{machine} in {summary}"));
    (m["own"].as_u64().unwrap(), m["stolen"].as_u64().unwrap())
}

/// Runs machine `a` (2 threads, B = 2, jobs sleeping `sleep` s) until its results.csv has more
/// than `rows` rows, then kills it and its jobs with SIGKILL, as a host that dies.
fn kill_a_after(s: &Study, sleep: &str, rows: usize) {
    let needle = s.env_marker();
    let mut a = spawn(
        s,
        &["-M", "a", "--threads", "2", "--steal-block", "2"],
        sleep,
    );
    let results = s.machine_dir("a").join("results.csv");
    let started = wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > rows)
    });
    assert!(started, "a recorded nothing");
    signal(a.id(), libc::SIGKILL);
    wait_child(&mut a, Duration::from_secs(10));
    for (pid, _) in procs_with_env(&needle) {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert_no_procs_with_env(&needle, Duration::from_secs(5));
}
