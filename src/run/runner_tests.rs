//! The scheduler with a fake executor: resume, retries, cancellation and plan checks, with no
//! processes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::*;
use crate::input::{Format, JobList, Machine};
use crate::model::{RunState, Status, Stream};
use crate::output::manifest::Manifest;
use crate::run::{Attempt, Control, Executor, JobSpec};

/// Runs nothing: answers with `outcome(spec)` and remembers every call.
struct Fake<F> {
    outcome: F,
    calls: Mutex<Vec<(u64, u32)>>,
}

impl<F: Fn(&JobSpec) -> Status + Sync> Fake<F> {
    fn new(outcome: F) -> Self {
        Fake {
            outcome,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<(u64, u32)> {
        let mut c = self.calls.lock().unwrap().clone();
        c.sort_unstable();
        c
    }
}

impl<F: Fn(&JobSpec) -> Status + Sync> Executor for Fake<F> {
    fn execute(
        &self,
        job: &JobSpec,
        _: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt {
        self.calls.lock().unwrap().push((job.index, job.attempt));
        log(Stream::Out, &format!("hello from {}", job.index));
        let outcome = (self.outcome)(job);
        Attempt {
            outcome,
            exit: Some(crate::run::Exit::Code(i32::from(outcome != Status::Ok))),
            reason: (outcome != Status::Ok).then(|| crate::run::Reason::Message("nope".to_owned())),
            fields: vec![("value".to_owned(), (job.index * 10).to_string())],
            command: None,
            started_at: SystemTime::now(),
            duration: Duration::from_millis(1),
        }
    }
}

fn study(jobs: usize, seed: &str) -> (Work, Plan) {
    let text: String = (0..jobs).map(|i| format!("job {i}\n")).collect();
    let list =
        JobList::from_bytes(Path::new("jobs.txt"), Format::Lines, text.into_bytes()).unwrap();
    let work = Work::new(list, None, Default::default(), Some(seed.to_owned())).unwrap();
    let machines = vec![
        Machine::new("a", 1.0, 2).unwrap(),
        Machine::new("b", 2.0, 1).unwrap(),
    ];
    let plan = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines, &[]).unwrap();
    (work, plan)
}

fn opts(dir: &Path) -> RunOptions {
    RunOptions {
        dir: dir.to_path_buf(),
        threads: 2,
        timeout: None,
        grace: Duration::from_millis(10),
        retries: 0,
        job_logs: false,
        fsync: false,
        resume: Resume::Same,
        status_interval: Duration::from_millis(20),
        shard: None,
        rerun: Default::default(),
    }
}

fn run(
    work: &Work,
    plan: &Plan,
    exec: &dyn Executor,
    opts: &RunOptions,
    cancel: &Cancel,
) -> Result<RunSummary> {
    Runner::new(work, plan, 0, opts).cancel(cancel).run(exec)
}

fn rows(dir: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    r.deserialize().map(|x| x.unwrap()).collect()
}

#[test]
fn runs_the_share_once_in_order_and_resumes_to_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, plan) = study(30, "s");
    let o = opts(&tmp.path().join("a"));
    let fake = Fake::new(|_| Status::Ok);
    let s = run(&work, &plan, &fake, &o, &Cancel::new()).unwrap();
    let share = plan.share(0);
    assert!(s.all_ok());
    assert_eq!(s.counts.ok, share.len() as u64);
    let mut expected: Vec<(u64, u32)> = share.iter().map(|&i| (i, 1)).collect();
    expected.sort_unstable();
    assert_eq!(fake.calls(), expected);
    let r = rows(&o.dir);
    assert_eq!(r.len(), share.len());
    for row in &r {
        let i: u64 = row["index"].parse().unwrap();
        assert_eq!(row["key"], work.key(i).id());
        assert_eq!(row["value"], (i * 10).to_string());
    }
    let manifest = Manifest::read(&o.dir).unwrap();
    assert_eq!(manifest.state, RunState::Finished);
    assert_eq!(manifest.plan_digest, plan.plan_digest().hex());

