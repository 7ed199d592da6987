//! The whole study as a property: for random job lists, machine sets and host failures,
//! plan -> run -> merge -> rescue -> merge gives every job ok exactly once, with its own value.
//! Once in process with a fake executor (many cases), once through the binary (`binary`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use serde_json::Map;

use jobsplit::testing::{load_rescue, merge, MergeOptions};
use jobsplit::testing::{Attempt, Cancel, Control, Executor, JobSpec, Resume, RunOptions, Runner};
use jobsplit::testing::{Status, Stream};
use jobsplit::Plan;
use jobsplit::Work;
use jobsplit::{Format, JobList, Machine};

/// Runs jobs in-process; stops the "host" (sets cancel) after `budget` jobs.
struct Host<'a> {
    budget: usize,
    done: AtomicUsize,
    cancel: &'a Cancel,
}

impl Executor for Host<'_> {
    fn execute(
        &self,
        job: &JobSpec,
        _: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt {
        log(Stream::Out, "working");
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 >= self.budget {
            self.cancel.stop();
        }
        Attempt {
            outcome: Status::Ok,
            exit: Some(jobsplit::testing::Exit::Code(0)),
            reason: None,
            fields: vec![("square".into(), (job.index * job.index).to_string())],
            command: None,
            started_at: SystemTime::now(),
            duration: Duration::from_micros(50),
        }
    }
}

fn machines(spec: &[(u8, u8)], prefix: &str) -> Vec<Machine> {
    spec.iter()
        .enumerate()
        .map(|(i, &(w, c))| {
            Machine::new(&format!("{prefix}{i}"), f64::from(w) / 2.0, u64::from(c)).unwrap()
        })
        .collect()
}

fn run_hosts(work: &Work, plan: &Plan, out: &Path, budgets: &[usize]) {
    for (j, m) in plan.machines().iter().enumerate() {
        let cancel = Cancel::new();
        let host = Host {
            budget: budgets[j],
            done: AtomicUsize::new(0),
            cancel: &cancel,
        };
        let opts = RunOptions {
            dir: out.join(&m.name),
            threads: 1,
            timeout: None,
            grace: Duration::from_millis(10),
            retries: 0,
            job_logs: false,
            fsync: false,
            resume: Resume::Same,
            status_interval: Duration::from_secs(60),
            shard: None,
            rerun: Default::default(),
        };
        Runner::new(work, plan, j, &opts)
            .cancel(&cancel)
            .run(&host)
            .unwrap();
    }
}

fn read_rows(path: &Path) -> Vec<(u64, String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (i, st, sq) = (col("index"), col("status"), col("square"));
    r.records()
        .map(|x| x.unwrap())
        .map(|x| (x[i].parse().unwrap(), x[st].to_owned(), x[sq].to_owned()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_job_ends_ok_exactly_once(
        n in 1usize..120,
        first in prop::collection::vec((1u8..8, 1u8..4), 1..5),
        second in prop::collection::vec((1u8..8, 1u8..4), 1..4),
        budgets in prop::collection::vec(0usize..60, 5),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let text: String = (0..n).map(|i| format!("job {i}\n")).collect();
        let list = JobList::from_bytes(Path::new("jobs.txt"), Format::Lines, text.into_bytes()).unwrap();
        let work = Work::new(list, None, Map::new(), Some("prop".into())).unwrap();

        let plan = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines(&first, "m"), &[]).unwrap();
        // A budget of 0 means the host never failed.
        let budgets: Vec<usize> = budgets.iter().map(|&b| if b == 0 { usize::MAX } else { b }).collect();
        run_hosts(&work, &plan, &root.join("out"), &budgets);
        let m1 = root.join("m1");
        let report = merge(&[root.join("out")], &MergeOptions { out: m1.clone(), write_machines: None, collect_files: true }).unwrap();
        let lost: u64 = report.summary.missing;

        let rescue = load_rescue(&m1).unwrap();
        prop_assert_eq!(rescue.ok.len() as u64 + lost, n as u64);
        let plan2 = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines(&second, "r"), &rescue.ok).unwrap();
        if lost > 0 {
            prop_assert_ne!(plan2.plan_digest(), plan.plan_digest());
        }
        run_hosts(&work, &plan2, &root.join("rescue"), &[usize::MAX; 5]);
        let inputs: Vec<PathBuf> = vec![root.join("out"), root.join("rescue")];
        let m2 = root.join("m2");
        let report = merge(&inputs, &MergeOptions { out: m2.clone(), write_machines: None, collect_files: true }).unwrap();
        prop_assert!(report.all_ok());
        prop_assert_eq!(report.summary.duplicates, 0);
        let rows = read_rows(&m2.join("results.csv"));
        prop_assert_eq!(rows.len(), n);
        for (k, (i, status, square)) in rows.iter().enumerate() {
            prop_assert_eq!(*i, k as u64);
            prop_assert_eq!(status.as_str(), "ok");
            prop_assert_eq!(square, &(i * i).to_string());
        }
    }
}

