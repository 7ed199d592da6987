//! Cancel requests that are odd or hostile files (`OUT/<machine>/cancel` a link, a FIFO, a link
//! to `/dev/zero`, a huge file) and `jobsplit cancel` where no run answers: a run never reads,
//! deletes or blocks on anything but the plain files of its own `cancel/` directory, and
//! `cancel` files a request only where the job can still run, and never says it will be
//! honoured when it will not.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{wait_child, wait_until, Study};
use crate::process_signals::KillOnPanic;

/// A study of one machine `solo` with one slot, whose jobs are `jobs`.
fn solo(jobs: &[&str]) -> Study {
    let jobs: Vec<String> = jobs.iter().map(|j| (*j).to_owned()).collect();
    Study::with(&jobs, r#"{"solo": [1, 1]}"#, "")
}

/// Starts `jobsplit run --machine solo` in the background.
fn spawn_run(s: &Study) -> (std::process::Child, KillOnPanic) {
    let child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes"])
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

fn stderr_of(child: &mut std::process::Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
    }
    text
}

#[test]
fn a_cancel_link_is_refused_and_nothing_is_deleted_where_it_points() {
    let s = solo(&["false", "true"]);
    // The user's own directory of notes, which `cancel` is made to point at.
    s.write("notes/keep.txt", "mine\n");
    s.write("notes/7.txt", "3\n");
    std::fs::create_dir_all(s.machine_dir("solo")).unwrap();
    std::os::unix::fs::symlink(s.join("notes"), s.machine_dir("solo").join("cancel")).unwrap();
    let out = s.output(&["run", "--machine", "solo", "--yes"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("cancel is a symbolic link") && lines[0].contains("remove it"),
        "{}",
        lines[0]
    );
    assert_eq!(
        std::fs::read_to_string(s.join("notes/keep.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.join("notes/7.txt")).unwrap(),
        "3\n"
    );
    assert!(!s.machine_dir("solo").join("results.csv").exists());
    // `jobsplit cancel` does not write through it either (after a run, so there is a manifest).
    std::fs::remove_file(s.machine_dir("solo").join("cancel")).unwrap();
    s.run("solo").assert().code(1);
    std::os::unix::fs::symlink(s.join("notes"), s.machine_dir("solo").join("cancel")).unwrap();
    let out = s.output(&["cancel", "out/solo", "0"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("cancel is a symbolic link"),
        "{}",
        out.stderr
    );
    let notes: Vec<_> = std::fs::read_dir(s.join("notes")).unwrap().collect();
    assert_eq!(notes.len(), 2, "cancel wrote into the linked directory");
}

#[test]
fn fifos_devices_and_links_among_requests_are_passed_over_not_read() {
    let s = solo(&["sleep 1", "true"]);
    let cancel = s.machine_dir("solo").join("cancel");
    std::fs::create_dir_all(&cancel).unwrap();
    let fifo = std::ffi::CString::new(cancel.join("fifo.txt").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("/dev/zero", cancel.join("zero.txt")).unwrap();
    s.write("elsewhere.txt", "1\n");
    std::os::unix::fs::symlink(s.join("elsewhere.txt"), cancel.join("link.txt")).unwrap();
    let (mut child, _guard) = spawn_run(&s);
    // Before the fix the run hung opening the FIFO (or read /dev/zero without end).
    let status = wait_child(&mut child, Duration::from_secs(30));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    for name in ["fifo.txt", "zero.txt", "link.txt"] {
        assert!(
            err.contains(&format!("{name}: not a plain file")),
            "{name} not warned about: {err}"
        );
        assert!(
            std::fs::symlink_metadata(cancel.join(name)).is_ok(),
            "{name} was removed"
        );
    }
    // The link's target named job 1: it was not read, so job 1 ran.
    let r = s.results("solo");
    assert!(r.rows.iter().all(|r| r.status() == "ok"), "{:?}", r.rows);
    assert_eq!(
        std::fs::read_to_string(s.join("elsewhere.txt")).unwrap(),
        "1\n"
    );
}

/// Bytes the process `pid` has read so far (`rchar` of /proc/PID/io).
fn bytes_read(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_large_request_is_not_read_again_every_200_ms() {
    let s = solo(&["sleep 8"]);
    // 100 MB of comment lines (beyond what a request may be: passed over), and 12 MB (read once).
    let line = format!("#{}\n", "x".repeat(99));
    s.write("out/solo/cancel/big.txt", line.repeat(1_000_000));
    s.write("out/solo/cancel/mid.txt", line.repeat(120_000) + "5\n");
    let (mut child, _guard) = spawn_run(&s);
    let pid = child.id();
    let started = Instant::now();
    assert!(wait_until(Duration::from_secs(20), || s
        .machine_dir("solo")
        .join("status.json")
        .exists()));
    std::thread::sleep(Duration::from_secs(6).saturating_sub(started.elapsed()));
    let read = bytes_read(pid);
    let status = wait_child(&mut child, Duration::from_secs(60));
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("big.txt: larger than 16 MiB"), "{err}");
    assert_eq!(err.matches("big.txt").count(), 1, "warned once: {err}");
    eprintln!("the run read {} MB in its first 6 s", read / 1_000_000);
    // Once is 12 MB; every 200 ms would be several GB (each look takes a while in a
    // debug build: 400 MB or more).
    assert!(read < 150_000_000, "the run read {read} bytes in 6 s");
}

#[test]
fn cancel_with_no_run_files_a_request_only_where_the_job_can_still_run() {
    let jobs: Vec<String> = (0..8).map(|i| format!("test {i} != 0")).collect();
    let s = Study::with(&jobs, r#"{"a": [1, 1], "b": [1, 1]}"#, "");
    let plan = s.plan_json(&[]);
    let owner = crate::harness::assignment(&plan);
    let other = |m: &str| if m == "a" { "b" } else { "a" };
    s.run("a").output().unwrap();
    s.run("b").output().unwrap();
    // Job 0 failed on its machine: the next run there would run it again.
    let out = s.output(&["cancel", "out", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let (mine, theirs) = (owner[&0].as_str(), other(&owner[&0]));
    assert!(
        s.machine_dir(mine).join("cancel").is_dir(),
        "{}",
        out.stdout
    );
    assert!(
        !s.machine_dir(theirs).join("cancel").exists(),
        "a request in {theirs}, whose finished run never had job 0: {}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("out/{mine}")),
        "{}",
        out.stdout
    );
    // Job 1 is ok: nothing to cancel, nothing written, and nothing said to be honoured.
    let before = s.files();
    let out = s.output(&["cancel", "out", "1"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "job 1 on {}: ended already: nothing to cancel (`run --rerun` runs it again)\n",
            owner[&1]
        )
    );
    assert_eq!(s.files(), before);
}

#[test]
fn cancel_racing_a_runs_end_does_not_promise_a_job_recorded_ok() {
    let s = solo(&["true", "true"]);
    s.run("solo").assert().code(0);
    // A run that holds the directory for a moment and ends without reading the request: as a
    // run does that finishes just as `cancel` asks.
    let lock = s.machine_dir("solo").join(".lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "1"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || {
        let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
        // SAFETY: flock on a descriptor `f` keeps open.
        let r = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&f),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        r != 0
    }));
    let out = s.output(&["cancel", "out/solo", "0"]);
    holder.wait().unwrap();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "job 0 on solo: ended already: nothing to cancel (`run --rerun` runs it again)\n"
    );
    assert!(
        !s.machine_dir("solo").join("cancel").exists(),
        "the request was left behind"
    );
}
