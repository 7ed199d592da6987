//! Stealing hosts racing: merge while they run, and runs that must not both hold one machine
//! name (issue 19, defects 2 and 5).

use std::time::Duration;

use crate::harness::{wait_child, Study};

const THREE: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}, "c": {"weight": 1, "cores": 1}}"#;

#[test]
fn merge_while_stealing_hosts_run_never_refuses_their_rows() {
    let jobs: Vec<String> = (0..300).map(|i| format!("sleep 0.01; echo {i}")).collect();
    let s = Study::with(&jobs, THREE, "");
    let mut runs: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|m| {
            s.std_cmd()
                .args([
                    "run",
                    "--yes",
                    "--quiet",
                    "--steal",
                    "--steal-block",
                    "1",
                    "-M",
                    m,
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    // (A merge before a host wrote its manifest refuses its directory: another matter.)
    assert!(crate::harness::wait_until(Duration::from_secs(30), || [
        "a", "b", "c"
    ]
    .iter()
    .all(|m| s.machine_dir(m).join("manifest.json").exists())));
    let mut refused = Vec::new();
    let mut merges = 0;
    while runs.iter_mut().any(|r| r.try_wait().unwrap().is_none()) {
        let out = format!("merged-{merges}");
        merges += 1;
        let o = s.output(&["merge", "out", "--out", &out]);
        if o.code == 2 {
            refused.push(o.stderr);
        }
    }
    for r in &mut runs {
        assert_eq!(wait_child(r, Duration::from_secs(60)).code(), Some(0));
    }
    assert!(merges > 1, "merged {merges} times while the hosts ran");
    assert!(
        refused.is_empty(),
        "{} of {merges} merges refused: {refused:?}",
        refused.len()
    );
    let o = s.output(&["merge", "out", "--out", "final"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// This process's kernel, as the name record says it: boot id and PID namespace.
fn kernel() -> (String, String) {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    (boot.trim().to_owned(), ns.to_string_lossy().into_owned())
}

/// The start time of process `pid` in clock ticks after boot (`/proc/PID/stat` field 22).
fn start_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

/// A study whose layout exists (machine b ran), and the path of machine a's name record.
fn study_with_layout() -> (Study, std::path::PathBuf) {
    let jobs: Vec<String> = (0..6).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, THREE, "");
    let o = s.output(&["run", "--yes", "--quiet", "--steal", "-M", "b"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let layout = s
        .out()
        .join(s.manifest("b")["balance"]["layout"].as_str().unwrap());
    (s, layout.join("hosts/a.json"))
}

/// Machine a's name record as a run with this host name writes it, held by `process`.
fn record(process: serde_json::Value) -> Vec<u8> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    serde_json::to_vec_pretty(&serde_json::json!({
        "owner": "", "block": 0, "machine": "a", "host": host.trim(), "pid": process["pid"],
        "run": "0123456789abcdef0123456789abcdef", "at": "2026-01-01T00:00:00Z", "jobs": [],
        "process": process
    }))
    .unwrap()
}

#[test]
fn a_host_of_the_same_name_never_takes_over_a_machine_whose_run_may_live() {
    let (s, path) = study_with_layout();
    let (boot, ns) = kernel();
    // A run of machine a alive on this kernel (a host sharing it: a container named alike).
    let mut live = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let held = serde_json::json!({"boot_id": boot, "pid_ns": ns, "pid": live.id(), "start": start_of(live.id())});
    s.write(&path, record(held));
    let before = s.files();
    let o = s.output(&["run", "--yes", "--quiet", "--steal", "-M", "a"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("is running on host"), "{}", o.stderr);
    assert_eq!(s.files(), before, "nothing written");
    // Another machine (a cloned VM: same host name, another boot): not provably gone either.
    let clone = serde_json::json!({"boot_id": "another-boot", "pid_ns": ns, "pid": 1, "start": 1});
    s.write(&path, record(clone));
    let before = s.files();
    let o = s.output(&["run", "--yes", "--quiet", "--steal", "-M", "a"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("cannot tell whether that run ended"),
        "{}",
        o.stderr
    );
    assert_eq!(s.files(), before, "nothing written");
    // The pid now names another process (reused): that run is gone, its name taken over.
    let reused = serde_json::json!({"boot_id": boot, "pid_ns": ns, "pid": live.id(), "start": start_of(live.id()) + 1});
    s.write(&path, record(reused));
    let o = s.output(&["run", "--yes", "--quiet", "--steal", "-M", "a"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!path.exists(), "given back at the end");
    live.kill().unwrap();
    live.wait().unwrap();
}

#[test]
fn merge_reports_two_ok_rows_of_one_job_in_one_file_that_no_rerun_asked_for() {
    let jobs: Vec<String> = (0..3).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, r#"{"a": [1, 1]}"#, "");
    assert_eq!(s.output(&["run", "--yes", "--quiet", "-M", "a"]).code, 0);
    // A rerun counts on from the attempts before it: no duplicate.
    assert_eq!(
        s.output(&["run", "--yes", "--quiet", "-M", "a", "--rerun", "1"])
            .code,
        0
    );
    let o = s.output(&["merge", "out", "--out", "m1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        crate::harness::read_json(&s.join("m1/summary.json"))["duplicates"],
        0
    );
    // Two runs of machine a at once (two hosts) both write attempt 1 of job 2.
    let path = s.machine_dir("a").join("results.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("2,"))
        .unwrap()
        .to_owned();
    std::fs::write(&path, format!("{text}{row}\n")).unwrap();
    let o = s.output(&["merge", "out", "--out", "m2"]);
    assert_eq!(
        crate::harness::read_json(&s.join("m2/summary.json"))["duplicates"],
        1,
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("more than one ok row"), "{}", o.stderr);
}

#[test]
fn a_static_and_a_stealing_run_of_one_plan_started_at_once_never_both_run() {
    let jobs: Vec<String> = (0..6).map(|i| format!("echo {i}")).collect();
    for round in 0..6 {
        let s = Study::with(&jobs, THREE, "");
        let start = |args: &[&str]| {
            s.std_cmd()
                .args(["run", "--yes", "--quiet"])
                .args(args)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let (stat, steal) = (start(&["-M", "a"]), start(&["--steal", "-M", "b"]));
        let codes = [stat, steal].map(|mut c| wait_child(&mut c, Duration::from_secs(60)).code());
        let ran = |m: &str| {
            let p = s.machine_dir(m).join("results.csv");
            p.exists() && !s.results(m).rows.is_empty()
        };
        assert!(
            !(ran("a") && ran("b")),
            "round {round}: the static and the stealing run both ran jobs (exit codes {codes:?})"
        );
    }
}
