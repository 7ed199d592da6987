//! `run --steal` on a job list that grows (docs/balance.md, "A study that grows"): each epoch
//! is balanced under its own layout and claims; every job runs once when appends race stealing
//! hosts (also following ones), when hosts see an epoch at different times, and after a kill -9
//! in the middle of an epoch; merge proves every epoch's rows by its claims.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Child;
use std::time::Duration;

use crate::harness::{self, Out, Study};

const THREE: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}, "c": {"weight": 1, "cores": 1}}"#;
const MACHINES: [&str; 3] = ["a", "b", "c"];

/// Job `i` sleeps `$SLEEP` (each host its own: its speed), then appends `i` to `marker`.
fn job(i: u64) -> String {
    format!("sleep \"$SLEEP\"; echo {i} >> marker")
}

fn study(n: u64) -> Study {
    let jobs: Vec<String> = (0..n).map(job).collect();
    Study::with(&jobs, THREE, "")
}

fn append(s: &Study, file: &str, range: std::ops::Range<u64>) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.join(file))
        .unwrap();
    let text: String = range.map(|i| job(i) + "\n").collect();
    f.write_all(text.as_bytes()).unwrap();
}

fn spawn(s: &Study, machine: &str, sleep: &str, extra: &[&str]) -> Child {
    s.std_cmd()
        .args(["run", "--yes", "--quiet", "--steal", "--machine", machine])
        .args(extra)
        .env("SLEEP", sleep)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(mut child: Child) {
    let status = harness::wait_child(&mut child, Duration::from_secs(120));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
}

fn markers(s: &Study) -> BTreeMap<u64, usize> {
    let text = std::fs::read_to_string(s.join("marker")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        *out.entry(line.trim().parse().unwrap()).or_default() += 1;
    }
    out
}

fn each_once(s: &Study, n: u64) {
    let m = markers(s);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        (0..n).collect::<Vec<_>>(),
        "every job ran"
    );
    assert!(m.values().all(|&c| c == 1), "a job ran twice: {m:?}");
}

