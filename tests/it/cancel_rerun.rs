//! `jobsplit cancel DIR JOB...` and `run --rerun LIST`, through the built binary: a running
//! job is stopped and recorded `cancelled` (not retried, its processes gone, the others
//! finish), a job not started never starts, a request with no run waits for the next one, merge
//! lists cancelled jobs, a rerun adds attempt rows and merge takes the latest ok.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    assert_no_procs_with_env, procs_with_env, read_csv, wait_child, wait_until, Study,
};
use crate::process_signals::KillOnPanic;

/// `(index, attempt, status)` of every row of `out/<machine>/results.csv`, in file order.
fn rows(s: &Study, machine: &str) -> Vec<(u64, u32, String)> {
    s.results(machine)
        .rows
        .iter()
        .map(|r| (r.index(), r.attempt(), r.status().to_owned()))
        .collect()
}

/// Starts `jobsplit run ARGS` in the background (killed with its jobs if the test fails).
fn spawn_run(s: &Study, args: &[&str]) -> (std::process::Child, KillOnPanic) {
    let child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    (child, guard)
}

#[test]
fn cancel_stops_a_running_job_records_it_cancelled_and_never_retries_it() {
    // Job 0 sleeps long (with a child of its own); the others end quickly; 4 slots, so all run
    // at once.
    let s = Study::with(
        &[
            "sleep 120 & sleep 121".into(),
            "sleep 1; echo one".into(),
            "echo two".into(),
        ],
        r#"{"solo": [1, 4]}"#,
        "",
    );
    let (mut child, _guard) = spawn_run(&s, &["--retries", "3", "--grace", "5"]);
    let marker = s.env_marker();
    assert!(
        wait_until(Duration::from_secs(20), || procs_with_env(&marker)
            .iter()
            .any(|(_, c)| c.starts_with("sleep 121"))),
        "job 0 did not start"
    );
    let asked = Instant::now();
    let out = s.output(&["cancel", "out/solo", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("job 0 on solo: running: stopping it"),
        "{}",
        out.stdout
    );
    let status = wait_child(&mut child, Duration::from_secs(60));
    let took = asked.elapsed();
    eprintln!("cancel to the run's end: {took:.2?}");
    // The run ends long before job 0 would have (120 s): cancelling is not a failure.
    assert_eq!(status.code(), Some(0));
    let mut r = rows(&s, "solo");
    r.sort();
    assert_eq!(
        r,
        [
            (0, 1, "cancelled".into()),
            (1, 1, "ok".into()),
            (2, 1, "ok".into())
        ],
        "one cancelled attempt, not retried"
    );
    let row = s
        .results("solo")
        .rows
        .into_iter()
        .find(|r| r.index() == 0)
        .unwrap();
    assert_eq!(row.get("error"), "cancelled by jobsplit cancel");
    assert_no_procs_with_env(&marker, Duration::from_secs(3));
    let m = s.manifest("solo");
    assert_eq!(m["counts"]["cancelled"], 1, "{m}");
    assert_eq!(m["state"], "finished");
    // The request was honoured: nothing is left for the next run, which changes nothing.
    assert!(!s.machine_dir("solo").join("cancel").exists());
    let again = s.run("solo").output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        rows(&s, "solo").len(),
        3,
        "a resume does not run a cancelled job"
    );

    // merge lists it as cancelled, not missing, and exits 0.
    let merged = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(merged.code, 0, "{}{}", merged.stdout, merged.stderr);
    assert!(merged.stdout.contains("1 cancelled"), "{}", merged.stdout);
    assert!(
        merged.stdout.contains("cancelled by the user: job 0"),
        "{}",
        merged.stdout
    );
    let (_, merged_rows) = read_csv(&s.join("merged/results.csv"));
    assert_eq!(merged_rows.len(), 3);
    assert!(merged_rows
        .iter()
        .any(|r| r["index"] == "0" && r["status"] == "cancelled"));
    assert_eq!(
        std::fs::read_to_string(s.join("merged/missing.txt")).unwrap(),
        ""
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.join("merged/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cancelled"], 1);
}

