//! A rescue of a study that grew (docs/split-v1.md section 7): a machine dead through several
//! epochs; rescues of the merged study run its jobs of every epoch once, and after the last
//! merge every job of every epoch is ok exactly once.

use std::collections::BTreeMap;
use std::io::Write as _;

use crate::harness::{self, Out, Study, THREE_MACHINES};

const LIVE: &str = r#"{"ws1": {"weight": 1, "cores": 2}, "ws2": [2, 1]}"#;

fn job(i: u64) -> String {
    format!("echo {i} >> marker")
}

fn append(s: &Study, range: std::ops::Range<u64>) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.join("jobs.txt"))
        .unwrap();
    let text: String = range.map(|i| job(i) + "\n").collect();
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

fn run(s: &Study, args: &[&str]) {
    let o = Out::of(s.run(args[0]).args(&args[1..]).arg("-q").output().unwrap());
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
}

fn merge(s: &Study, inputs: &[&str], out: &str) -> (Out, Vec<u64>) {
    let mut args = vec!["merge"];
    args.extend_from_slice(inputs);
    args.extend_from_slice(&["--out", out, "--no-files"]);
    let o = s.output(&args);
    let missing = std::fs::read_to_string(s.join(out).join("missing.txt")).unwrap_or_default();
    (o, missing.lines().map(|l| l.parse().unwrap()).collect())
}

/// The jobs of `machine` in the plan as it stands, from `first` on.
fn share_of(s: &Study, machine: &str, first: u64) -> Vec<u64> {
    let mut jobs: Vec<u64> = harness::assignment(&s.plan_json(&[]))
        .into_iter()
        .filter(|(i, m)| m == machine && *i >= first)
        .map(|(i, _)| i)
        .collect();
    jobs.sort_unstable();
    jobs
}

#[test]
fn a_grown_study_with_a_dead_machine_is_rescued_and_every_job_of_every_epoch_runs_once() {
    let jobs: Vec<String> = (0..12).map(job).collect();
    let s = Study::with(&jobs, THREE_MACHINES, "");
    s.write("live.json", LIVE);
    // `server` is dead from the start: it runs nothing of any epoch.
    for m in ["ws1", "ws2"] {
        run(&s, &[m]);
    }
    append(&s, 12..20);
    for m in ["ws1", "ws2"] {
        run(&s, &[m]);
    }
    let dead = share_of(&s, "server", 0);
    assert!(dead.iter().any(|&i| i < 12) && dead.iter().any(|&i| i >= 12));
    let (o, missing) = merge(&s, &["out"], "m1");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(missing, dead, "the dead machine's jobs of both epochs");
    // The rescue on the live machines runs exactly those.
    for m in ["ws1", "ws2"] {
        run(
            &s,
            &[
                m,
                "--rescue",
                "m1",
                "--machines",
                "live.json",
                "--out",
                "r1",
            ],
        );
    }
    let (o, missing) = merge(&s, &["out", "r1"], "m2");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(missing.is_empty(), "{missing:?}");
    // The study grows again; the dead machine's share of the new epoch is rescued in turn,
    // by a rescue plan that leaves out the ok jobs of all three epochs.
    append(&s, 20..26);
    for m in ["ws1", "ws2"] {
        run(&s, &[m]);
    }
    let (o, missing) = merge(&s, &["out", "r1"], "m3");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(missing, share_of(&s, "server", 20));
    let rescue = s.plan_json(&["--rescue", "m3", "--machines", "live.json"]);
    assert_eq!(rescue["epochs"].as_array().unwrap().len(), 3);
    assert_eq!(rescue["excluded"], 26 - missing.len() as u64);
    for m in ["ws1", "ws2"] {
        run(
            &s,
            &[
                m,
                "--rescue",
                "m3",
                "--machines",
                "live.json",
                "--out",
                "r2",
            ],
        );
    }
    let (o, missing) = merge(&s, &["out", "r1", "r2"], "m4");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(missing.is_empty(), "{missing:?}");
    let (_, rows) = harness::read_csv(&s.join("m4/results.csv"));
    assert_eq!(rows.len(), 26);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
    let m = markers(&s);
    assert_eq!(
        m.keys().copied().collect::<Vec<_>>(),
        (0..26).collect::<Vec<_>>()
    );
    assert!(m.values().all(|&c| c == 1), "a job ran twice: {m:?}");
}
