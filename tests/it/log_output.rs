//! log.gz as a run writes it from its own thread: lines of jobs running at once interleave in
//! time order (and `merge` keeps that order across hosts), a job still printing has its lines
//! in log.gz and in its own log within seconds, and a disk that fills while the log is written
//! stops the run (exit 3) with a log that reads as whole members.

use std::path::Path;
use std::time::Duration;

use jobsplit::testing::read_lines;

use crate::harness::{read_log, text, wait_child, wait_until, LogLine, Results, Study};

/// The lines of a log that can be read now (a run may be writing it): the whole members.
fn readable(path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    if path.exists() {
        let _ = read_lines(path, |l| {
            lines.push(l.to_owned());
            Ok(())
        });
    }
    lines
}

fn assert_time_order(lines: &[LogLine], what: &str) {
    for pair in lines.windows(2) {
        assert!(
            pair[0].time <= pair[1].time,
            "{what} out of time order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// A job printing `n` numbered lines in bursts, pausing between them, so that jobs run at
/// once print at once.
fn chatty(job: usize, n: usize) -> String {
    format!(
        "i=0; while [ $i -lt {n} ]; do echo \"job {job} line $i\"; i=$((i+1)); \
         [ $((i % 50)) -eq 0 ] && sleep 0.02; done; true"
    )
}

#[test]
fn lines_of_jobs_running_at_once_interleave_in_time_order_and_merge_keeps_it() {
    let n = 1000;
    let jobs: Vec<String> = (0..8).map(|j| chatty(j, n)).collect();
    let s = Study::with(&jobs, r#"{"a": [1, 2], "b": [1, 2]}"#, "");
    // Both hosts at once, so that the merge interleaves them too.
    let mut children: Vec<_> = ["a", "b"]
        .iter()
        .map(|m| {
            s.std_cmd()
                .args(["run", "--machine", m, "--yes", "--quiet"])
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        let status = wait_child(child, Duration::from_secs(120));
        assert!(status.success(), "{status:?}");
    }
    let mut total = 0;
    for m in ["a", "b"] {
        let lines = s.log(m);
        assert_time_order(&lines, m);
        let outs: Vec<&LogLine> = lines.iter().filter(|l| l.stream == "out").collect();
        let jobs_here = s.results(m).rows.len();
        assert_eq!(outs.len(), jobs_here * n, "{m}: every line");
        // Each job's lines in the order it printed them.
        for job in outs
            .iter()
            .filter_map(|l| l.job)
            .collect::<std::collections::BTreeSet<_>>()
        {
            let texts: Vec<&str> = outs
                .iter()
                .filter(|l| l.job == Some(job))
                .map(|l| l.text.as_str())
                .collect();
            let want: Vec<String> = (0..n).map(|i| format!("job {job} line {i}")).collect();
            assert_eq!(texts, want, "{m}: job {job}");
        }
        // Two slots: jobs ran side by side, and their lines interleave by time, not by job.
        let switches = outs.windows(2).filter(|p| p[0].job != p[1].job).count();
        assert!(
            switches >= jobs_here,
            "{m}: the lines of {jobs_here} jobs switch job only {switches} times"
        );
        total += outs.len();
    }
    assert_eq!(total, 8 * n);
    let merged = s.join("merged");
    let out = s
        .cmd()
        .args(["merge", "out", "--out"])
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = read_log(&merged.join("log.gz"));
    assert_time_order(&lines, "the merged log");
    assert_eq!(lines.iter().filter(|l| l.stream == "out").count(), 8 * n);
}

#[test]
fn a_job_still_printing_has_its_lines_in_the_log_and_in_its_own_log() {
    let stop = "stop-now";
    let jobs = vec![format!(
        "echo first; while [ ! -e {stop} ]; do sleep 0.05; done; echo last"
    )];
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--quiet", "--job-logs"])
        .spawn()
        .unwrap();
    let log = s.machine_dir("solo").join("log.gz");
    let job_log = s.machine_dir("solo").join("logs/0.log.gz");
    let has_first = |p: &Path| readable(p).iter().any(|l| l.ends_with("\t0\tout\tfirst"));
    // Members end at least every 2 s while a job prints: the line is there long before the job
    // ends (the limit only bounds a hang).
    let in_log = wait_until(Duration::from_secs(30), || has_first(&log));
    let in_job_log = wait_until(Duration::from_secs(30), || has_first(&job_log));
    std::fs::write(s.join(stop), "").unwrap();
    let status = wait_child(&mut child, Duration::from_secs(60));
    assert!(in_log, "log.gz lacks the line of a job still running");
    assert!(
        in_job_log,
        "logs/0.log.gz lacks the line of a job still running"
    );
    assert!(status.success(), "{status:?}");
    for path in [&log, &job_log] {
        let texts: Vec<String> = read_log(path)
            .into_iter()
            .filter(|l| l.job == Some(0))
            .map(|l| l.text)
            .collect();
        assert_eq!(texts, ["first", "last"], "{}", path.display());
    }
}

#[test]
fn a_disk_that_fills_while_the_log_is_written_stops_the_run_with_exit_3() {
    // Job 0 prints ~9 MB that compresses poorly: the disk fills while the log's thread writes
    // its members, in the middle of the job. Jobs 1 and 2 would print a line each.
    let jobs = vec![
        "head -c 3000000 /dev/urandom | od -An -tx1".to_owned(),
        "echo one".to_owned(),
        "echo two".to_owned(),
    ];
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let fs = match crate::harness::Tmpfs::mount("200k") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("note: cannot mount a tmpfs here ({why}); skipping");
            return;
        }
    };
    let mnt = fs.path();
    let out = s
        .run("solo")
        .args(["--quiet", "--out", mnt.to_str().unwrap()])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no space left"), "{err}");
    assert!(err.contains("stopped after it began writing"), "{err}");
    assert!(err.contains("log.gz"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The job whose lines could not be kept is not recorded (a rerun runs it); the jobs that
    // ran before it (the plan shuffles them) are.
    let r = Results::read(&mnt.join("solo/results.csv"));
    assert!(r.rows.iter().all(|row| row.index() != 0), "{:?}", r.rows);
    assert!(r.rows.len() < 3, "{:?}", r.rows);
    let m = crate::harness::read_json(&mnt.join("solo/manifest.json"));
    assert_eq!(m["state"], "interrupted", "{m}");
    // What the log holds reads as whole members, from the run's first line on.
    let lines = readable(&mnt.join("solo/log.gz"));
    assert!(lines[0].contains("\t-\tevent\trun started"), "{lines:?}");
    assert!(lines.iter().all(|l| l.split('\t').count() == 4));
}