#[test]
fn a_job_cancelled_before_it_starts_never_starts_also_from_an_out_tree() {
    // One slot: jobs run one after another, each marking that it started.
    let jobs: Vec<String> = (0..4)
        .map(|i| format!("touch started-{i}; sleep 3"))
        .collect();
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let (mut child, _guard) = spawn_run(&s, &[]);
    assert!(
        wait_until(Duration::from_secs(20), || (0..4)
            .any(|i| s.join(format!("started-{i}")).exists())),
        "no job started"
    );
    let waiting: Vec<String> = (0..4)
        .filter(|i| !s.join(format!("started-{i}")).exists())
        .map(|i| i.to_string())
        .collect();
    let j = &waiting[0];
    // DIR is the OUT tree: the run whose share holds the job answers.
    let out = s.output(&["cancel", "out", j]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("job {j} on solo: not started")),
        "{}",
        out.stdout
    );
    let status = wait_child(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    assert!(!s.join(format!("started-{j}")).exists(), "job {j} started");
    let results = s.results("solo");
    let row = results
        .rows
        .iter()
        .find(|r| r.index().to_string() == *j)
        .unwrap();
    assert_eq!(row.status(), "cancelled");
    assert_eq!(row.get("duration_s"), "0.000000");
    assert_eq!(results.rows.len(), 4);
    // `status` counts it cancelled, in its table and its JSON.
    let st = s.output(&["status", "out", "--json"]);
    assert_eq!(st.code, 0, "{}", st.stderr);
    let v: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(v["cancelled"], 1);
    assert_eq!(v["machines"][0]["cancelled"], 1);
    assert_eq!(v["machines"][0]["failed"], 0);
    let table = s.output(&["status", "out"]).stdout;
    let header = table.lines().next().unwrap();
    assert!(header.contains("cancelled"), "{table}");
    assert!(
        table.contains("(3 ok, 0 failed, 1 cancelled, 0 running)"),
        "{table}"
    );
}