    let again = Fake::new(|_| Status::Ok);
    let s = run(&work, &plan, &again, &o, &Cancel::new()).unwrap();
    assert!(again.calls().is_empty());
    assert_eq!(s.counts.skipped, share.len() as u64);
    assert!(s.all_ok());
    assert_eq!(rows(&o.dir).len(), share.len());
}

#[test]
fn retries_record_every_attempt_and_a_rerun_counts_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, plan) = study(20, "r");
    let bad = plan.share(0)[0];
    let mut o = opts(&tmp.path().join("a"));
    o.retries = 2;
    let fake = Fake::new(move |j: &JobSpec| {
        if j.index == bad {
            Status::Failed
        } else {
            Status::Ok
        }
    });
    let s = run(&work, &plan, &fake, &o, &Cancel::new()).unwrap();
    assert!(!s.all_ok());
    assert_eq!(s.counts.failed, 1);
    assert_eq!(fake.calls().iter().filter(|c| c.0 == bad).count(), 3);
    o.retries = 0;
    let fixed = Fake::new(|_| Status::Ok);
    let s = run(&work, &plan, &fixed, &o, &Cancel::new()).unwrap();
    assert_eq!(fixed.calls(), vec![(bad, 4)]);
    assert!(s.all_ok());
    let attempts: Vec<String> = rows(&o.dir)
        .into_iter()
        .filter(|r| r["index"] == bad.to_string())
        .map(|r| format!("{}:{}", r["attempt"], r["status"]))
        .collect();
    assert_eq!(attempts, ["1:failed", "2:failed", "3:failed", "4:ok"]);
}

#[test]
fn cancellation_stops_starting_jobs_and_a_rerun_finishes_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, plan) = study(40, "c");
    let mut o = opts(&tmp.path().join("a"));
    o.threads = 1;
    let cancel = Cancel::new();
    let fake = Fake::new(|j: &JobSpec| {
        let _ = j;
        cancel.stop();
        Status::Ok
    });
    let s = run(&work, &plan, &fake, &o, &cancel).unwrap();
    assert!(s.interrupted);
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(s.counts.not_run, plan.share(0).len() as u64 - 1);
    assert_eq!(Manifest::read(&o.dir).unwrap().state, RunState::Interrupted);
    let rest = Fake::new(|_| Status::Ok);
    let s = run(&work, &plan, &rest, &o, &Cancel::new()).unwrap();
    assert_eq!(rest.calls().len(), plan.share(0).len() - 1);
    assert!(s.all_ok());
}

#[test]
fn another_plan_is_refused_unless_fresh_or_keep_done() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, plan) = study(20, "one");
    let o = opts(&tmp.path().join("a"));
    run(&work, &plan, &Fake::new(|_| Status::Ok), &o, &Cancel::new()).unwrap();

    let (work2, plan2) = study(20, "two");
    let e = run(
        &work2,
        &plan2,
        &Fake::new(|_| Status::Ok),
        &o,
        &Cancel::new(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.kind(), crate::ErrorKind::PlanMismatch);
    assert!(
        msg.contains(&plan.plan_digest().short()) && msg.contains(&plan2.plan_digest().short()),
        "{msg}"
    );
    assert!(
        msg.contains("--fresh") && msg.contains("--keep-done"),
        "{msg}"
    );

    // Appending jobs keeps every earlier key: --keep-done skips what is done.
    let (work3, plan3) = study(25, "one");
    let mut keep = o.clone();
    keep.resume = Resume::KeepDone;
    let fake = Fake::new(|_| Status::Ok);
    let s = run(&work3, &plan3, &fake, &keep, &Cancel::new()).unwrap();
    let done: std::collections::HashSet<u64> = plan.share(0).iter().copied().collect();
    assert!(fake.calls().iter().all(|(i, _)| !done.contains(i)));
    assert!(s.all_ok());

    let mut fresh = o.clone();
    fresh.resume = Resume::Fresh;
    let s = run(
        &work2,
        &plan2,
        &Fake::new(|_| Status::Ok),
        &fresh,
        &Cancel::new(),
    )
    .unwrap();
    let old = s.moved_aside.expect("moved aside");
    assert!(old.join("results.csv").exists());
    assert_eq!(
        Manifest::read(&o.dir).unwrap().plan_digest,
        plan2.plan_digest().hex()
    );
}
