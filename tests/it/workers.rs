//! Persistent workers (docs/workers.md) end to end through the binary, with small Python
//! workers: answers, crashes, timeouts, recycling, Ctrl-C, resume, and NaN results (also from a
//! command job's `$JOBSPLIT_RESULT`).

use crate::harness::{text, Study};

const ONE_SLOT: &str = r#"{"solo": [1, 1]}"#;

/// A command job's result file holding Python's bare `NaN` and `Infinity` is read (it failed
/// the job before), and the cells read `NaN`, `Inf`, `-Inf`.
#[test]
fn a_result_file_may_hold_nan_and_infinities() {
    let job = r#"printf '{"a": NaN, "b": Infinity, "c": -Infinity, "d": [1, NaN], "e": 2.5}' > "$JOBSPLIT_RESULT""#;
    let s = Study::with(&[job.to_owned()], ONE_SLOT, "");
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    let row = &r.rows[0];
    assert_eq!(row.status(), "ok", "{row:?}");
    assert_eq!(
        [
            row.get("a"),
            row.get("b"),
            row.get("c"),
            row.get("d"),
            row.get("e")
        ],
        ["NaN", "Inf", "-Inf", "[1,NaN]", "2.5"]
    );
}

/// A raw protocol-v1 worker (no package), steered by each job's record: `x` to double,
/// `crash` (exits 3 on a first attempt), `sleep` (seconds; until the file `fast` exists when
/// negative), `fail` (an error answer), `stray` (a print that is not an answer).
const WORKER: &str = r#"
import json, os, sys, time
print(json.dumps({"hello": "jobsplit-worker", "version": int(os.environ.get("HELLO_VERSION", "1"))}), flush=True)
pid, n = os.getpid(), 0
for line in sys.stdin:
    job = json.loads(line)
    r, n = job["record"], n + 1
    sys.stderr.write("job %d on pid %d\n" % (job["index"], pid)); sys.stderr.flush()
    if r.get("crash") and job["attempt"] == 1:
        os._exit(3)
    s = r.get("sleep", 0)
    if s > 0:
        time.sleep(s)
    while s < 0 and not os.path.exists("fast"):
        time.sleep(0.05)
    if r.get("stray"):
        print("a stray print", flush=True)
    if r.get("fail"):
        print(json.dumps({"index": job["index"], "ok": False, "error": "bad x"}), flush=True)
        continue
    res = {"x2": r["x"] * 2, "pid": pid, "n": n, "seed": str(job["seed"]), "key": job["key"],
           "machine": job["machine"], "p": job["params"].get("p"), "nan": float("nan"), "inf": float("-inf")}
    print(json.dumps({"index": job["index"], "ok": True, "result": res}), flush=True)
"#;