#[test]
fn a_request_with_no_run_waits_for_the_next_run() {
    let s = Study::with(
        &["touch ran-0".into(), "true".into(), "true".into()],
        r#"{"solo": [1, 1]}"#,
        "",
    );
    std::fs::create_dir_all(s.machine_dir("solo")).unwrap();
    // Nothing has run: there is no manifest, so nothing to cancel in.
    let out = s.output(&["cancel", "out/solo", "0"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    // A run that stops before job 0: its share is run with job 0's command failing first.
    s.jobs(&["touch ran-0; false".into(), "true".into(), "true".into()]);
    let first = s.run("solo").output().unwrap();
    assert_eq!(first.status.code(), Some(1));
    std::fs::remove_file(s.join("ran-0")).unwrap();
    let out = s.output(&["cancel", "out/solo", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no run is writing"), "{}", out.stdout);
    let waiting: Vec<_> = std::fs::read_dir(s.machine_dir("solo/cancel"))
        .unwrap()
        .collect();
    assert_eq!(waiting.len(), 1);
    // Beyond the work: refused, nothing written.
    let before = s.files();
    let out = s.output(&["cancel", "out/solo", "3"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("jobsplit: error: there is no job 3"),
        "{}",
        out.stderr
    );
    assert_eq!(s.files(), before);

    // The next run (a resume, which would run the failed job again) honours the request.
    let next = s.run("solo").output().unwrap();
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert!(!s.join("ran-0").exists(), "the cancelled job ran");
    let r = rows(&s, "solo");
    assert_eq!(r.iter().filter(|x| x.0 == 0).count(), 2);
    assert!(r.contains(&(0, 2, "cancelled".into())), "{r:?}");
    assert!(!s.machine_dir("solo").join("cancel").exists());

    // --rerun runs it again: attempt 3.
    let rerun = s.run("solo").args(["--rerun", "0"]).output().unwrap();
    assert_eq!(rerun.status.code(), Some(1));
    assert!(rows(&s, "solo").contains(&(0, 3, "failed".into())));
}

#[test]
fn rerun_adds_attempt_rows_and_merge_takes_the_latest_ok() {
    let jobs: Vec<String> = (0..6).map(|i| format!("echo {i}-$(date +%s%N)")).collect();
    let s = Study::with(
        &jobs,
        r#"{"solo": [1, 2]}"#,
        "[run]\ncapture = \"last-line\"\n",
    );
    s.run("solo").assert().code(0);
    let out = s.run("solo").args(["--rerun", "1,3-4"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = rows(&s, "solo");
    assert_eq!(r.len(), 9);
    for j in [1, 3, 4] {
        assert!(r.contains(&(j, 2, "ok".into())), "{r:?}");
    }
    // A resume afterwards does not rerun them again.
    s.run("solo").assert().code(0);
    assert_eq!(rows(&s, "solo").len(), 9);

    let merged = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(
        !merged.stderr.contains("more than one ok row"),
        "{}",
        merged.stderr
    );
    let results = s.results("solo");
    let (_, m) = read_csv(&s.join("merged/results.csv"));
    assert_eq!(m.len(), 6);
    for row in &m {
        let j: u64 = row["index"].parse().unwrap();
        let latest = results
            .rows
            .iter()
            .filter(|r| r.index() == j)
            .max_by_key(|r| r.attempt())
            .unwrap();
        assert_eq!(row["attempt"], latest.attempt().to_string(), "job {j}");
        assert_eq!(row["result"], latest.get("result"), "job {j}");
    }
}

#[test]
fn bad_rerun_lists_are_refused_in_one_line_with_nothing_written() {
    let jobs: Vec<String> = (0..6).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, r#"{"a": [1, 1], "b": [1, 1]}"#, "");
    let plan = s.plan_json(&[]);
    let owned_by_b = crate::harness::assignment(&plan)
        .into_iter()
        .find(|(_, m)| m == "b")
        .map(|(i, _)| i)
        .unwrap();
    let before = s.files();
    let other = owned_by_b.to_string();
    for (list, says) in [
        ("5-3", "runs backwards"),
        ("a", "is not a job index"),
        ("1,,2", "empty item"),
        ("", "empty item"),
        ("1-", "is not a job index"),
        ("6", "there is no job 6"),
        ("0-99", "there is no job 99"),
        (other.as_str(), "but in b's"),
    ] {
        let out = s.output(&["run", "--machine", "a", "--yes", "--rerun", list]);
        assert_eq!(out.code, 2, "--rerun {list:?}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "--rerun {list:?}: {}", out.stderr);
        assert!(lines[0].starts_with("jobsplit: error:"), "{}", lines[0]);
        assert!(lines[0].contains(says), "--rerun {list:?}: {}", lines[0]);
        assert_eq!(s.files(), before, "--rerun {list:?} wrote something");
    }
}

#[test]
fn a_cancelled_library_job_sees_is_cancelled_and_is_recorded_cancelled() {
    // examples/deadline.rs: four jobs of 40 steps of 100 ms, each looking at ctx.is_cancelled()
    // between steps; 4 slots, so all run at once.
    let exe = crate::harness::build_example("deadline");
    let s = Study::new();
    s.write("machines.json", r#"{"solo": [1, 4]}"#);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[params]\nsteps = 40\nstep_ms = 100\n",
    );
    let mut cmd = std::process::Command::new(exe);
    crate::harness::clean_env(&mut cmd);
    let mut child = cmd
        .current_dir(s.path())
        .args(["run", "--machine", "solo", "--yes", "--retries", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    assert!(
        wait_until(Duration::from_secs(20), || s
            .machine_dir("solo")
            .join(".lock")
            .exists()
            && s.machine_dir("solo").join("manifest.json").exists()),
        "the run did not start"
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = s.output(&["cancel", "out/solo", "2"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("job 2 on solo: running"),
        "{}",
        out.stdout
    );
    let status = wait_child(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 4, "{:?}", r.rows);
    for row in &r.rows {
        let want = if row.index() == 2 { "cancelled" } else { "ok" };
        assert_eq!(row.status(), want, "{row:?}");
    }
    let row = r.rows.iter().find(|r| r.index() == 2).unwrap();
    // Its result (it returned an error on seeing the cancellation) is not kept.
    assert_eq!(row.get("error"), "cancelled by jobsplit cancel");
    assert_eq!(row.try_get("steps").unwrap_or(""), "");
}
