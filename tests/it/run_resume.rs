//! Resume: a rerun skips every job with an ok row, reruns only the failed ones (with the next
//! attempt number), and `--retries` records every attempt as its own row.

use crate::harness::{sh_quote, text, Study};

const ONE: &str = r#"{"solo": [1, 2]}"#;

#[test]
fn a_rerun_of_a_finished_run_runs_nothing() {
    let s = Study::new();
    let counter = s.join("runs");
    let jobs: Vec<String> = (0..6)
        .map(|i| {
            format!(
                "echo {i} >> {}; echo done {i}",
                sh_quote(counter.to_str().unwrap())
            )
        })
        .collect();
    s.setup(&jobs, ONE, "");
    s.run("solo").assert().code(0);
    let csv = std::fs::read(s.machine_dir("solo").join("results.csv")).unwrap();
    let log_lines = s.log("solo").len();
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        6
    );

    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.trim_start().starts_with("skipped") && l.trim_end().ends_with(" 6")),
        "the summary should say 6 skipped:\n{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        6,
        "a job ran again"
    );
    assert_eq!(
        std::fs::read(s.machine_dir("solo").join("results.csv")).unwrap(),
        csv,
        "results.csv changed"
    );
    let manifest = s.manifest("solo");
    assert_eq!(manifest["state"], "finished");
    assert_eq!(manifest["counts"]["skipped"], 6);
    assert_eq!(manifest["counts"]["ok"], 0);
    // The log only gained the rerun's own event lines.
    let log = s.log("solo");
    assert!(log[log_lines..]
        .iter()
        .all(|l| l.job.is_none() && l.stream == "event"));
}

#[test]
fn a_failed_job_reruns_alone_with_the_next_attempt_number() {
    let s = Study::new();
    let marker = s.join("marker");
    let counter = s.join("ran");
    let q = |p: &std::path::Path| sh_quote(p.to_str().unwrap());
    let jobs: Vec<String> = (0..5)
        .map(|i| {
            let run = format!("echo {i} >> {}", q(&counter));
            if i == 2 {
                format!("{run}; test -e {} || exit 3", q(&marker))
            } else {
                run
            }
        })
        .collect();
    s.setup(&jobs, ONE, "");

    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let first = s.results("solo");
    assert_eq!(first.rows.len(), 5);
    let failed = first.of(2);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status(), "failed");
    assert_eq!(failed[0].get("exit_code"), "3");
    assert_eq!(failed[0].attempt(), 1);
    assert!(failed[0].get("error").contains('3'), "{:?}", failed[0]);
    assert_eq!(s.manifest("solo")["counts"]["failed"], 1);

    // Still failing: another attempt, still exit 1.
    s.run("solo").assert().code(1);
    let second = s.results("solo");
    assert_eq!(second.rows[..5], first.rows[..]);
    assert_eq!(second.rows.len(), 6);
    assert_eq!((second.rows[5].index(), second.rows[5].attempt()), (2, 2));

    std::fs::write(&marker, "").unwrap();
    std::fs::remove_file(&counter).unwrap();
    s.run("solo").assert().code(0);
    let third = s.results("solo");
    assert_eq!(third.rows[..6], second.rows[..], "earlier rows changed");
    assert_eq!(third.rows.len(), 7);
    let row = &third.rows[6];
    assert_eq!((row.index(), row.attempt(), row.status()), (2, 3, "ok"));
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap(),
        "2\n",
        "only the failed job runs again"
    );
    assert!(third.ok_per_key().values().all(|&n| n == 1));
    assert_eq!(third.ok_per_key().len(), 5);
}

#[test]
fn retries_record_every_attempt() {
    let s = Study::new();
    let flag = s.join("flag");
    let q = sh_quote(flag.to_str().unwrap());
    let jobs = vec![
        "echo always fails; exit 4".to_owned(),
        // Fails the first time only.
        format!("if test -e {q}; then echo second; else touch {q}; exit 5; fi"),
        "true".to_owned(),
    ];
    s.setup(&jobs, ONE, "");
    s.run("solo").args(["--retries", "2"]).assert().code(1);
    let r = s.results("solo");
    let summary = |i| {
        r.of(i)
            .iter()
            .map(|row| {
                (
                    row.attempt(),
                    row.status().to_owned(),
                    row.get("exit_code").to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let f = |a: u32, st: &str, c: &str| (a, st.to_owned(), c.to_owned());
    assert_eq!(
        summary(0),
        [
            f(1, "failed", "4"),
            f(2, "failed", "4"),
            f(3, "failed", "4")
        ]
    );
    assert_eq!(summary(1), [f(1, "failed", "5"), f(2, "ok", "0")]);
    assert_eq!(summary(2), [f(1, "ok", "0")]);
    let m = s.manifest("solo");
    assert_eq!(
        (m["counts"]["ok"].as_u64(), m["counts"]["failed"].as_u64()),
        (Some(2), Some(1))
    );
    // Every attempt's failure is in the log too.
    let events: Vec<String> = s
        .log("solo")
        .into_iter()
        .filter(|l| l.job == Some(0) && l.stream == "event")
        .map(|l| l.text)
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
}
