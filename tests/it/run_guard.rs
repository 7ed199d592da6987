//! One run per output directory, and no job left running by a run that was killed.

use std::time::Duration;

use crate::harness::{procs_with_env, text, wait_until, Study};

fn sleepers(n: usize, secs: u32) -> Vec<String> {
    (0..n).map(|_| format!("sleep {secs}")).collect()
}

#[test]
fn a_second_run_in_the_same_directory_is_refused() {
    let s = Study::with(&sleepers(4, 3), r#"{"a": [1, 2]}"#, "");
    let mut first = s
        .std_cmd()
        .args(["run", "--machine", "a", "--yes", "--quiet"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || s
        .machine_dir("a")
        .join("manifest.json")
        .exists()));
    let out = s.run("a").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("another jobsplit run is writing"),
        "{}",
        text(&out.stderr)
    );
    // --fresh must not move a running run's directory aside either.
    let out = s.run("a").arg("--fresh").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(s.machine_dir("a").join("manifest.json").exists());
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_rerun_ends_the_jobs_a_killed_run_left_behind() {
    let s = Study::with(&sleepers(2, 60), r#"{"a": [1, 2]}"#, "");
    let marker = s.env_marker();
    let mut first = s
        .std_cmd()
        .args(["run", "--machine", "a", "--yes", "--quiet"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || procs_with_env(
        &marker
    )
    .len()
        >= 3));
    // kill -9: the jobs, in process groups of their own, keep running.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        !procs_with_env(&marker).is_empty(),
        "the jobs outlived the killed run"
    );
    // The rerun ends them before it starts the jobs again (and is stopped here by a timeout).
    let out = s
        .run("a")
        .args(["--timeout", "1", "--grace", "0.2"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("still running from an earlier run"),
        "{}",
        text(&out.stderr)
    );
    assert!(wait_until(Duration::from_secs(10), || procs_with_env(
        &marker
    )
    .is_empty()));
}

/// Kills a run of machine `a` started with `--out first_out` while its two jobs sleep, then
/// reruns with `--out rerun_out` (another spelling of the same directory) and checks that the
/// rerun found and ended the killed run's jobs before running them again.
fn rerun_by_another_spelling_ends_leftovers(first_out: &str, rerun_out: &str) {
    let s = Study::with(&sleepers(2, 60), r#"{"a": [1, 2]}"#, "");
    std::fs::create_dir(s.join("real")).unwrap();
    std::os::unix::fs::symlink("real", s.join("link")).unwrap();
    let marker = s.env_marker();
    let mut first = s
        .std_cmd()
        .args([
            "run",
            "--machine",
            "a",
            "--yes",
            "--quiet",
            "--out",
            first_out,
        ])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || procs_with_env(
        &marker
    )
    .len()
        >= 3));
    first.kill().unwrap();
    first.wait().unwrap();
    let leftovers: Vec<i32> = procs_with_env(&marker).iter().map(|p| p.0).collect();
    assert!(!leftovers.is_empty(), "the jobs outlived the killed run");
    let out = s
        .run("a")
        .args(["--out", rerun_out, "--timeout", "1", "--grace", "0.2"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("still running from an earlier run"),
        "{first_out} then {rerun_out}: {}",
        text(&out.stderr)
    );
    let alive = |pid: &i32| std::path::Path::new(&format!("/proc/{pid}")).exists();
    let survivors: Vec<i32> = leftovers.into_iter().filter(alive).collect();
    for pid in &survivors {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    assert!(
        survivors.is_empty()
            || wait_until(Duration::from_secs(5), || procs_with_env(&marker)
                .is_empty()),
        "{first_out} then {rerun_out}: the killed run's jobs ran on beside the rerun"
    );
}

#[test]
fn a_rerun_through_a_symlink_ends_the_leftovers() {
    rerun_by_another_spelling_ends_leftovers("real", "link");
    rerun_by_another_spelling_ends_leftovers("link", "real");
}

#[test]
fn a_rerun_through_dot_dot_ends_the_leftovers() {
    rerun_by_another_spelling_ends_leftovers("real", "real/../real");
}
