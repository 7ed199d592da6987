//! A rerun right after a `kill -9`. A job the killed run was starting at that moment (forked,
//! not yet exec'd) still holds a copy of the directory's lock for a moment; the kill -9 property
//! saw a rerun refused as "another jobsplit run is writing" by such a half-spawned child. The
//! rerun waits a little for a lock that is about to be released, and still refuses one held on.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{text, wait_child, wait_until, Study};

/// Starts `flock LOCK sleep SECONDS` and waits until it holds the lock.
fn hold_lock(s: &Study, seconds: &str) -> std::process::Child {
    let lock = s.machine_dir("solo").join(".lock");
    let child = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", seconds])
        .stdin(Stdio::null())
        .spawn()
        .expect("flock(1) runs");
    let held = wait_until(Duration::from_secs(10), || {
        std::process::Command::new("flock")
            .args(["-n"])
            .arg(&lock)
            .arg("true")
            .status()
            .is_ok_and(|s| !s.success())
    });
    assert!(held, "flock did not take the lock");
    child
}

#[test]
fn a_rerun_waits_for_a_lock_released_a_moment_later() {
    let s = Study::with(&["echo hi".to_owned()], r#"{"solo": [1, 1]}"#, "");
    std::fs::create_dir_all(s.machine_dir("solo")).unwrap();
    let mut holder = hold_lock(&s, "0.3");
    let out = s.run("solo").arg("--quiet").output().unwrap();
    wait_child(&mut holder, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.results("solo").rows.len(), 1);
}

#[test]
fn a_lock_held_on_is_still_refused() {
    let s = Study::with(&["echo hi".to_owned()], r#"{"solo": [1, 1]}"#, "");
    std::fs::create_dir_all(s.machine_dir("solo")).unwrap();
    let mut holder = hold_lock(&s, "30");
    let out = s.run("solo").arg("--quiet").output().unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("another jobsplit run is writing"));
}
