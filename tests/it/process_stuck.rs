//! Processes that do not answer (issue 19, defects 10 and 11): a notify command that does not
//! read its stdin, never exits or leaves children behind; a worker that never says hello or
//! writes a line with no end. None of them may hold the run, outlive it or eat its memory.

use std::time::{Duration, Instant};

use crate::harness::{text, Study};

/// A worker that answers every job with an error of `ERROR_LEN` characters (a long message,
/// such as a pandas error listing many columns).
const LONG_ERROR_WORKER: &str = r#"
import json, sys
print(json.dumps({"hello": "jobsplit-worker", "version": 1}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps({"index": job["index"], "ok": False, "error": "e" * 100000}), flush=True)
"#;

/// A study of `n` JSONL records on one slot whose worker is `python3 -u w.py` with `worker`.
fn worker_study(n: usize, worker: &str) -> Study {
    let s = Study::new();
    let lines: Vec<String> = (0..n).map(|x| format!("{{\"x\": {x}}}")).collect();
    s.write("jobs.jsonl", lines.join("\n") + "\n");
    s.write("w.py", worker);
    s.write("machines.json", r#"{"solo": [1, 1]}"#);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[jobs]\nfile = \"jobs.jsonl\"\nworker = \"python3 -u w.py\"\n",
    );
    s
}

/// A notify command that never reads its stdin and never exits is killed on its 10 s clock,
/// even when the event is larger than a pipe holds (a worker's 100 KB error): the event used
/// to be written before the clock started, so the run waited for it forever. The worker's
/// error is cut, in results.csv and in the event.
#[test]
fn a_notify_command_that_never_reads_its_stdin_cannot_hold_the_run() {
    let s = worker_study(1, LONG_ERROR_WORKER);
    // The first event (job_failed) never reads stdin nor exits; the next ones are recorded.
    let cmd = r#"if mkdir "$NOTIFY_DIR/first" 2>/dev/null; then exec sleep 1000; fi; cat >> "$NOTIFY_DIR/events.jsonl""#;
    let started = Instant::now();
    let out = s
        .run("solo")
        .args(["--notify", cmd])
        .env("NOTIFY_DIR", s.path())
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
    assert!(stderr.contains("still running after 10s"), "{stderr}");
    let error = s.results("solo").rows[0].get("error").to_owned();
    assert!(
        error.starts_with("eeee") && error.ends_with('…') && error.chars().count() == 201,
        "{} characters: {}",
        error.chars().count(),
        &error[..80.min(error.len())]
    );
    let events = std::fs::read_to_string(s.join("events.jsonl")).unwrap();
    assert!(events.contains("machine_finished"), "{events}");
    assert!(events.len() < 2000, "{} bytes of events", events.len());
}

/// What a notify command starts in the background ends with it: it used to outlive the run.
#[test]
fn a_notify_commands_background_children_do_not_outlive_the_run() {
    let s = Study::with(&["true".to_owned()], r#"{"a": [1, 1]}"#, "");
    let cmd = r#"sleep 1000 & echo $! >> "$NOTIFY_DIR/pids""#;
    let out = s
        .run("a")
        .args(["--quiet", "--notify", cmd])
        .env("NOTIFY_DIR", s.path())
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pids = std::fs::read_to_string(s.join("pids")).unwrap();
    for pid in pids.split_whitespace() {
        let gone = crate::harness::wait_until(Duration::from_secs(3), || {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        assert!(gone, "the notify command's child {pid} still runs");
    }
}

/// Job events still queued when the run ends are dropped because the run ended, and said so;
/// they used to be counted as dropped because "the notify command was busy".
#[test]
fn events_dropped_at_the_end_are_worded_as_such() {
    let jobs = vec!["exit 1".to_owned(); 12];
    let s = Study::with(&jobs, r#"{"a": [1, 2]}"#, "");
    let out = s
        .run("a")
        .args(["--notify", "sleep 1"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("job events not sent: the run ended first"),
        "{stderr}"
    );
    for line in stderr.lines().filter(|l| l.contains("was busy")) {
        // Only the queue's own overflow is "busy": at most the jobs less the queue and the
        // one being sent.
        let n: u64 = line
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap();
        assert!(n <= 12 - 8, "{stderr}");
    }
}

/// A worker whose first line is not a hello and which then waits is stopped and its job fails
/// saying why (docs/workers.md); it used to hold the run forever.
#[test]
fn a_worker_whose_first_line_is_not_a_hello_is_stopped() {
    let s = worker_study(
        2,
        "import sys, time\nprint('loading the model...', flush=True)\ntime.sleep(1000)\n",
    );
    let started = Instant::now();
    let out = s
        .run("solo")
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(60));
    for row in &s.results("solo").rows {
        assert_eq!(row.status(), "failed");
        assert!(
            row.get("error")
                .starts_with("the worker's first line was not a hello"),
            "{}",
            row.get("error")
        );
    }
    // What it said instead is in the log.
    assert!(s
        .log("solo")
        .iter()
        .any(|l| l.stream == "out" && l.text == "loading the model..."));
    crate::harness::assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));
}

/// A worker writing a line with no end on stdout breaks the protocol once the line passes the
/// bound: the job fails and the run's memory stays bounded (it used to hold about 1 GB).
#[test]
fn a_worker_line_with_no_end_is_bounded() {
    let worker = r#"
import json, sys
print(json.dumps({"hello": "jobsplit-worker", "version": 1}), flush=True)
sys.stdin.readline()
chunk = "x" * (1 << 20)
while True:
    sys.stdout.write(chunk)
"#;
    let s = worker_study(1, worker);
    let mut child = crate::live_status::Reaped(
        s.std_cmd()
            .args([
                "run",
                "--machine",
                "solo",
                "--yes",
                "--quiet",
                "--timeout",
                "20",
            ])
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let mut peak_kb = 0u64;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the run never ended"
        );
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let rss = st
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok());
            peak_kb = peak_kb.max(rss.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
    assert!(peak_kb < 150 * 1024, "peak resident memory {peak_kb} kB");
    let row = &s.results("solo").rows[0];
    assert_eq!(row.status(), "failed", "{row:?}");
    assert!(
        row.get("error").contains("longer than"),
        "{}",
        row.get("error")
    );
}
