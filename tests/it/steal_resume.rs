//! `run --steal` resumes as a static run does (one resume decision): `--rerun` runs ok jobs
//! again, a cancelled job is not run again, and `jobsplit cancel` against a stealing run
//! (running, or not running yet) is honoured for jobs not started.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{wait_child, wait_until, Study};
use crate::process_signals::KillOnPanic;

const ONE: &str = r#"{"a": {"weight": 1, "cores": 1}}"#;

/// `(index, attempt, status)` of every row of `out/a/results.csv`, sorted.
fn rows(s: &Study) -> Vec<(u64, u32, String)> {
    let mut r: Vec<_> = s
        .results("a")
        .rows
        .iter()
        .map(|r| (r.index(), r.attempt(), r.status().to_owned()))
        .collect();
    r.sort();
    r
}

fn steal(s: &Study, args: &[&str]) -> crate::harness::Out {
    s.output(&[&["run", "--yes", "--quiet", "--steal", "-M", "a"][..], args].concat())
}

fn spawn_steal(s: &Study) -> (std::process::Child, KillOnPanic) {
    let child = s
        .std_cmd()
        .args([
            "run",
            "--yes",
            "--quiet",
            "--steal",
            "-M",
            "a",
            "--threads",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    (child, guard)
}

/// The index of the job machine `a` starts last (its share in order, from `run --dry-run`).
fn last_job(s: &Study) -> u64 {
    let o = s.output(&["run", "--dry-run", "-M", "a"]);
    let last = o.stdout.lines().last().unwrap();
    last.rsplit(' ').next().unwrap().parse().unwrap()
}

fn jobs(n: usize, slow: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("sleep {slow}; echo job {i}"))
        .collect()
}

#[test]
fn steal_rerun_runs_an_ok_job_again() {
    let s = Study::with(&jobs(4, "0"), ONE, "");
    assert_eq!(steal(&s, &[]).code, 0);
    let o = steal(&s, &["--rerun", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = rows(&s);
    assert_eq!(
        r.iter().filter(|r| r.0 == 2).collect::<Vec<_>>(),
        [&(2, 1, "ok".to_owned()), &(2, 2, "ok".to_owned())],
        "job 2 ran again: {r:?}"
    );
    assert_eq!(r.len(), 5, "only job 2 ran again: {r:?}");
    let merged = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(merged.code, 0, "{}{}", merged.stdout, merged.stderr);
}

#[test]
fn a_stealing_run_honours_cancel_of_a_job_not_started_and_never_runs_it_again() {
    let s = Study::with(&jobs(6, "0.4"), ONE, "");
    let last = last_job(&s);
    let (mut child, _guard) = spawn_steal(&s);
    let results = s.machine_dir("a").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    let o = s.output(&["cancel", "out/a", &last.to_string()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        format!("job {last} on a: not started: it will not start; recorded cancelled\n")
    );
    assert_eq!(
        wait_child(&mut child, Duration::from_secs(60)).code(),
        Some(0)
    );
    let r = rows(&s);
    assert!(r.contains(&(last, 1, "cancelled".into())), "{r:?}");
    assert!(!r.iter().any(|x| x.0 == last && x.2 == "ok"), "{r:?}");
    // A second stealing run does not run the cancelled job again.
    assert_eq!(steal(&s, &[]).code, 0);
    assert_eq!(rows(&s), r, "nothing ran again");
    // Unless --rerun names it.
    assert_eq!(steal(&s, &["--rerun", &last.to_string()]).code, 0);
    assert!(rows(&s).contains(&(last, 2, "ok".into())));
}

#[test]
fn a_cancel_left_for_the_next_stealing_run_is_honoured() {
    let s = Study::with(&jobs(6, "0.3"), ONE, "");
    let last = last_job(&s);
    let (mut child, _guard) = spawn_steal(&s);
    let results = s.machine_dir("a").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    crate::harness::signal(child.id(), libc::SIGTERM);
    assert_eq!(
        wait_child(&mut child, Duration::from_secs(60)).code(),
        Some(130)
    );
    assert!(!rows(&s).iter().any(|x| x.0 == last), "{:?}", rows(&s));
    let o = s.output(&["cancel", "out/a", &last.to_string()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("the request"), "{}", o.stdout);
    let o = steal(&s, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = rows(&s);
    assert!(r.contains(&(last, 1, "cancelled".into())), "{r:?}");
    assert!(!r.iter().any(|x| x.0 == last && x.2 == "ok"), "{r:?}");
    assert!(
        !s.machine_dir("a").join("cancel").exists(),
        "honoured, then removed"
    );
}

#[test]
fn steal_rerun_reruns_the_jobs_a_machine_holds_and_refuses_those_another_holds() {
    let two = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}}"#;
    let s = Study::with(&jobs(8, "0"), two, "");
    // a alone: its share, then all of b's (b never started), stolen.
    assert_eq!(steal(&s, &[]).code, 0);
    let plan = s.plan_json(&[]);
    let of_b = plan["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "b")
        .unwrap()["jobs"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("{plan}"));
    let j = of_b.to_string();
    // a holds the block: a reruns it.
    let o = steal(&s, &["--rerun", &j]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(rows(&s).contains(&(of_b, 2, "ok".into())), "{:?}", rows(&s));
    // b does not: refused, naming the machine that holds it, nothing written.
    let before = s.files();
    let o = s.output(&[
        "run", "--yes", "--quiet", "--steal", "-M", "b", "--rerun", &j,
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!("jobsplit: error: --rerun {j}: job {j}: it is held by machine a (it claimed its block): rerun it there (run --steal --machine a --rerun {j})\n")
    );
    assert_eq!(s.files(), before, "nothing written");
}
