//! The runner's lines read as English: plurals, one `failed` per progress line, `; will retry`,
//! and no rate or ETA before a job ended (issue 14, wording).

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

#[test]
fn one_job_one_thread_a_retry_and_progress_lines() {
    // One job: it fails with 7 on its first attempt, then sleeps long enough for the ticker
    // (every 0.1 s) to print while nothing has ended, and fails again.
    let jobs = vec![r#"sleep 1; exit 7"#.to_owned()];
    let s = Study::with(&jobs, ONE, "");
    let out = s
        .run("solo")
        .args([
            "--threads",
            "1",
            "--retries",
            "1",
            "--progress-interval",
            "0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("machine solo runs 1 of 1 job with 1 thread into"),
        "{err}"
    );
    assert!(
        err.contains("job 0 attempt 1 failed: exit code 7; will retry\n"),
        "{err}"
    );
    assert!(
        err.contains("job 0 attempt 2 failed: exit code 7\n"),
        "{err}"
    );
    let ticks: Vec<&str> = err.lines().filter(|l| l.contains(" done, ")).collect();
    for line in &ticks {
        assert_eq!(line.matches("failed").count(), 1, "{line}");
    }
    // The lines ticked while the job ran (on a loaded machine one more may come after it ended:
    // that one may carry a rate).
    let running: Vec<&&str> = ticks
        .iter()
        .filter(|l| l.starts_with("jobsplit: 0/1 done"))
        .collect();
    assert!(
        !running.is_empty(),
        "no progress line while the job ran: {err}"
    );
    for line in running {
        assert!(
            line.starts_with("jobsplit: 0/1 done, 0 failed, running [0"),
            "{line}"
        );
        assert!(!line.contains("ETA"), "{line}");
    }
}
