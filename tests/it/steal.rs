//! `run --steal`: blocks claimed in the shared output directory, the tails of slow shares
//! stolen, exactly once proved by merge. Processes on one local disk (the multihost suite runs
//! the same over sshfs).

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

#[test]
fn three_machines_of_unlike_speed_run_every_job_once_and_the_fast_ones_steal() {
    let s = Study::with(&sleepy(60), THREE, "");
    let slow = spawn(&s, &["-M", "a"], "0.25");
    let mid = spawn(&s, &["-M", "b"], "0.02");
    let fast = spawn(&s, &["-M", "c"], "0.01");
    for child in [slow, mid, fast] {
        assert_eq!(finish(child), 0);
    }
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 60, "every job ok");
    for (i, by) in &rows {
        assert_eq!(by.len(), 1, "job {i} ran once, here by {by:?}");
    }
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    assert_eq!(summary["duplicates"], 0);
    assert!(o.stdout.contains("proved by claims"), "{}", o.stdout);
    let (_, stolen_b) = credit(&summary, "b");
    let (_, stolen_c) = credit(&summary, "c");
    let (own_a, stolen_a) = credit(&summary, "a");
    assert!(
        stolen_b + stolen_c > 0,
        "the fast machines stole: {summary}"
    );
    assert!(own_a < 20, "the slow one lost part of its share: {summary}");
    assert_eq!(stolen_a, 0, "the slow one stole nothing: {summary}");
    // status.json says what each host claimed and stole.
    let status = read_json(&s.machine_dir("c").join("status.json"));
    assert_eq!(
        status["steal"]["stolen"].as_u64().unwrap(),
        stolen_c,
        "{status}"
    );
    assert_eq!(status["steal"]["stealing"], true);
    let shown = s.output(&["status", "out"]);
    assert!(
        shown
            .stdout
            .contains(&format!("steal: c claimed {}", status["steal"]["claimed"])),
        "{}",
        shown.stdout
    );
    // The manifest names the layout; every claim is a file naming its holder.
    let manifest = s.manifest("c");
    let layout = s
        .out()
        .join(manifest["balance"]["layout"].as_str().unwrap());
    assert!(layout.join("layout.json").is_file());
    assert_eq!(read_json(&layout.join("layout.json"))["mode"], "steal");
}

