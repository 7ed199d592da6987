//! Jobs whose descendants leave the job's process group (`setsid`), holding its output pipes or
//! not: the attempt is still bounded by `--timeout` and the grace period, jobsplit does not spin
//! while it waits, and no job process outlives the run (normal end, timeout, Ctrl-C, a rerun
//! after `kill -9`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    assert_no_procs_with_env, procs_with_env, signal, text, wait_child, wait_until, Study,
};
use crate::process_signals::KillOnPanic;

const ONE_SLOT: &str = r#"{"solo": [1, 1]}"#;
const TWO_SLOTS: &str = r#"{"solo": [1, 2]}"#;

/// CPU seconds (user + system) process `pid` has used so far, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `pid (comm)`: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks)
}

/// Runs `jobsplit run ARGS` to its end (at most `limit`), sampling its CPU time as it goes;
/// returns (exit code, stderr, wall time, CPU seconds last seen).
fn run_measured(s: &Study, args: &[&str], limit: Duration) -> (Option<i32>, String, Duration, f64) {
    let start = Instant::now();
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut cpu = 0.0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(c) = cpu_seconds(child.id()) {
            cpu = c;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));
            panic!("the run did not end within {limit:?} (CPU {cpu:.2} s so far)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap(), start.elapsed(), cpu)
}

#[test]
fn a_setsid_descendant_holding_the_pipe_does_not_escape_the_timeout() {
    let jobs = vec![
        // The descendant leaves the group and keeps the output pipe open.
        "setsid sh -c 'sleep 60' & sleep 60".to_owned(),
        // The same, all of it ignoring SIGTERM: only SIGKILL after the grace period ends it.
        "trap '' TERM; setsid sh -c 'sleep 60' & sleep 60".to_owned(),
        "echo after".to_owned(),
    ];
    let s = Study::with(&jobs, ONE_SLOT, "");
    let (code, stderr, took, cpu) = run_measured(
        &s,
        &["--timeout", "2", "--grace", "1"],
        Duration::from_secs(40),
    );
    assert_eq!(code, Some(1), "{stderr}");
    // 2 s limit (+ 1 s grace) for each, one after the other, moving on within a second;
    // generous for a loaded machine.
    assert!(took < Duration::from_secs(15), "the run took {took:?}");
    // Waiting is not spinning.
    assert!(cpu < 1.5, "jobsplit used {cpu:.2} s of CPU");
    assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));
    let r = s.results("solo");
    let last = r.last_by_index();
    // Job 0 ends at SIGTERM, job 1 at SIGKILL after the grace period.
    for (i, least) in [(0, 1.9), (1, 2.9)] {
        assert_eq!(last[&i].status(), "timeout", "{:?}", last[&i]);
        let d: f64 = last[&i].get("duration_s").parse().unwrap();
        assert!((least..least + 4.0).contains(&d), "job {i} took {d} s");
    }
    assert_eq!(last[&2].status(), "ok");
}

#[test]
fn a_job_that_ends_leaving_setsid_daemons_is_recorded_and_they_are_ended() {
    let jobs = vec![
        // A daemon that keeps the job's output pipe.
        "setsid sleep 60 & echo started one".to_owned(),
        // A daemon that closed its output: nothing ties it to the job but its environment.
        "setsid sh -c 'sleep 61' >/dev/null 2>&1 </dev/null & echo started two".to_owned(),
    ];
    let s = Study::with(&jobs, ONE_SLOT, "");
    let (code, stderr, took, cpu) = run_measured(&s, &[], Duration::from_secs(40));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(took < Duration::from_secs(10), "the run took {took:?}");
    assert!(cpu < 1.5, "jobsplit used {cpu:.2} s of CPU");
    assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));
    let r = s.results("solo");
    for row in &r.rows {
        assert_eq!(row.status(), "ok", "{row:?}");
        let d: f64 = row.get("duration_s").parse().unwrap();
        assert!(d < 5.0, "job {} waited for its daemon ({d} s)", row.index());
    }
    let log = s.log("solo");
    for (i, line) in [(0, "started one"), (1, "started two")] {
        assert!(log.iter().any(|l| l.job == Some(i) && l.text == line));
    }
}

#[test]
fn ctrl_c_ends_a_job_whose_descendant_left_the_group() {
    let jobs: Vec<String> = (0..4)
        .map(|_| "setsid sh -c 'sleep 60' & sleep 60".to_owned())
        .collect();
    let s = Study::with(&jobs, TWO_SLOTS, "");
    let marker = s.env_marker();
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--grace", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _guard = KillOnPanic {
        pid: child.id(),
        marker: marker.clone(),
    };
    assert!(
        wait_until(Duration::from_secs(20), || procs_with_env(&marker)
            .iter()
            .filter(|(_, cmd)| cmd.starts_with("sleep"))
            .count()
            == 4),
        "the jobs did not start"
    );
    let sent = Instant::now();
    signal(child.id(), libc::SIGINT);
    let status = wait_child(&mut child, Duration::from_secs(30));
    let took = sent.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_secs(8), "took {took:?} to stop");
    assert_no_procs_with_env(&marker, Duration::from_secs(3));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2, "{:?}", r.rows);
    assert!(r.rows.iter().all(|row| row.status() == "interrupted"));
    assert_eq!(s.manifest("solo")["state"], "interrupted");
}

#[test]
fn a_rerun_after_kill_9_ends_descendants_that_left_the_group() {
    let jobs: Vec<String> = (0..2)
        .map(|_| "setsid sh -c 'sleep 60' >/dev/null 2>&1 & sleep 60".to_owned())
        .collect();
    let s = Study::with(&jobs, TWO_SLOTS, "");
    let marker = s.env_marker();
    let mut first = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--quiet"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || procs_with_env(
        &marker
    )
    .iter()
    .filter(|(_, cmd)| cmd.starts_with("sleep"))
    .count()
        == 4));
    first.kill().unwrap();
    first.wait().unwrap();
    let out = s
        .run("solo")
        .args(["--timeout", "1", "--grace", "0.2"])
        .timeout(Duration::from_secs(40))
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("still running from an earlier run"),
        "{}",
        text(&out.stderr)
    );
    assert_no_procs_with_env(&marker, Duration::from_secs(3));
}
