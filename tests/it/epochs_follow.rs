//! `run --follow` (docs/split-v1.md section 7): three hosts keep running after their shares
//! and pick up the jobs appended to the list, two appends close together included; every job
//! runs once, no earlier job again, and SIGTERM ends a waiting follower with exit 0.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use crate::harness::{self, Study, THREE_MACHINES};

const MACHINES: [&str; 3] = ["ws1", "ws2", "server"];

fn append(s: &Study, range: std::ops::Range<u64>) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.join("jobs.txt"))
        .unwrap();
    let text: String = range.map(|i| format!("echo {i} >> marker\n")).collect();
    f.write_all(text.as_bytes()).unwrap();
}

fn markers(s: &Study) -> BTreeMap<u64, usize> {
    let text = std::fs::read_to_string(s.join("marker")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        *out.entry(line.trim().parse().unwrap()).or_default() += 1;
    }
    out
}

#[test]
fn three_followers_pick_up_two_appends_and_run_every_job_once() {
    let jobs: Vec<String> = (0..9).map(|i| format!("echo {i} >> marker")).collect();
    let s = Study::with(&jobs, THREE_MACHINES, "");
    for m in MACHINES {
        s.run(m).arg("-q").assert().success();
    }
    append(&s, 9..15);
    let mut hosts: Vec<_> = MACHINES
        .iter()
        .map(|m| {
            s.std_cmd()
                .args(["run", "--machine", m, "--yes", "-q", "--follow"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let count = |n: usize| harness::wait_until(Duration::from_secs(30), || markers(&s).len() == n);
    assert!(
        count(15),
        "the followers did not run the first append: {:?}",
        markers(&s)
    );
    // Two appends while the hosts follow, close together.
    append(&s, 15..19);
    std::thread::sleep(Duration::from_millis(100));
    append(&s, 19..22);
    assert!(
        count(22),
        "the followers did not run the later appends: {:?}",
        markers(&s)
    );
    // Every host has ended its last round of the latest plan: it waits for the list to grow.
    let idle = harness::wait_until(Duration::from_secs(30), || {
        let latest = s.plan_json(&[])["plan_digest"].clone();
        MACHINES.iter().all(|m| {
            let manifest = s.manifest(m);
            manifest["plan_digest"] == latest && manifest["state"] == "finished"
        })
    });
    assert!(
        idle,
        "the followers did not all end the latest plan's round"
    );
    for host in &hosts {
        harness::signal(host.id(), libc::SIGTERM);
    }
    for host in hosts.iter_mut() {
        let status = harness::wait_child(host, Duration::from_secs(20));
        let mut err = String::new();
        std::io::Read::read_to_string(host.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(0), "{err}");
    }
    let m = markers(&s);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        (0..22).collect::<Vec<_>>()
    );
    assert!(m.values().all(|&c| c == 1), "a job ran twice: {m:?}");
    let merge = s
        .cmd()
        .args(["merge", "out", "--out", "merged", "--no-files"])
        .output()
        .unwrap();
    assert!(merge.status.success(), "{}", harness::text(&merge.stderr));
    let (_, rows) = harness::read_csv(&s.join("merged/results.csv"));
    assert_eq!(rows.len(), 22);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
    for machine in MACHINES {
        assert!(s.results(machine).ok_per_key().values().all(|&n| n == 1));
    }
    let epochs = std::fs::read_to_string(s.join("jobs.txt.epochs")).unwrap();
    assert!(epochs.lines().count() >= 4, "{epochs}");
}

#[test]
fn follow_needs_a_job_list_file() {
    let s = Study::new();
    s.write("machines.json", THREE_MACHINES);
    let out = s
        .cmd()
        .args([
            "run",
            "--machine",
            "ws1",
            "--yes",
            "--follow",
            "--jobs",
            "-",
        ])
        .write_stdin("echo a\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = harness::text(&out.stderr);
    assert!(err.contains("--follow follows a job list file"), "{err}");
    assert!(!s.join("out").exists());
}
