//! `run` on a job list that grows (docs/split-v1.md section 7): every machine runs only its
//! shares of the new epochs, a host on the shorter list is only behind, an edited or
//! shortened list is refused in one line with nothing written, and a kill -9 at the switch to a
//! new epoch loses nothing and runs nothing twice.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{self, Study, THREE_MACHINES};

pub(super) const MACHINES: [&str; 3] = ["ws1", "ws2", "server"];

/// Job `i` appends `i` to `marker` in the study (after sleeping `sleep` seconds).
fn job(i: u64, sleep: &str) -> String {
    format!("sleep {sleep}; echo {i} >> marker")
}

pub(super) fn append(s: &Study, range: std::ops::Range<u64>, sleep: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.join("jobs.txt"))
        .unwrap();
    for i in range {
        writeln!(f, "{}", job(i, sleep)).unwrap();
    }
}

/// How many times each job appended its marker.
fn markers(s: &Study) -> BTreeMap<u64, usize> {
    let text = std::fs::read_to_string(s.join("marker")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        *out.entry(line.trim().parse().unwrap()).or_default() += 1;
    }
    out
}

pub(super) fn run_ok(s: &Study, machine: &str) -> harness::Out {
    let out = harness::Out::of(s.run(machine).arg("-q").output().unwrap());
    assert_eq!(out.code, 0, "{machine}: {}", out.stderr);
    out
}

pub(super) fn each_once(s: &Study, n: u64) {
    let m = markers(s);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        (0..n).collect::<Vec<_>>()
    );
    assert!(m.values().all(|&c| c == 1), "a job ran twice: {m:?}");
}

