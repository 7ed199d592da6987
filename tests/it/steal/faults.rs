//! Stealing when a host dies, is restarted, freezes or shares a name, and rows no claim proves.

use super::*;

/// The jobs merge's summary lists as claimed but not finished, of every machine.
fn claimed_unfinished(summary: &serde_json::Value) -> BTreeSet<u64> {
    summary["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| u["jobs"].as_array().unwrap().iter())
        .map(|j| j.as_u64().unwrap())
        .collect()
}

#[test]
fn a_host_killed_mid_run_loses_only_its_claimed_blocks_and_a_rescue_finishes_them() {
    let s = Study::with(&sleepy(40), THREE, "");
    kill_a_after(&s, "0.4", 3);
    // b and c run their shares and steal what a had not claimed.
    let b = spawn(&s, &["-M", "b", "--steal-block", "2"], "0");
    let c = spawn(&s, &["-M", "c", "--steal-block", "2"], "0");
    assert_eq!(finish(b), 0);
    assert_eq!(finish(c), 0);

    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 1, "jobs are missing: {}", o.stderr);
    let missing: BTreeSet<u64> = std::fs::read_to_string(s.join("merged/missing.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    for u in summary["balance"]["claimed_unfinished"].as_array().unwrap() {
        assert_eq!(u["machine"], "a", "{u}");
    }
    let held = claimed_unfinished(&summary);
    assert!(!missing.is_empty());
    assert_eq!(
        missing, held,
        "only a's claimed, unfinished jobs are missing"
    );
    assert!(
        held.len() <= 3 * 2,
        "at most (threads + 1) x B jobs: {held:?}"
    );
    assert!(
        o.stderr.contains("claimed but not finished"),
        "{}",
        o.stderr
    );

    // A rescue plan stealing in the study's own OUT would claim under claims of its own.
    let before = files_under(&s.out());
    let o = Out::of(
        s.std_cmd()
            .args([
                "run", "--yes", "--quiet", "--steal", "-M", "b", "--rescue", "merged",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("stealing study of plan"), "{}", o.stderr);
    assert_eq!(files_under(&s.out()), before, "nothing written");
    // A rescue of the missing jobs, stealing too, in its own output directory.
    let r = spawn(&s, &["-M", "b", "--rescue", "merged", "-o", "rescue"], "0");
    assert_eq!(finish(r), 0);
    let (o, summary) = merge(&s, &["out", "rescue"], "final");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    assert_eq!(summary["duplicates"], 0, "nothing ran twice");
}

#[test]
fn merge_refuses_a_row_no_claim_proves() {
    let s = Study::with(&sleepy(12), THREE, "");
    for m in ["a", "b", "c"] {
        assert_eq!(finish(spawn(&s, &["-M", m], "0")), 0);
    }
    // Copy a row of the machine that ran it into another's results.csv, as if that one had.
    let lines = |m: &str| {
        std::fs::read_to_string(s.machine_dir(m).join("results.csv"))
            .unwrap()
            .lines()
            .count()
    };
    let from = ["a", "b", "c"].into_iter().find(|m| lines(m) > 1).unwrap();
    let to = if from == "a" { "b" } else { "a" };
    let rows = std::fs::read_to_string(s.machine_dir(from).join("results.csv")).unwrap();
    let row = rows
        .lines()
        .nth(1)
        .unwrap()
        .replacen(&format!(",{from},"), &format!(",{to},"), 1);
    let csv = s.machine_dir(to).join("results.csv");
    let mut data = std::fs::read_to_string(&csv).unwrap();
    if lines(to) == 1 {
        // It ran nothing: its header lacks the input columns the row brings.
        data = format!("{}\n", rows.lines().next().unwrap());
    }
    data.push_str(&row);
    data.push('\n');
    std::fs::write(&csv, data).unwrap();
    let o = s.output(&["merge", "out", "-o", "merged"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("a row the claims do not prove"),
        "{}",
        o.stderr
    );
    assert!(!s.join("merged").exists(), "nothing written");
}

#[test]
fn a_host_restarted_after_kill_9_finishes_its_claimed_blocks_first() {
    let s = Study::with(&sleepy(24), THREE, "");
    kill_a_after(&s, "0.3", 2);
    let (o, before) = merge(&s, &["out"], "before");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!before["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .is_empty());
    let held = claimed_unfinished(&before);
    let restarted = jobsplit::testing::rfc3339(std::time::SystemTime::now());
    // The same machine on the same host again: its name record is its own, it resumes.
    assert_eq!(
        finish(spawn(&s, &["-M", "a", "--steal-block", "2"], "0")),
        0
    );
    let mut second: Vec<(String, u64)> = s
        .results("a")
        .rows
        .iter()
        .filter(|r| r.get("started_at") >= restarted.as_str())
        .map(|r| (r.get("started_at").to_owned(), r.index()))
        .collect();
    second.sort();
    let first: BTreeSet<u64> = second[..held.len()].iter().map(|r| r.1).collect();
    assert_eq!(first, held, "the blocks it held ran first: {second:?}");
    let log = s.log("a");
    assert!(
        log.iter()
            .filter(|l| l.text.starts_with("run started"))
            .count()
            == 2,
        "{log:?}"
    );
    let (o, after) = merge(&s, &["out"], "after");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(after["missing"], 0);
    assert_eq!(after["duplicates"], 0);
    assert!(after["balance"]["claimed_unfinished"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn one_machine_name_runs_on_one_host_at_a_time_across_hosts() {
    let s = Study::with(&sleepy(6), THREE, "");
    assert_eq!(finish(spawn(&s, &["-M", "b"], "0")), 0);
    let layout = s
        .out()
        .join(s.manifest("b")["balance"]["layout"].as_str().unwrap());
    // Machine a, as recorded by a host that is not this one (its directory lock is its own).
    let record = serde_json::json!({
        "owner": "", "block": 0, "machine": "a", "host": "elsewhere", "pid": 42,
        "run": "0123456789abcdef0123456789abcdef", "at": "2026-01-01T00:00:00Z", "jobs": [],
        "slurm_job": "77", "slurm_restart": 0
    });
    s.write(
        layout.join("hosts/a.json"),
        serde_json::to_vec_pretty(&record).unwrap(),
    );
    let before = files_under(&s.out());
    let o = Out::of(
        s.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "a"])
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("running on host `elsewhere`"),
        "{}",
        o.stderr
    );
    assert_eq!(files_under(&s.out()), before, "nothing written");
    // A Slurm requeue of that job (on any node) takes the name over.
    let o = Out::of(
        s.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "a"])
            .env("SLURM_JOB_ID", "77")
            .env("SLURM_RESTART_COUNT", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !layout.join("hosts/a.json").exists(),
        "given back at the end"
    );
}

#[test]
fn a_frozen_host_is_never_taken_over_and_nothing_runs_twice() {
    let s = Study::with(&sleepy(30), THREE, "");
    let mut a = spawn(&s, &["-M", "a", "--steal-block", "2"], "0.3");
    let results = s.machine_dir("a").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    // Frozen holding a block: its status.json goes stale, its unclaimed blocks are stolen.
    signal(a.id(), libc::SIGSTOP);
    let b = spawn(&s, &["-M", "b", "--steal-block", "2"], "0");
    let c = spawn(&s, &["-M", "c", "--steal-block", "2"], "0");
    let (b, c) = (finish(b), finish(c));
    signal(a.id(), libc::SIGCONT);
    let a = wait_child(&mut a, Duration::from_secs(60)).code();
    assert_eq!((a, b, c), (Some(0), 0, 0));
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 30);
    for (i, by) in &rows {
        assert_eq!(by.len(), 1, "job {i} ran once, here by {by:?}");
    }
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["duplicates"], 0);
    let (own_a, _) = credit(&summary, "a");
    assert!(
        own_a >= 2,
        "a finished the block it held when frozen: {summary}"
    );
    let stolen: u64 = ["b", "c"].iter().map(|m| credit(&summary, m).1).sum();
    assert!(stolen > 0, "{summary}");
}