/// Merges `out` and checks every job of `n` is ok once, proved by the claims.
fn merged_ok(s: &Study, n: u64) -> serde_json::Value {
    let o = s.output(&["merge", "out", "-o", "merged", "--no-files"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("proved by claims"), "{}", o.stdout);
    let summary = harness::read_json(&s.join("merged/summary.json"));
    assert_eq!(summary["missing"], 0, "{summary}");
    assert_eq!(summary["duplicates"], 0, "{summary}");
    let (_, rows) = harness::read_csv(&s.join("merged/results.csv"));
    assert_eq!(rows.len() as u64, n);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
    summary
}

/// The layout of the plan (or epoch) `digest`.
fn layout(s: &Study, digest: &str) -> serde_json::Value {
    harness::read_json(
        &s.out()
            .join(".jobsplit")
            .join(format!("steal-{}", &digest[..16]))
            .join("layout.json"),
    )
}

#[test]
fn a_grown_list_is_stolen_epoch_by_epoch_and_every_job_runs_once() {
    let s = study(24);
    let hosts = [("a", "0.2"), ("b", "0.02"), ("c", "0.01")];
    for child in hosts.map(|(m, sleep)| spawn(&s, m, sleep, &[])) {
        finish(child);
    }
    let before = s.plan_json(&[]);
    append(&s, "jobs.txt", 24..36);
    for child in hosts.map(|(m, sleep)| spawn(&s, m, sleep, &[])) {
        finish(child);
    }
    // Only c runs the third epoch: it takes every share of it (their owners are not running).
    append(&s, "jobs.txt", 36..42);
    finish(spawn(&s, "c", "0", &[]));
    each_once(&s, 42);
    let summary = merged_ok(&s, 42);
    let plan = s.plan_json(&[]);
    let epochs = plan["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 3);
    assert_eq!(epochs[0]["plan_digest"], before["plan_digest"]);
    // One layout per epoch, chained; epoch 0's is the layout of the study before it grew.
    let d: Vec<&str> = epochs
        .iter()
        .map(|e| e["plan_digest"].as_str().unwrap())
        .collect();
    let l0 = layout(&s, d[0]);
    assert!(
        l0.get("epoch").is_none() && l0.get("earlier").is_none(),
        "{l0}"
    );
    let l2 = layout(&s, d[2]);
    assert_eq!(l2["epoch"], 2);
    assert_eq!(l2["earlier"], serde_json::json!([d[0], d[1]]));
    assert_eq!(l2["plan_digest"], d[2]);
    assert_eq!(
        summary["balance"]["claims"].as_object().unwrap().len(),
        3,
        "{summary}"
    );
    // A static run of the grown study is refused beside its stealing epochs, writing nothing.
    append(&s, "jobs.txt", 42..44);
    let before = s.files();
    let o = Out::of(s.run("a").env("SLEEP", "0").output().unwrap());
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("balanced by stealing"), "{}", o.stderr);
    assert_eq!(s.files(), before);
    // The machines' manifests name the latest epoch's layout.
    let manifest = s.manifest("c");
    assert_eq!(
        manifest["balance"]["layout"],
        format!(".jobsplit/steal-{}", &d[2][..16])
    );
}

/// Appends race three following stealing hosts (two close together, while they run), and one
/// host never sees the later epochs (its copy of the list stays as it was): every job runs
/// once, the host behind is only behind.
#[test]
fn appends_racing_following_thieves_and_a_host_behind_run_every_job_once() {
    let s = study(18);
    std::fs::copy(s.join("jobs.txt"), s.join("old.txt")).unwrap();
    let follow = ["--follow"];
    let a = spawn(&s, "a", "0.1", &follow);
    let b = spawn(&s, "b", "0.05", &["--follow", "--jobs", "old.txt"]);
    let c = spawn(&s, "c", "0.05", &follow);
    std::thread::sleep(Duration::from_millis(300));
    append(&s, "jobs.txt", 18..27);
    std::thread::sleep(Duration::from_millis(60));
    append(&s, "jobs.txt", 27..33);
    let all = harness::wait_until(Duration::from_secs(60), || markers(&s).len() == 33);
    assert!(all, "not every job ran: {:?}", markers(&s));
    let idle = harness::wait_until(Duration::from_secs(30), || {
        let latest = s.plan_json(&[])["plan_digest"].clone();
        ["a", "c"].iter().all(|m| {
            let manifest = s.manifest(m);
            manifest["plan_digest"] == latest && manifest["state"] == "finished"
        }) && s.manifest("b")["state"] == "finished"
    });
    assert!(idle, "the followers did not end their rounds");
    for host in [&a, &b, &c] {
        harness::signal(host.id(), libc::SIGTERM);
    }
    for host in [a, b, c] {
        finish(host);
    }
    each_once(&s, 33);
    assert!(s.manifest("b")["epochs"].is_null(), "b saw one epoch");
    let o = s.output(&["merge", "out", "-o", "merged", "--no-files"]);
    assert!(o.stderr.contains("machine `b` is behind"), "{}", o.stderr);
    merged_ok(&s, 33);
}

/// kill -9 of a stealing host in the middle of an epoch: its restart finishes the blocks it
/// held (of any epoch) first; nothing runs twice, nothing is lost.
#[test]
fn kill_9_in_the_middle_of_an_epoch_loses_nothing_and_runs_nothing_twice() {
    let s = study(6);
    for m in MACHINES {
        finish(spawn(&s, m, "0", &[]));
    }
    append(&s, "jobs.txt", 6..30);
    let mut a = spawn(&s, "a", "0.3", &["--threads", "2"]);
    let started = harness::wait_until(Duration::from_secs(20), || markers(&s).len() >= 8);
    assert!(started, "a ran no job of epoch 1");
    harness::signal(a.id(), libc::SIGKILL);
    a.wait().unwrap();
    // The restart resumes what it held; then the others take the rest.
    finish(spawn(&s, "a", "0", &[]));
    for m in ["b", "c"] {
        finish(spawn(&s, m, "0", &[]));
    }
    each_once(&s, 30);
    merged_ok(&s, 30);
}

/// A helper (a pure thief, not in the machines file) joins a study that grew: it steals the
/// new epoch's blocks, and its manifest gives it no share of any epoch.
#[test]
fn a_helper_steals_a_new_epoch_and_has_no_share_of_it() {
    let s = study(6);
    for m in MACHINES {
        finish(spawn(&s, m, "0", &[]));
    }
    append(&s, "jobs.txt", 6..12);
    // The first run to see the append records it (a machine with earlier output), then the
    // helper takes what the owners, not running, leave.
    finish(spawn(&s, "a", "0", &["--threads", "1"]));
    append(&s, "jobs.txt", 12..15);
    // The helper's own run records the second append (the epochs file exists) and, the
    // owners not running, steals every block of it.
    let helper = s
        .std_cmd()
        .args(["run", "--yes", "--quiet", "--steal", "--helper", "h1"])
        .env("SLEEP", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    finish(helper);
    let h1 = harness::read_json(&s.out().join("h1/manifest.json"));
    let epochs = h1["epochs"].as_array().unwrap();
    assert!(!epochs.is_empty(), "{h1}");
    assert!(epochs.iter().all(|e| e["share"] == 0), "{h1}");
    for m in ["b", "c"] {
        finish(spawn(&s, m, "0", &[]));
    }
    each_once(&s, 15);
    merged_ok(&s, 15);
}