pub(super) fn merged_ok(s: &Study, n: u64) {
    let out = harness::Out::of(
        s.cmd()
            .args(["merge", "out", "--out", "merged", "--no-files"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (_, rows) = harness::read_csv(&s.join("merged/results.csv"));
    assert_eq!(rows.len() as u64, n);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
}

pub(super) fn study(n: u64) -> Study {
    let jobs: Vec<String> = (0..n).map(|i| job(i, "0")).collect();
    Study::with(&jobs, THREE_MACHINES, "")
}

#[test]
fn a_list_grown_twice_runs_every_job_once_and_earlier_jobs_stay_where_they_ran() {
    let s = study(12);
    for m in MACHINES {
        run_ok(&s, m);
    }
    let before = s.plan_json(&[]);
    append(&s, 12..20, "0");
    for m in MACHINES {
        run_ok(&s, m);
    }
    append(&s, 20..23, "0");
    for m in MACHINES {
        run_ok(&s, m);
    }
    each_once(&s, 23);
    merged_ok(&s, 23);
    let after = s.plan_json(&[]);
    assert_eq!(after["epochs"].as_array().unwrap().len(), 3);
    assert_eq!(after["epochs"][0]["plan_digest"], before["plan_digest"]);
    // Every earlier job is still on the machine that ran it, and ran there.
    let (old, new) = (harness::assignment(&before), harness::assignment(&after));
    for (i, m) in &old {
        assert_eq!(&new[i], m, "job {i} moved");
        assert!(s.results(m).of(*i).iter().any(|r| r.status() == "ok"));
    }
    let manifest = s.manifest("ws1");
    assert_eq!(manifest["plan_digest"], after["plan_digest"]);
    assert_eq!(manifest["epochs"].as_array().unwrap().len(), 3);
}

#[test]
fn an_edited_or_shortened_list_or_a_bad_epochs_file_is_refused_with_nothing_written() {
    let s = study(6);
    run_ok(&s, "ws1");
    append(&s, 6..9, "0");
    run_ok(&s, "ws1");
    let grown = std::fs::read_to_string(s.join("jobs.txt")).unwrap();
    let cases = [
        ("edited", grown.replacen("echo 1 ", "echo 100 ", 1)),
        (
            "shortened",
            grown.lines().take(7).map(|l| format!("{l}\n")).collect(),
        ),
        ("reordered", {
            let mut l: Vec<&str> = grown.lines().collect();
            l.swap(6, 7);
            l.join("\n") + "\n"
        }),
    ];
    for (what, text) in cases {
        s.write("jobs.txt", &text);
        let before = s.files();
        let out = harness::Out::of(s.run("ws1").output().unwrap());
        assert_eq!(out.code, 2, "{what}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.stderr);
        assert!(out.stderr.contains("jobs.txt"), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains("grows only by appending"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(s.files(), before, "{what}: something was written");
        // plan refuses it too
        let plan = harness::Out::of(s.cmd().args(["plan"]).output().unwrap());
        assert_eq!(plan.code, 2, "{what}");
    }
    s.write("jobs.txt", &grown);
    let epochs = std::fs::read_to_string(s.join("jobs.txt.epochs")).unwrap();
    s.write("jobs.txt.epochs", epochs.replacen(" 0 6 ", " 0 5 ", 1));
    let before = s.files();
    let out = harness::Out::of(s.run("ws1").output().unwrap());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("jobs.txt.epochs:3: expected epoch 1"),
        "{}",
        out.stderr
    );
    assert_eq!(s.files(), before);
}

/// Without an epochs file, an edited list that also grew is another plan, refused as always,
/// and no epochs file is made.
#[test]
fn an_edited_list_without_epochs_is_another_plan_and_no_epochs_file_is_written() {
    let s = study(6);
    run_ok(&s, "ws1");
    let text = std::fs::read_to_string(s.join("jobs.txt")).unwrap();
    s.write(
        "jobs.txt",
        text.replacen("echo 2 ", "echo 200 ", 1) + &job(6, "0") + "\n",
    );
    let before = s.files();
    let out = harness::Out::of(s.run("ws1").output().unwrap());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("holds the output of plan"),
        "{}",
        out.stderr
    );
    assert_eq!(s.files(), before);
}

/// A job appended without its newline yet (an append under way) waits for the next run.
#[test]
fn a_line_still_being_appended_waits() {
    let s = study(4);
    run_ok(&s, "ws1");
    append(&s, 4..6, "0");
    let mut text = std::fs::read_to_string(s.join("jobs.txt")).unwrap();
    text += "sleep 0; echo 6 >> mar";
    s.write("jobs.txt", &text);
    run_ok(&s, "ws1");
    let plan = s.plan_json(&[]);
    assert_eq!(plan["jobs"], 6);
    s.write("jobs.txt", text + "ker\n");
    for m in MACHINES {
        run_ok(&s, m);
    }
    each_once(&s, 7);
}

/// A host whose copy of the list (and epochs file) is older runs its part of the epochs it
/// has and is behind, not wrong; given the newer copy it catches up.
#[test]
fn a_host_on_the_shorter_list_finishes_its_part_and_catches_up_later() {
    let s = study(9);
    for m in MACHINES {
        run_ok(&s, m);
    }
    append(&s, 9..14, "0");
    run_ok(&s, "ws1");
    // server's copy: the list and epochs file as they are now (two epochs).
    let old_list = std::fs::read(s.join("jobs.txt")).unwrap();
    let old_epochs = std::fs::read(s.join("jobs.txt.epochs")).unwrap();
    append(&s, 14..18, "0");
    run_ok(&s, "ws1");
    run_ok(&s, "ws2");
    let new_list = std::fs::read(s.join("jobs.txt")).unwrap();
    let new_epochs = std::fs::read(s.join("jobs.txt.epochs")).unwrap();
    s.write("jobs.txt", &old_list);
    s.write("jobs.txt.epochs", &old_epochs);
    run_ok(&s, "server");
    let behind = s.manifest("server");
    assert_eq!(behind["epochs"].as_array().unwrap().len(), 2);
    // Its shares of epochs 0 and 1 are done; epoch 2's are not run yet.
    let plan = {
        s.write("jobs.txt", &new_list);
        s.write("jobs.txt.epochs", &new_epochs);
        s.plan_json(&[])
    };
    let server_new: Vec<u64> = harness::assignment(&plan)
        .into_iter()
        .filter(|(i, m)| m == "server" && *i >= 14)
        .map(|(i, _)| i)
        .collect();
    assert!(!server_new.is_empty());
    for i in &server_new {
        assert!(s.results("server").of(*i).is_empty());
    }
    // merge, status and report say it is behind, and list those jobs as not run.
    let merge = harness::Out::of(
        s.cmd()
            .args(["merge", "out", "--out", "merged", "--no-files"])
            .output()
            .unwrap(),
    );
    assert_eq!(merge.code, 1, "{}", merge.stderr);
    let behind =
        "machine `server` is behind: it has not seen epoch 2 of the job list (jobs 14 to 17)";
    assert!(merge.stderr.contains(behind), "{}", merge.stderr);
    let missing = std::fs::read_to_string(s.join("merged/missing.txt")).unwrap();
    let missing: Vec<u64> = missing.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(missing, server_new);
    let status = harness::Out::of(s.cmd().args(["status", "out"]).output().unwrap());
    assert!(status.stdout.contains(behind), "{}", status.stdout);
    assert!(
        status.stdout.contains("of 18 jobs in the work"),
        "{}",
        status.stdout
    );
    let json = harness::Out::of(s.cmd().args(["status", "out", "--json"]).output().unwrap());
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["behind"].as_array().unwrap().len(), 1);
    let report = harness::Out::of(
        s.cmd()
            .args(["report", "out", "--markdown"])
            .output()
            .unwrap(),
    );
    assert!(report.stdout.contains("is behind"), "{}", report.stdout);
    run_ok(&s, "server");
    let status = harness::Out::of(s.cmd().args(["status", "out"]).output().unwrap());
    assert!(!status.stdout.contains("behind"), "{}", status.stdout);
    each_once(&s, 18);
    merged_ok(&s, 18);
}

/// kill -9 of a run right as it switches to a new epoch (just after it recorded it, while its
/// first jobs of the epoch start): the rerun loses nothing and runs nothing twice.
#[test]
fn kill_9_at_an_epoch_switch_loses_nothing_and_runs_nothing_twice() {
    for delay_ms in [0u64, 40, 300] {
        let s = study(4);
        run_ok(&s, "ws1");
        append(&s, 4..12, "1");
        let mut child = s
            .std_cmd()
            .args(["run", "--machine", "ws1", "--yes", "-q"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let recorded = harness::wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(s.join("jobs.txt.epochs")).is_ok_and(|t| t.lines().count() == 3)
        });
        assert!(recorded, "the run recorded no epoch");
        std::thread::sleep(Duration::from_millis(delay_ms));
        harness::signal(child.id(), libc::SIGKILL);
        child.wait().unwrap();
        run_ok(&s, "ws1");
        for m in ["ws2", "server"] {
            run_ok(&s, m);
        }
        each_once(&s, 12);
        merged_ok(&s, 12);
    }
}

/// `plan` shows the epoch the next run would record for jobs appended since the last one, as
/// `run` then records it, marked as not yet recorded, and writes nothing.
#[test]
fn plan_shows_the_epoch_the_next_run_would_record_and_writes_nothing() {
    let s = study(6);
    run_ok(&s, "ws1");
    append(&s, 6..9, "0");
    let recorded_before = s.plan_json(&[]);
    let files = s.files();
    let shown = harness::Out::of(s.cmd().args(["plan"]).output().unwrap());
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(s.files(), files, "plan wrote something");
    assert!(
        shown
            .stdout
            .contains("not yet recorded (the next run records it"),
        "{}",
        shown.stdout
    );
    assert!(
        shown
            .stderr
            .contains("not yet recorded: the next run records epoch 0 (jobs 0 to 5) and epoch 1 (jobs 6 to 8)"),
        "{}",
        shown.stderr
    );
    // The JSON is the recorded plan's, as section 7.3 specifies (nothing recorded yet).
    assert_eq!(s.plan_json(&[]), recorded_before);
    run_ok(&s, "ws1");
    let after = s.plan_json(&[]);
    let epochs = after["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    let d1 = epochs[1]["plan_digest"].as_str().unwrap();
    let row = format!("1              6          3  {}", &d1[..8]);
    assert!(shown.stdout.contains(&row), "{row} in {}", shown.stdout);
    // Appended again: the next epoch is shown below the recorded ones.
    append(&s, 9..10, "0");
    let files = s.files();
    let shown = harness::Out::of(s.cmd().args(["plan"]).output().unwrap());
    assert_eq!(s.files(), files, "plan wrote something");
    assert!(
        shown
            .stderr
            .contains("not yet recorded: the next run records epoch 2 (job 9)"),
        "{}",
        shown.stderr
    );
    run_ok(&s, "ws1");
    let d2 = s.plan_json(&[])["epochs"][2]["plan_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        shown
            .stdout
            .contains(&format!("2              9          1  {}", &d2[..8])),
        "{}",
        shown.stdout
    );
}
