//! `--notify CMD` / `[run] notify` through the real binary: the events with JSON on stdin and
//! `JOBSPLIT_*` variables, and a command that hangs or fails never slows or breaks the run.

use std::time::{Duration, Instant};

use crate::harness::Study;

/// Appends each event's stdin JSON and its variables to `events.jsonl` / `env.txt`.
const RECORD: &str = r#"cat >> "$NOTIFY_DIR/events.jsonl"; echo "$JOBSPLIT_EVENT $JOBSPLIT_MACHINE ${JOBSPLIT_INDEX:--} ${JOBSPLIT_ERROR:--}" >> "$NOTIFY_DIR/env.txt""#;

fn events(s: &Study) -> Vec<serde_json::Value> {
    std::fs::read_to_string(s.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn notify_gets_failed_and_finished_events_as_json_and_variables() {
    let jobs = vec![
        "true".to_owned(),
        "echo bad >&2; exit 3".to_owned(),
        "true".to_owned(),
    ];
    let s = Study::with(&jobs, r#"{"a": {"weight": 1, "cores": 1}}"#, "");
    let out = s
        .run("a")
        .args(["--quiet", "--notify", RECORD])
        .env("NOTIFY_DIR", s.path())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&s);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0]["event"], "job_failed");
    assert_eq!(ev[0]["index"], 1);
    assert_eq!(ev[0]["machine"], "a");
    assert!(
        ev[0]["error"].as_str().unwrap().contains("exit code 3"),
        "{ev:?}"
    );
    assert_eq!(ev[1]["event"], "machine_finished");
    assert_eq!(ev[1]["failed"], 1);
    assert_eq!(ev[1]["ok"], 2);
    let env = std::fs::read_to_string(s.join("env.txt")).unwrap();
    let lines: Vec<&str> = env.lines().collect();
    assert!(lines[0].starts_with("job_failed a 1 exit code 3"), "{env}");
    assert!(lines[1].starts_with("machine_finished a - -"), "{env}");
}

#[test]
fn notify_from_the_config_gets_run_interrupted() {
    // The job waits until the run is interrupted by SIGINT.
    let jobs = vec!["sleep 1000".to_owned()];
    let s = Study::with(
        &jobs,
        r#"{"a": {"weight": 1, "cores": 1}}"#,
        &format!("[run]\nnotify = '''{RECORD}'''\ngrace = \"1s\"\n"),
    );
    let mut child = crate::live_status::Reaped(
        s.std_cmd()
            .args(["run", "--machine", "a", "--yes", "--quiet"])
            .env("NOTIFY_DIR", s.path())
            .spawn()
            .unwrap(),
    );
    let status = s.machine_dir("a").join("status.json");
    let start = Instant::now();
    while !status.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(130));
    let ev = events(&s);
    assert_eq!(ev.last().unwrap()["event"], "run_interrupted", "{ev:?}");
    assert_eq!(ev.last().unwrap()["interrupted"], 1, "{ev:?}");
}

#[test]
fn a_notify_command_that_hangs_or_fails_does_not_break_the_run() {
    let jobs = vec!["exit 1".to_owned(); 30];
    let s = Study::with(&jobs, r#"{"a": {"weight": 1, "cores": 2}}"#, "");
    // Hangs on the first event, fails on every other.
    let cmd = r#"if mkdir "$NOTIFY_DIR/first" 2>/dev/null; then echo $$ > "$NOTIFY_DIR/pid"; sleep 1000; fi; exit 5"#;
    let out = s
        .run("a")
        .args(["--notify", cmd])
        .env("NOTIFY_DIR", s.path())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Every job ran and was recorded despite the notifier.
    assert_eq!(s.results("a").rows.len(), 30);
    assert!(stderr.contains("process group was killed"), "{stderr}");
    assert!(stderr.contains("events not sent"), "{stderr}");
    // The hanging command's group is gone.
    let pid = std::fs::read_to_string(s.join("pid")).unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hanging notify command still runs"
    );
}

/// A notify failure is on record in the machine's log.gz (an `event` line), not only on a
/// terminal nobody may watch.
#[test]
fn notify_failures_are_written_to_the_log() {
    let jobs = vec!["exit 1".to_owned(), "true".to_owned()];
    let s = Study::with(&jobs, r#"{"a": {"weight": 1, "cores": 1}}"#, "");
    let out = s
        .run("a")
        .args(["--quiet", "--notify", "echo oops >&2; exit 7"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = s.log("a");
    let notes: Vec<&str> = log
        .iter()
        .filter(|l| l.job.is_none() && l.stream == "event" && l.text.starts_with("notify: "))
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(notes.len(), 2, "job_failed and machine_finished: {notes:?}");
    assert!(notes[0].contains("job_failed"), "{notes:?}");
    assert!(notes[1].contains("machine_finished"), "{notes:?}");
    // The log stays one valid gzip stream of whole members, read by `jobsplit log`.
    let o = s.output(&["log", "out/a", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}
