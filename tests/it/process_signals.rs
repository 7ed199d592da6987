//! Signals escalate: the first SIGINT or SIGTERM stops starting jobs, asks the running ones to
//! stop and says so; the second kills them at once. Either way every running job is recorded
//! `interrupted`, the manifest says `interrupted`, jobsplit exits 130 and nothing is left.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    assert_no_procs_with_env, procs_with_env, signal, wait_child, wait_until, Study,
};

const TWO_SLOTS: &str = r#"{"solo": [1, 2]}"#;

/// When a test fails while a `jobsplit` it spawned still runs: kills it and every process
/// carrying the study's marker, so that one failure leaves nothing running.
pub(crate) struct KillOnPanic {
    pub(crate) pid: u32,
    pub(crate) marker: String,
}

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let kill = |pid: i32| {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        };
        kill(self.pid as i32);
        for (pid, _) in procs_with_env(&self.marker) {
            kill(pid);
        }
    }
}

/// Jobs that ignore SIGTERM (so only SIGKILL ends them), each with a descendant that left the
/// process group (and ignores SIGTERM too).
fn stubborn_jobs() -> Vec<String> {
    (0..4)
        .map(|i| format!("trap '' TERM; setsid sh -c 'sleep 6{i}' & sleep 6{i}"))
        .collect()
}

/// Starts `jobsplit run` with `--grace 30` over [`stubborn_jobs`] (in a process group of its own
/// when `own_group`), waits until both slots run, and returns it with a reader of its stderr.
fn start(
    s: &Study,
    own_group: bool,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    KillOnPanic,
) {
    use std::os::unix::process::CommandExt as _;
    s.setup(&stubborn_jobs(), TWO_SLOTS, "");
    let mut cmd = s.std_cmd();
    cmd.args(["run", "--machine", "solo", "--yes", "--grace", "30"])
        .stderr(Stdio::piped());
    if own_group {
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().unwrap();
    let guard = KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = s.env_marker();
    assert!(
        wait_until(Duration::from_secs(20), || procs_with_env(&marker)
            .iter()
            .filter(|(_, cmd)| cmd.starts_with("sleep"))
            .count()
            == 4),
        "the jobs did not start"
    );
    (child, rx, guard)
}

/// Waits up to `limit` for a line of stderr containing `needle`; every line seen is kept in
/// `seen`.
fn wait_line(
    rx: &std::sync::mpsc::Receiver<String>,
    needle: &str,
    limit: Duration,
    seen: &mut Vec<String>,
) -> bool {
    let end = Instant::now() + limit;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// What every interrupted run must leave: two `interrupted` rows, an `interrupted` manifest,
/// and no process.
fn assert_interrupted(s: &Study) {
    assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2, "{:?}", r.rows);
    for row in &r.rows {
        assert_eq!(row.status(), "interrupted", "{row:?}");
    }
    let m = s.manifest("solo");
    assert_eq!(m["state"], "interrupted");
    assert_eq!(m["counts"]["interrupted"], 2);
}

#[test]
fn a_second_ctrl_c_kills_jobs_that_ignore_sigterm_and_records_them() {
    let s = Study::new();
    let (mut child, rx, _guard) = start(&s, false);
    let mut seen = Vec::new();
    signal(child.id(), libc::SIGINT);
    assert!(
        wait_line(
            &rx,
            "stopping: 2 jobs running, they get 30 s to end (Ctrl-C again to kill them now)",
            Duration::from_secs(10),
            &mut seen
        ),
        "no stopping line: {seen:?}"
    );
    // The jobs ignore SIGTERM: they are still there.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "{seen:?}");
    let sent = Instant::now();
    signal(child.id(), libc::SIGINT);
    let status = wait_child(&mut child, Duration::from_secs(20));
    let took = sent.elapsed();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.push(line);
    }
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert!(
        took < Duration::from_secs(8),
        "took {took:?} after the second signal"
    );
    assert_interrupted(&s);
}

#[test]
fn sigterm_to_jobsplit_then_its_group_like_gnu_timeout_kills_the_jobs() {
    let s = Study::new();
    let (mut child, rx, _guard) = start(&s, true);
    let pid = child.id();
    // GNU timeout signals its child, then the child's process group.
    signal(pid, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill has no memory effects; the group is the one jobsplit leads.
    let r = unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGTERM) };
    assert_eq!(r, 0);
    let sent = Instant::now();
    let status = wait_child(&mut child, Duration::from_secs(20));
    let took = sent.elapsed();
    let seen: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_interrupted(&s);
}