#[test]
fn helpers_racing_for_every_block_get_exactly_one_winner_each() {
    // Eight helpers and no owner: every block is free to all of them at once.
    let jobs: Vec<String> = (0..120).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, THREE, "");
    let names: Vec<String> = (0..8).map(|i| format!("h{i}")).collect();
    let children: Vec<Child> = names
        .iter()
        .map(|n| {
            spawn(
                &s,
                &["--helper", n, "--threads", "2", "--steal-block", "1"],
                "0",
            )
        })
        .collect();
    for child in children {
        assert_eq!(finish(child), 0);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows = ok_rows(&s, "out", &refs);
    assert_eq!(rows.len(), 120);
    assert!(rows.values().all(|by| by.len() == 1), "{rows:?}");
    // Each claim names the helper whose rows it covers: merge proves it.
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    let claims: u64 = summary["balance"]["claims"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(claims, 120, "one claim per block of one job");
}

#[test]
fn another_block_size_mode_or_plan_on_the_same_out_is_refused_with_nothing_written() {
    let s = Study::with(&sleepy(12), THREE, "");
    for m in ["a", "b", "c"] {
        assert_eq!(finish(spawn(&s, &["-M", m, "--steal-block", "2"], "0")), 0);
    }
    let before = files_under(&s.out());
    let refuse = |args: &[&str], what: &str| {
        let o = Out::of(
            s.std_cmd()
                .args(["run", "--yes", "--quiet"])
                .args(args)
                .env("SLEEP", "0")
                .output()
                .unwrap(),
        );
        assert_eq!(o.code, 2, "{what}: {}", o.stderr);
        assert_eq!(
            o.stderr.lines().count(),
            1,
            "{what}: one line: {}",
            o.stderr
        );
        assert!(o.stderr.starts_with("jobsplit: error: "), "{}", o.stderr);
        assert_eq!(files_under(&s.out()), before, "{what}: nothing written");
        o.stderr
    };
    let e = refuse(&["--steal", "-M", "a", "--steal-block", "3"], "another B");
    assert!(e.contains("--steal-block 2"), "{e}");
    let e = refuse(&["--steal", "-M", "a"], "the default B");
    assert!(e.contains("blocks of 2"), "{e}");
    let e = refuse(&["-M", "a"], "a static run");
    assert!(e.contains("stealing"), "{e}");
    // A stale plan: another job list on the same OUT (an edited one: jobs appended to the
    // list are a new epoch of the study, docs/balance.md).
    let mut edited = sleepy(12);
    edited[3] = "echo edited".to_owned();
    s.jobs(&edited);
    let e = refuse(
        &["--steal", "-M", "a", "--steal-block", "2"],
        "a stale plan",
    );
    assert!(e.contains("plan"), "{e}");

    // And a stealing run beside a static run of its plan.
    let t = Study::with(&sleepy(6), THREE, "");
    assert_eq!(
        t.std_cmd()
            .args(["run", "--yes", "--quiet", "-M", "a"])
            .env("SLEEP", "0")
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    let before = files_under(&t.out());
    let o = Out::of(
        t.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "b"])
            .env("SLEEP", "0")
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("static"), "{}", o.stderr);
    assert_eq!(files_under(&t.out()), before);
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

#[test]
fn a_host_killed_mid_run_loses_only_its_claimed_blocks_and_a_rescue_finishes_them() {
    let s = Study::with(&sleepy(40), THREE, "");
    kill_a_after(&s, "0.4", 3);
    // b and c run their shares and steal what a had not claimed.
    let b = spawn(&s, &["-M", "b", "--steal-block", "2"], "0");
    let c = spawn(&s, &["-M", "c", "--steal-block", "2"], "0");
    assert_eq!(finish(b), 0);
    assert_eq!(finish(c), 0);

    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 1, "jobs are missing: {}", o.stderr);
    let missing: BTreeSet<u64> = std::fs::read_to_string(s.join("merged/missing.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let unfinished = summary["balance"]["claimed_unfinished"].as_array().unwrap();
    let held: BTreeSet<u64> = unfinished
        .iter()
        .inspect(|u| assert_eq!(u["machine"], "a", "{u}"))
        .flat_map(|u| {
            u["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j.as_u64().unwrap())
        })
        .collect();
    assert!(!missing.is_empty());
    assert_eq!(
        missing, held,
        "only a's claimed, unfinished jobs are missing"
    );
    assert!(
        held.len() <= 3 * 2,
        "at most (threads + 1) x B jobs: {held:?}"
    );
    assert!(
        o.stderr.contains("claimed but not finished"),
        "{}",
        o.stderr
    );

    // A rescue plan stealing in the study's own OUT would claim under claims of its own.
    let before = files_under(&s.out());
    let o = Out::of(
        s.std_cmd()
            .args([
                "run", "--yes", "--quiet", "--steal", "-M", "b", "--rescue", "merged",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("stealing study of plan"), "{}", o.stderr);
    assert_eq!(files_under(&s.out()), before, "nothing written");
    // A rescue of the missing jobs, stealing too, in its own output directory.
    let r = spawn(&s, &["-M", "b", "--rescue", "merged", "-o", "rescue"], "0");
    assert_eq!(finish(r), 0);
    let (o, summary) = merge(&s, &["out", "rescue"], "final");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    assert_eq!(summary["duplicates"], 0, "nothing ran twice");
}

#[test]
fn a_helper_joins_a_running_study_and_steals() {
    let one = r#"{"solo": {"weight": 1, "cores": 1}}"#;
    let s = Study::with(&sleepy(30), one, "");
    let solo = spawn(&s, &["-M", "solo"], "0.15");
    let results = s.machine_dir("solo").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    let helper = spawn(&s, &["--helper", "spare", "--threads", "2"], "0.01");
    assert_eq!(finish(helper), 0);
    assert_eq!(finish(solo), 0);
    let rows = ok_rows(&s, "out", &["solo", "spare"]);
    assert_eq!(rows.len(), 30);
    assert!(rows.values().all(|by| by.len() == 1), "{rows:?}");
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (own, stolen) = credit(&summary, "spare");
    assert_eq!(own, 0);
    assert!(stolen > 0, "{summary}");
    assert_eq!(s.manifest("spare")["balance"]["helper"], true);
    // A calibrated machines file is for the machines of the plan: the helper is not in it.
    let o = s.output(&[
        "merge",
        "out",
        "-o",
        "m2",
        "--write-machines",
        "calibrated.json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let calibrated = read_json(&s.join("calibrated.json"));
    assert!(
        calibrated.get("solo").is_some() && calibrated.get("spare").is_none(),
        "{calibrated}"
    );
    // Its jobs run as the helper ($JOBSPLIT_MACHINE), not as a machine of the plan.
    let out: Vec<String> = s
        .log("spare")
        .into_iter()
        .filter(|l| l.stream == "out")
        .map(|l| l.text)
        .collect();
    assert_eq!(out.len() as u64, stolen, "{out:?}");
    assert!(out.iter().all(|l| l.ends_with(" on spare")), "{out:?}");
}

#[test]
fn a_late_host_finding_everything_claimed_exits_0_at_once() {
    let s = Study::with(&sleepy(30), THREE, "");
    let a = spawn(&s, &["-M", "a"], "0");
    let b = spawn(&s, &["-M", "b"], "0");
    assert_eq!(finish(a), 0);
    assert_eq!(finish(b), 0);
    // c never started: a and b took its share.
    let late = s
        .std_cmd()
        .args(["run", "--yes", "--steal", "-M", "c"])
        .env("SLEEP", "10")
        .output()
        .unwrap();
    assert_eq!(late.status.code(), Some(0), "{}", text(&late.stderr));
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 30);
    assert!(!rows.values().any(|by| by.contains(&"c".to_owned())));
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
}

#[test]
fn merge_refuses_a_row_no_claim_proves() {
    let s = Study::with(&sleepy(12), THREE, "");
    for m in ["a", "b", "c"] {
        assert_eq!(finish(spawn(&s, &["-M", m], "0")), 0);
    }
    // Copy a row of the machine that ran it into another's results.csv, as if that one had.
    let lines = |m: &str| {
        std::fs::read_to_string(s.machine_dir(m).join("results.csv"))
            .unwrap()
            .lines()
            .count()
    };
    let from = ["a", "b", "c"].into_iter().find(|m| lines(m) > 1).unwrap();
    let to = if from == "a" { "b" } else { "a" };
    let rows = std::fs::read_to_string(s.machine_dir(from).join("results.csv")).unwrap();
    let row = rows
        .lines()
        .nth(1)
        .unwrap()
        .replacen(&format!(",{from},"), &format!(",{to},"), 1);
    let csv = s.machine_dir(to).join("results.csv");
    let mut data = std::fs::read_to_string(&csv).unwrap();
    if lines(to) == 1 {
        // It ran nothing: its header lacks the input columns the row brings.
        data = format!("{}\n", rows.lines().next().unwrap());
    }
    data.push_str(&row);
    data.push('\n');
    std::fs::write(&csv, data).unwrap();
    let o = s.output(&["merge", "out", "-o", "merged"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("a row the claims do not prove"),
        "{}",
        o.stderr
    );
    assert!(!s.join("merged").exists(), "nothing written");
}

#[test]
fn a_host_restarted_after_kill_9_finishes_its_claimed_blocks_first() {
    let s = Study::with(&sleepy(24), THREE, "");
    kill_a_after(&s, "0.3", 2);
    let (o, before) = merge(&s, &["out"], "before");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!before["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .is_empty());
    let held: BTreeSet<u64> = before["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| {
            u["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j.as_u64().unwrap())
        })
        .collect();
    let restarted = jobsplit::output::rfc3339(std::time::SystemTime::now());
    // The same machine on the same host again: its name record is its own, it resumes.
    assert_eq!(
        finish(spawn(&s, &["-M", "a", "--steal-block", "2"], "0")),
        0
    );
    let mut second: Vec<(String, u64)> = s
        .results("a")
        .rows
        .iter()
        .filter(|r| r.get("started_at") >= restarted.as_str())
        .map(|r| (r.get("started_at").to_owned(), r.index()))
        .collect();
    second.sort();
    let first: BTreeSet<u64> = second[..held.len()].iter().map(|r| r.1).collect();
    assert_eq!(first, held, "the blocks it held ran first: {second:?}");
    let log = s.log("a");
    assert!(
        log.iter()
            .filter(|l| l.text.starts_with("run started"))
            .count()
            == 2,
        "{log:?}"
    );
    let (o, after) = merge(&s, &["out"], "after");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(after["missing"], 0);
    assert_eq!(after["duplicates"], 0);
    assert!(after["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn one_machine_name_runs_on_one_host_at_a_time_across_hosts() {
    let s = Study::with(&sleepy(6), THREE, "");
    assert_eq!(finish(spawn(&s, &["-M", "b"], "0")), 0);
    let layout = s
        .out()
        .join(s.manifest("b")["balance"]["layout"].as_str().unwrap());
    // Machine a, as recorded by a host that is not this one (its directory lock is its own).
    let record = serde_json::json!({
        "owner": "", "block": 0, "machine": "a", "host": "elsewhere", "pid": 42,
        "run": "0123456789abcdef0123456789abcdef", "at": "2026-01-01T00:00:00Z", "jobs": [],
        "slurm_job": "77", "slurm_restart": 0
    });
    s.write(
        layout.join("hosts/a.json"),
        serde_json::to_vec_pretty(&record).unwrap(),
    );
    let before = files_under(&s.out());
    let o = Out::of(
        s.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "a"])
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("running on host `elsewhere`"),
        "{}",
        o.stderr
    );
    assert_eq!(files_under(&s.out()), before, "nothing written");
    // A Slurm requeue of that job (on any node) takes the name over.
    let o = Out::of(
        s.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "a"])
            .env("SLURM_JOB_ID", "77")
            .env("SLURM_RESTART_COUNT", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !layout.join("hosts/a.json").exists(),
        "given back at the end"
    );
}

#[test]
fn a_frozen_host_is_never_taken_over_and_nothing_runs_twice() {
    let s = Study::with(&sleepy(30), THREE, "");
    let mut a = spawn(&s, &["-M", "a", "--steal-block", "2"], "0.3");
    let results = s.machine_dir("a").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    // Frozen holding a block: its status.json goes stale, its unclaimed blocks are stolen.
    signal(a.id(), libc::SIGSTOP);
    let b = spawn(&s, &["-M", "b", "--steal-block", "2"], "0");
    let c = spawn(&s, &["-M", "c", "--steal-block", "2"], "0");
    let (b, c) = (finish(b), finish(c));
    signal(a.id(), libc::SIGCONT);
    let a = wait_child(&mut a, Duration::from_secs(60)).code();
    assert_eq!((a, b, c), (Some(0), 0, 0));
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 30);
    for (i, by) in &rows {
        assert_eq!(by.len(), 1, "job {i} ran once, here by {by:?}");
    }
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["duplicates"], 0);
    let (own_a, _) = credit(&summary, "a");
    assert!(
        own_a >= 2,
        "a finished the block it held when frozen: {summary}"
    );
    let stolen: u64 = ["b", "c"].iter().map(|m| credit(&summary, m).1).sum();
    assert!(stolen > 0, "{summary}");
}
