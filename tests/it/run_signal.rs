//! SIGINT and SIGTERM: the run stops starting jobs, stops the running ones, records them as
//! `interrupted`, exits 130, and a rerun finishes the rest.

use std::time::{Duration, Instant};

use crate::harness::{
    assert_no_procs_with_env, sh_quote, signal, text, wait_child, wait_until, Study,
};

const TWO_SLOTS: &str = r#"{"solo": [1, 2]}"#;
const JOBS: u64 = 10;

/// Starts `run` of machine `solo` (two slots) with stderr piped, and waits until both slots run
/// a job's `sleep` (the runner's signal handlers are in place by then).
fn start_two_sleeps(s: &Study) -> std::process::Child {
    let needle = s.env_marker();
    let child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            crate::harness::procs_with_env(&needle)
                .iter()
                .filter(|(_, cmd)| cmd.starts_with("sleep"))
                .count()
                == 2
        }),
        "the jobs did not start"
    );
    child
}

fn interrupt_then_resume(sig: libc::c_int) {
    let s = Study::new();
    // Slow until the marker exists, so the interruption finds jobs running and the rerun is quick.
    let fast = sh_quote(s.join("fast").to_str().unwrap());
    let jobs: Vec<String> = (0..JOBS)
        .map(|i| format!("echo start {i}; test -e {fast} || sleep 20; echo end {i}"))
        .collect();
    s.setup(&jobs, TWO_SLOTS, "");
    let needle = s.env_marker();
    let mut child = start_two_sleeps(&s);
    let sent = Instant::now();
    signal(child.id(), sig);
    let status = wait_child(&mut child, Duration::from_secs(15));
    let took = sent.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    // The jobs were stopped, not waited for (sleep ends at once on SIGTERM).
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_no_procs_with_env(&needle, Duration::from_secs(3));

    let manifest = s.manifest("solo");
    assert_eq!(manifest["state"], "interrupted");
    assert!(manifest["ended_at"].is_string());
    assert_eq!(manifest["counts"]["interrupted"], 2);
    let r = s.results("solo");
    assert_eq!(
        r.rows.len(),
        2,
        "no job may start after the signal: {:?}",
        r.rows
    );
    for row in &r.rows {
        assert_eq!(row.status(), "interrupted", "{row:?}");
        assert_eq!(row.get("exit_code"), "");
        assert_eq!(row.get("error"), "interrupted");
    }
    let status_file = crate::harness::read_json(&s.machine_dir("solo").join("status.json"));
    assert_eq!(status_file["state"], "interrupted");
    let log = s.log("solo");
    assert!(log
        .iter()
        .any(|l| l.job.is_none() && l.text.starts_with("run interrupted")));

    std::fs::write(s.join("fast"), "").unwrap();
    let out = s
        .run("solo")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    assert_eq!(r.rows.len() as u64, JOBS + 2);
    assert_eq!(r.ok_per_key().len() as u64, JOBS);
    for row in r.rows.iter().filter(|r| r.status() == "ok") {
        let interrupted_before = r.of(row.index()).len() == 2;
        assert_eq!(row.attempt(), if interrupted_before { 2 } else { 1 });
    }
    assert_eq!(s.manifest("solo")["state"], "finished");
}

#[test]
fn sigint_interrupts_and_a_rerun_resumes() {
    interrupt_then_resume(libc::SIGINT);
}

#[test]
fn sigterm_interrupts_and_a_rerun_resumes() {
    interrupt_then_resume(libc::SIGTERM);
}

/// Slurm's requeue and `scancel`, a container's stop and a terminal's Ctrl-C signal every
/// process at once: a job may die of the SIGTERM before the run's own handler has seen it. That
/// job was interrupted, not failed (it used to be recorded `failed`, "killed by signal 15", and
/// the requeued Slurm task then exited 1).
#[test]
fn a_job_signalled_with_the_run_is_interrupted_not_failed() {
    let s = Study::new();
    let jobs = [
        "sleep 20; echo done 0".to_owned(),
        "sleep 20; echo done 1".to_owned(),
    ];
    s.setup(&jobs, TWO_SLOTS, "");
    let needle = s.env_marker();
    let mut child = start_two_sleeps(&s);
    let jobs = || crate::harness::procs_with_env(&needle);
    // The jobs' processes first (their shells and sleeps), the run 200 ms later: the worst
    // order for the run, which finds its jobs already dead of the signal.
    for (pid, _) in jobs() {
        // SAFETY: kill has no memory effects; a process already gone is fine.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), libc::SIGTERM);
    let status = wait_child(&mut child, Duration::from_secs(15));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2, "{:?}", r.rows);
    for row in &r.rows {
        assert_eq!(row.status(), "interrupted", "{row:?}\n{stderr}");
        assert_eq!(row.get("error"), "interrupted");
    }
    assert_eq!(s.manifest("solo")["counts"]["failed"], 0);
}