/// The same study through the real binary: shell jobs, hosts that die (their results.csv cut
/// after a few rows, maybe mid-row, and no status.json), a rescue on other machines.
mod binary {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use crate::harness::{assignment, read_csv, Study};

    const WEIGHTS: [&str; 5] = ["0.5", "1", "1.5", "2", "3"];

    fn machines_json(prefix: &str, spec: &[(usize, u64)]) -> String {
        let entries: Vec<String> = spec
            .iter()
            .enumerate()
            .map(|(i, &(w, c))| format!("\"{prefix}{i}\": [{}, {c}]", WEIGHTS[w]))
            .collect();
        format!("{{{}}}", entries.join(", "))
    }

    /// The value job `i` reports: not its index, so a job run under the wrong index shows.
    fn value(i: u64) -> u64 {
        3 * i + 1
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn plan_run_die_merge_rescue_merge(
            n in 1u64..=40,
            first in prop::collection::vec((0usize..5, 1u64..=3), 1..=4),
            deaths in prop::collection::vec(prop::option::of((0usize..30, any::<bool>())), 4),
            second in prop::collection::vec((0usize..5, 1u64..=3), 1..=3),
        ) {
            let d = Study::new();
            let jobs: String = (0..n)
                .map(|i| format!("echo '{{\"v\": {}}}' > \"$JOBSPLIT_RESULT\"\n", value(i)))
                .collect();
            d.write("jobs.txt", jobs);
            d.write("machines.json", machines_json("m", &first));
            d.write("rescue.json", machines_json("r", &second));
            d.write("jobsplit.toml", "seed = \"prop\"\n");

            let (_, plan) = d.plan_json_text(&[]);
            let planned = assignment(&plan);
            prop_assert_eq!(planned.len() as u64, n);

            // Run every host, then let some of them "die": keep the first k rows (the last one
            // maybe torn in half) and drop status.json.
            let mut keys: BTreeMap<u64, String> = BTreeMap::new();
            let mut lost: BTreeSet<u64> = BTreeSet::new();
            for (j, _) in first.iter().enumerate() {
                let m = format!("m{j}");
                let out = d.output(&["run", "--machine", &m, "--yes", "--quiet"]);
                prop_assert_eq!(out.code, 0, "{}", out.stderr);
                let dir = d.join("out").join(&m);
                let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
                let (_, rows) = read_csv(&dir.join("results.csv"));
                for r in &rows {
                    keys.insert(r["index"].parse().unwrap(), r["key"].clone());
                }
                let Some((k, tear)) = deaths[j] else { continue };
                let lines: Vec<&str> = text.lines().collect();
                let k = k.min(rows.len());
                let mut kept = lines[..=k].join("\n");
                kept.push('\n');
                for r in &rows[k..] {
                    lost.insert(r["index"].parse().unwrap());
                }
                if tear && k > 0 {
                    let last = lines[k];
                    kept.truncate(kept.len() - 1 - last.len() / 2);
                    lost.insert(rows[k - 1]["index"].parse().unwrap());
                }
                std::fs::write(dir.join("results.csv"), kept).unwrap();
                let _ = std::fs::remove_file(dir.join("status.json"));
            }
            prop_assert_eq!(keys.len() as u64, n, "every job ran once before the failures");

            let out = d.output(&["merge", "out", "--out", "m1"]);
            prop_assert_eq!(out.code, if lost.is_empty() { 0 } else { 1 }, "{}", out.stderr);
            let missing: BTreeSet<u64> = std::fs::read_to_string(d.join("m1/missing.txt"))
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            prop_assert_eq!(&missing, &lost);

            for (j, _) in second.iter().enumerate() {
                let m = format!("r{j}");
                let out = d.output(&[
                    "run", "--machine", &m, "--yes", "--quiet", "--machines", "rescue.json",
                    "--rescue", "m1", "--out", "rescue",
                ]);
                prop_assert_eq!(out.code, 0, "{}", out.stderr);
            }
            let out = d.output(&["merge", "out", "rescue", "--out", "m2"]);
            prop_assert_eq!(out.code, 0, "{}", out.stderr);
            let (_, rows) = read_csv(&d.join("m2/results.csv"));
            prop_assert_eq!(rows.len() as u64, n);
            for (i, r) in rows.iter().enumerate() {
                let i = i as u64;
                prop_assert_eq!(&r["index"], &i.to_string());
                prop_assert_eq!(&r["status"], "ok");
                prop_assert_eq!(&r["v"], &value(i).to_string());
                prop_assert_eq!(&r["key"], &keys[&i], "a rescued job keeps its key");
                let by_rescue = r["machine"].starts_with('r');
                prop_assert_eq!(by_rescue, lost.contains(&i), "job {} run by {}", i, &r["machine"]);
            }
            let summary = crate::harness::read_json(&d.join("m2/summary.json"));
            prop_assert_eq!(summary["duplicates"].as_u64(), Some(0));
            prop_assert_eq!(summary["ok"].as_u64(), Some(n));
        }
    }
}