/// A study of `records` (JSONL) on one machine of `slots` slots, with `w.py` as its worker.
fn worker_study(records: &[serde_json::Value], slots: u32, extra_toml: &str) -> Study {
    let s = Study::new();
    let lines: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    s.write("jobs.jsonl", lines.join("\n") + "\n");
    s.write("w.py", WORKER);
    s.write("machines.json", format!(r#"{{"solo": [1, {slots}]}}"#));
    s.write(
        "jobsplit.toml",
        format!("machines = \"machines.json\"\n{extra_toml}\n[params]\np = 7\n[jobs]\nfile = \"jobs.jsonl\"\nworker = \"python3 -u w.py\"\n"),
    );
    s
}

fn xs(n: u64) -> Vec<serde_json::Value> {
    (0..n).map(|x| serde_json::json!({ "x": x })).collect()
}

fn distinct_pids(r: &crate::harness::Results) -> std::collections::BTreeSet<String> {
    r.rows
        .iter()
        .filter(|row| row.status() == "ok")
        .map(|row| row.get("pid").to_owned())
        .collect()
}

#[test]
fn workers_answer_jobs_with_results_logs_and_the_jobs_seeds() {
    let mut records = xs(8);
    records[5] = serde_json::json!({"x": 5, "fail": true});
    records[6] = serde_json::json!({"x": 6, "stray": true});
    let s = worker_study(&records, 2, "");
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 8);
    let pids = distinct_pids(&r);
    assert!(
        pids.len() <= 2,
        "one worker per slot, not per job: {pids:?}"
    );
    for row in &r.rows {
        let i = row.index();
        if i == 5 {
            assert_eq!(
                (row.status(), row.get("error"), row.get("exit_code")),
                ("failed", "bad x", "")
            );
            continue;
        }
        assert_eq!(row.status(), "ok", "{row:?}");
        assert_eq!(row.get("x2"), (i * 2).to_string());
        assert_eq!(row.get("key"), row.get("result_key"));
        assert_eq!(row.get("exit_code"), "");
        assert_eq!(
            (row.get("machine"), row.get("result_machine"), row.get("p")),
            ("solo", "solo", "7")
        );
        assert_eq!((row.get("nan"), row.get("inf")), ("NaN", "-Inf"));
        assert!(row.get("seed").parse::<u64>().is_ok());
    }
    let log = s.log("solo");
    for i in 0..8u64 {
        assert!(
            log.iter().any(|l| l.job == Some(i)
                && l.stream == "err"
                && l.text.starts_with(&format!("job {i} on pid"))),
            "job {i}'s stderr is in log.gz tagged with it"
        );
    }
    assert!(log
        .iter()
        .any(|l| l.job == Some(6) && l.stream == "out" && l.text == "a stray print"));
}

/// The worker is not part of the work: the same job list with and without it has the same
/// work and plan digests (so the same keys and seeds).
#[test]
fn a_worker_study_has_the_plan_of_the_same_job_list_without_a_worker() {
    let s = worker_study(&xs(5), 1, "seed = \"s1\"");
    let with = s.plan_json(&[]);
    s.write(
        "plain.toml",
        "machines = \"machines.json\"\nseed = \"s1\"\n[params]\np = 7\n[jobs]\nfile = \"jobs.jsonl\"\n",
    );
    let without = s.plan_json(&["--config", "plain.toml"]);
    assert_eq!(with["plan_digest"], without["plan_digest"]);
    assert_eq!(with["work_digest"], without["work_digest"]);
}

#[test]
fn a_crashed_worker_fails_its_job_and_a_fresh_one_takes_the_retry() {
    let mut records = xs(4);
    records[1] = serde_json::json!({"x": 1, "crash": true});
    let s = worker_study(&records, 1, "");
    let out = s.run("solo").args(["--retries", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    let one = r.of(1);
    assert_eq!(one.len(), 2, "{one:?}");
    assert_eq!(one[0].status(), "failed");
    assert_eq!(one[0].get("exit_code"), "3");
    assert!(
        one[0]
            .get("error")
            .contains("the worker crashed while running this job (exit code 3)"),
        "{}",
        one[0].get("error")
    );
    assert_eq!(one[1].status(), "ok");
    assert_eq!(distinct_pids(&r).len(), 2, "a fresh worker after the crash");
}

#[test]
fn a_timeout_kills_the_worker_and_a_fresh_one_runs_the_next_job() {
    let mut records = xs(3);
    records[0] = serde_json::json!({"x": 0, "sleep": 60});
    let s = worker_study(&records, 1, "");
    let started = std::time::Instant::now();
    // A job's limit counts a fresh worker's start-up (docs/workers.md), and Python takes about
    // 2 s to start on a loaded machine (measured at load 8 on 2 cores): a 1 s limit timed out
    // jobs 1 and 2 too. 6 s leaves them room and still stops job 0 well before its 60 s.
    let out = s
        .run("solo")
        .args(["--timeout", "6", "--grace", "1"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(started.elapsed() < std::time::Duration::from_secs(45));
    let r = s.results("solo");
    let last = r.last_by_index();
    assert_eq!(last[&0].status(), "timeout");
    assert!(last[&0].get("error").starts_with("timed out after"));
    assert_eq!((last[&1].status(), last[&2].status()), ("ok", "ok"));
    crate::harness::assert_no_procs_with_env(&s.env_marker(), std::time::Duration::from_secs(3));
}

#[test]
fn recycle_restarts_each_worker_after_n_jobs() {
    let s = worker_study(&xs(6), 1, "");
    let out = s
        .run("solo")
        .args(["--worker-recycle", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    assert_eq!(distinct_pids(&r).len(), 3);
    let mut ns: Vec<&str> = r.rows.iter().map(|row| row.get("n")).collect();
    ns.sort_unstable();
    assert_eq!(ns, ["1", "1", "1", "2", "2", "2"]);
}

#[test]
fn a_worker_that_cannot_start_or_speaks_another_version_fails_its_jobs_saying_why() {
    let s = worker_study(&xs(2), 1, "");
    let out = s
        .run("solo")
        .args(["--worker", "python3 -u missing.py"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for row in &s.results("solo").rows {
        assert_eq!(row.status(), "failed");
        assert!(
            row.get("error")
                .starts_with("the worker exited before saying hello (exit code 2)"),
            "{}",
            row.get("error")
        );
    }
    assert!(s
        .log("solo")
        .iter()
        .any(|l| l.stream == "err" && l.text.contains("missing.py")));

    let s = worker_study(&xs(1), 1, "");
    let out = s.run("solo").env("HELLO_VERSION", "2").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        s.results("solo").rows[0].get("error"),
        "the worker speaks protocol version 2; this jobsplit speaks 1"
    );
}

#[test]
fn a_worker_with_a_command_template_is_refused() {
    let s = worker_study(&xs(1), 1, "");
    let out = s.run("solo").args(["--cmd", "echo {x}"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("a worker runs the jobs"));
    assert!(!s.out().exists(), "nothing written");
}

#[test]
fn ctrl_c_stops_the_workers_and_a_rerun_resumes() {
    let records: Vec<serde_json::Value> = (0..6)
        .map(|x| serde_json::json!({"x": x, "sleep": -1}))
        .collect();
    let s = worker_study(&records, 2, "");
    let needle = s.env_marker();
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--grace", "2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        crate::harness::wait_until(std::time::Duration::from_secs(20), || {
            crate::harness::procs_with_env(&needle)
                .iter()
                .filter(|(_, cmd)| cmd.contains("w.py"))
                .count()
                >= 2
        }),
        "the workers did not start"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    crate::harness::signal(child.id(), libc::SIGINT);
    let status = crate::harness::wait_child(&mut child, std::time::Duration::from_secs(15));
    assert_eq!(status.code(), Some(130));
    crate::harness::assert_no_procs_with_env(&needle, std::time::Duration::from_secs(3));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2, "{:?}", r.rows);
    assert!(r.rows.iter().all(|row| row.status() == "interrupted"));

    s.write("fast", "");
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = s.results("solo");
    assert_eq!(r.ok_per_key().len(), 6);
    assert!(r.rows.iter().filter(|row| row.status() == "ok").count() == 6);
    assert!(r.rows.iter().any(|row| row.attempt() == 2));
}

/// `jobsplit cancel` of a job a worker is running stops that worker (it never answers) and a
/// fresh one runs the next jobs; the job is recorded `cancelled`, not retried.
#[test]
fn a_cancelled_job_stops_its_worker_and_a_fresh_one_runs_the_rest() {
    use std::time::Duration;
    // Every job waits for the file `fast`; one slot, so the share's first job runs first.
    let records: Vec<serde_json::Value> = (0..4)
        .map(|x| serde_json::json!({"x": x, "sleep": -1}))
        .collect();
    let s = worker_study(&records, 1, "");
    let first = s.plan_json(&[])["machines"][0]["jobs"][0].as_u64().unwrap();
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--retries", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _guard = crate::process_signals::KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    let marker = s.env_marker();
    assert!(
        crate::harness::wait_until(Duration::from_secs(30), || {
            crate::harness::procs_with_env(&marker)
                .iter()
                .any(|(_, c)| c.contains("w.py"))
        }),
        "no worker started"
    );
    let out = s.output(&["cancel", "out/solo", &first.to_string()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("job {first} on solo: running")),
        "{}",
        out.stdout
    );
    // The run acts on the request when its watcher reads it: the job's row says cancelled
    // before the others may go on (writing `fast` first let a loaded machine finish it ok).
    let csv = s.machine_dir("solo").join("results.csv");
    assert!(
        crate::harness::wait_until(Duration::from_secs(30), || {
            std::fs::read_to_string(&csv).is_ok_and(|t| t.contains(",cancelled,"))
        }),
        "the cancelled job has no row"
    );
    s.write("fast", "");
    let status = crate::harness::wait_child(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 4, "{:?}", r.rows);
    for row in &r.rows {
        let want = if row.index() == first {
            "cancelled"
        } else {
            "ok"
        };
        assert_eq!(row.status(), want, "{row:?}");
    }
    // The stopped worker's pid (it wrote it for the cancelled job) runs none of the others.
    let stopped: Vec<String> = s
        .log("solo")
        .into_iter()
        .filter(|l| l.job == Some(first) && l.text.starts_with("job "))
        .map(|l| l.text.rsplit(' ').next().unwrap().to_owned())
        .collect();
    // (On a loaded machine the cancel can come before the worker read the job: no line then.)
    assert!(stopped.len() <= 1, "{stopped:?}");
    let pids = distinct_pids(&r);
    assert_eq!(pids.len(), 1, "{pids:?}");
    if let Some(p) = stopped.first() {
        assert!(!pids.contains(p), "{pids:?} {stopped:?}");
    }
    crate::harness::assert_no_procs_with_env(&marker, Duration::from_secs(3));
}
