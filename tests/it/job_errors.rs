//! A failed command job's `error` says why: the exit code, the time limit or the signal, then
//! the last non-empty line the job wrote to stderr (one line, control characters escaped,
//! capped in length), so the reason is in results.csv without opening the log.

use std::time::Duration;

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

fn errors(jobs: &[&str], args: &[&str]) -> Vec<(String, String)> {
    let jobs: Vec<String> = jobs.iter().map(|j| (*j).to_owned()).collect();
    let s = Study::with(&jobs, ONE, "");
    let out = s
        .run("solo")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = s.results("solo");
    (0..jobs.len() as u64)
        .map(|i| {
            let row = r.of(i)[0];
            (row.status().to_owned(), row.get("error").to_owned())
        })
        .collect()
}

#[test]
fn a_failed_job_error_carries_the_last_stderr_line() {
    let got = errors(
        &[
            // 0: the reason is the last non-empty stderr line, not stdout, not a blank line.
            "echo starting >&2; echo 'invalid sample count -5' >&2; echo '  ' >&2; echo out; exit 1",
            // 1: nothing on stderr: the exit code alone.
            "echo only stdout; exit 3",
            // 2: control characters are escaped, the line is cut.
            r#"printf 'bad\033[31m\tred %0300d\n' 0 >&2; exit 2"#,
            // 3: a signal.
            "echo 'segfault soon' >&2; kill -KILL $$",
            // 4: a partial last line (no newline) counts.
            "printf 'no newline' >&2; exit 1",
            // 5: ok jobs have no error.
            "echo fine >&2",
        ],
        &["--threads", "1"],
    );
    assert_eq!(
        got[0],
        (
            "failed".into(),
            "exit code 1: invalid sample count -5".into()
        )
    );
    assert_eq!(got[1], ("failed".into(), "exit code 3".into()));
    let (status, error) = &got[2];
    assert_eq!(status, "failed");
    assert!(
        error.starts_with(r"exit code 2: bad\u{1b}[31m\tred 000"),
        "{error}"
    );
    assert!(!error.chars().any(char::is_control), "{error:?}");
    assert!(
        error.chars().count() <= 240,
        "{} chars",
        error.chars().count()
    );
    assert!(error.ends_with('…'), "{error}");
    assert_eq!(
        got[3],
        (
            "failed".into(),
            "killed by signal 9 (SIGKILL): segfault soon".into()
        )
    );
    assert_eq!(got[4], ("failed".into(), "exit code 1: no newline".into()));
    assert_eq!(got[5], ("ok".into(), String::new()));
}

#[test]
fn a_timed_out_job_error_carries_the_last_stderr_line() {
    let got = errors(
        &["echo 'still converging' >&2; sleep 60"],
        &["--timeout", "1", "--grace", "0.2"],
    );
    assert_eq!(
        got[0],
        (
            "timeout".into(),
            "timed out after 1.0s: still converging".into()
        )
    );
}
