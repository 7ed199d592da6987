//! Crashes: `kill -9` in the middle of a run, or a results.csv torn mid-row, and then a rerun
//! that repairs the files and finishes without running any finished job again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::harness::{
    assert_no_procs_with_env, gzip_ok, procs_with_env, signal, text, wait_child, wait_until,
    Results, Study,
};

const ONE: &str = r#"{"solo": [1, 4]}"#;

#[test]
fn kill_9_mid_run_then_rerun_finishes_without_redoing_ok_jobs() {
    let jobs: Vec<String> = (0..200)
        .map(|i| format!("sleep 0.02; echo job {i}"))
        .collect();
    let s = Study::with(&jobs, ONE, "");
    let needle = s.env_marker();
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--quiet"])
        .spawn()
        .unwrap();
    let results = s.machine_dir("solo").join("results.csv");
    // Kill it once it has recorded some jobs (about half a second in), well before the end.
    let started = wait_until(Duration::from_secs(20), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 10)
    });
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), libc::SIGKILL);
    let status = wait_child(&mut child, Duration::from_secs(10));
    assert!(started, "no job was recorded");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // The killed runner's jobs are in their own process groups: end any that are still there.
    for (pid, _) in procs_with_env(&needle) {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert_no_procs_with_env(&needle, Duration::from_secs(5));

    // What the crash left: complete rows (all but perhaps a torn last one).
    let data = std::fs::read(&results).unwrap();
    let whole = &data[..data.iter().rposition(|&b| b == b'\n').unwrap() + 1];
    let before = Results::parse(whole).unwrap();
    let ok_before: BTreeSet<String> = before
        .rows
        .iter()
        .filter(|r| r.status() == "ok")
        .map(|r| r.get("key").to_owned())
        .collect();
    assert!(
        ok_before.len() < 200,
        "the run finished before the kill: make the jobs slower"
    );
    let manifest = s.manifest("solo");
    assert_eq!(manifest["state"], "running");

    let out = s
        .run("solo")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let after = s.results("solo");
    let per_key = after.ok_per_key();
    assert_eq!(per_key.len(), 200, "every job ok in the end");
    assert!(
        per_key.values().all(|&n| n == 1),
        "a job ran twice: {per_key:?}"
    );
    let rows_per_key: BTreeMap<&str, usize> =
        after.rows.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.get("key")).or_default() += 1;
            m
        });
    for key in &ok_before {
        assert_eq!(
            rows_per_key[key.as_str()],
            1,
            "{key} ran again after its ok row"
        );
    }
    // The rows from before the crash are kept as they were.
    assert_eq!(after.rows[..before.rows.len()], before.rows[..]);
    let manifest = s.manifest("solo");
    assert_eq!(manifest["state"], "finished");
    assert_eq!(manifest["counts"]["skipped"], ok_before.len() as u64);

    // The log decompresses whole (a member torn by the kill was cut away on reopening) and
    // holds every job's output line.
    let log = s.join("out/solo/log.gz");
    assert!(gzip_ok(&log), "gzip -t rejects {}", log.display());
    let lines = s.log("solo");
    let outs: BTreeSet<u64> = lines
        .iter()
        .filter(|l| l.stream == "out")
        .map(|l| l.job.unwrap())
        .collect();
    let missing: Vec<u64> = (0..200).filter(|i| !outs.contains(i)).collect();
    // Each job's lines are written (as whole gzip members) before its row, so every job with
    // an ok row has its output in the log.
    assert!(missing.is_empty(), "lost the output of jobs {missing:?}");
}

#[test]
fn a_row_torn_by_a_crash_is_cut_and_its_job_redone() {
    let jobs: Vec<String> = (0..8)
        .map(|i| format!(r#"echo '{{"v": {i}}}' > "$JOBSPLIT_RESULT""#))
        .collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").args(["--quiet"]).assert().code(0);
    let path = s.machine_dir("solo").join("results.csv");
    let full = s.results("solo");
    let torn = full.rows.last().unwrap().clone();
    let data = std::fs::read(&path).unwrap();
    // Cut the last row in its middle: after its key, before its end.
    let start = data[..data.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let cut = start + (data.len() - start) * 2 / 3;
    std::fs::write(&path, &data[..cut]).unwrap();

    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("torn") && err.contains("results.csv"),
        "no warning about the repair:\n{err}"
    );
    let after = s.results("solo");
    assert_eq!(after.rows.len(), 8);
    assert_eq!(after.rows[..7], full.rows[..7]);
    let redone = &after.rows[7];
    assert_eq!(redone.get("key"), torn.get("key"));
    assert_eq!(redone.status(), "ok");
    assert_eq!(redone.get("v"), torn.get("v"));
    assert_eq!(s.manifest("solo")["counts"]["skipped"], 7);
    assert_eq!(s.manifest("solo")["counts"]["ok"], 1);
}

#[test]
fn a_log_torn_by_a_crash_is_cut_on_the_next_run() {
    let jobs: Vec<String> = (0..3).map(|i| format!("echo job {i}")).collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").args(["--quiet"]).assert().code(0);
    let log = s.machine_dir("solo").join("log.gz");
    let data = std::fs::read(&log).unwrap();
    std::fs::write(&log, &data[..data.len() - 5]).unwrap();
    assert!(!gzip_ok(&log) || which_gzip_missing());
    // Make the rerun do something: drop the last row, as if it had not been written.
    let path = s.machine_dir("solo").join("results.csv");
    let csv = std::fs::read(&path).unwrap();
    let last_start = csv[..csv.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&path, &csv[..last_start]).unwrap();
    s.run("solo").args(["--quiet"]).assert().code(0);
    assert!(gzip_ok(&log));
    let lines = s.log("solo");
    assert!(lines.iter().any(|l| l.stream == "out"));
}

fn which_gzip_missing() -> bool {
    std::process::Command::new("gzip")
        .arg("--version")
        .output()
        .is_err()
}

/// A result file a killed run left in `tmp/` is never taken for a later attempt's result (the
/// run clears them once at its start, not each job before it runs).
#[test]
fn a_result_file_left_by_a_killed_run_is_not_read() {
    let jobs = vec!["true".to_owned(); 2];
    let s = crate::harness::Study::with(&jobs, r#"{"a": [1, 1]}"#, "");
    assert_eq!(s.run("a").output().unwrap().status.code(), Some(0));
    let tmp = s.machine_dir("a").join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("result-0-2.json"), r#"{"stale": 1}"#).unwrap();
    let out = s.run("a").args(["--rerun", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r = s.results("a");
    assert_eq!(r.rows.len(), 3);
    assert!(
        r.rows.iter().all(|row| row.try_get("stale").is_none()),
        "{:?}",
        r.rows
    );
    assert!(!tmp.join("result-0-2.json").exists());
}
