//! Jobs that misbehave (fail, die by a signal, overrun, ignore SIGTERM, leave processes behind,
//! flood their output) are each recorded while the others go on, and nothing is left running.

use std::time::{Duration, Instant};

use crate::harness::{assert_no_procs_with_env, procs_with_env, text, Study};

const SIX_SLOTS: &str = r#"{"solo": [1, 6]}"#;

#[test]
fn misbehaving_jobs_are_recorded_and_leave_nothing_behind() {
    let jobs = vec![
        // 0: a plain failure.
        "echo failing; exit 7".to_owned(),
        // 1: killed by a signal.
        "echo dying; kill -9 $$".to_owned(),
        // 2: overruns the time limit.
        "sleep 30".to_owned(),
        // 3: overruns, and its child ignores SIGTERM (only SIGKILL after the grace ends it).
        r#"sh -c 'trap "" TERM; sleep 60' & wait"#.to_owned(),
        // 4: exits 0 but leaves a process holding its output pipe.
        "sleep 60 & echo left one".to_owned(),
        // 5: exits 0 but leaves a process that closed its output.
        "sleep 61 >/dev/null 2>&1 </dev/null & echo left another".to_owned(),
        // 6: well behaved.
        r#"echo '{"fine": 1}' > "$JOBSPLIT_RESULT""#.to_owned(),
        // 7: overruns; its shell dies at SIGTERM, while the child cleans up within the grace.
        r#"sh -c 'trap "sleep 0.3; echo cleaned up; exit 0" TERM; sleep 60 & wait'; echo never"#
            .to_owned(),
    ];
    let s = Study::with(&jobs, SIX_SLOTS, "");
    let start = Instant::now();
    let out = s
        .run("solo")
        .args(["--timeout", "1", "--grace", "1", "--threads", "8"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // The slowest job is the one that needs SIGKILL: 1 s limit + 1 s grace.
    assert!(took < Duration::from_secs(8), "the run took {took:?}");
    assert_no_procs_with_env(&s.env_marker(), Duration::from_secs(3));

    let r = s.results("solo");
    assert_eq!(r.rows.len(), jobs.len());
    let row = r.last_by_index();
    let brief = |i: u64| {
        (
            row[&i].status().to_owned(),
            row[&i].get("exit_code").to_owned(),
        )
    };
    assert_eq!(brief(0), ("failed".into(), "7".into()));
    assert!(row[&0].get("error").contains('7'));

    assert_eq!(brief(1), ("failed".into(), String::new()));
    let e = row[&1].get("error");
    assert!(e.contains("signal") && e.contains('9'), "{e}");

    for i in [2, 3, 7] {
        assert_eq!(brief(i), ("timeout".into(), String::new()), "job {i}");
        assert!(row[&i].get("error").contains("timed out"), "{:?}", row[&i]);
        let d: f64 = row[&i].get("duration_s").parse().unwrap();
        assert!((0.9..5.0).contains(&d), "job {i} took {d} s");
    }
    // Job 3's child ignored SIGTERM: it took the grace period and SIGKILL.
    let d3: f64 = row[&3].get("duration_s").parse().unwrap();
    assert!(
        d3 >= 1.9,
        "job 3 ended after {d3} s, before its grace period"
    );

    for i in [4, 5] {
        assert_eq!(brief(i), ("ok".into(), "0".into()), "job {i}");
        let d: f64 = row[&i].get("duration_s").parse().unwrap();
        assert!(d < 1.0, "job {i} waited for its leftover ({d} s)");
    }
    assert_eq!(brief(6), ("ok".into(), "0".into()));
    assert_eq!(row[&6].get("fine"), "1");

    let m = s.manifest("solo");
    assert_eq!(m["state"], "finished");
    assert_eq!(
        (
            &m["counts"]["ok"],
            &m["counts"]["failed"],
            &m["counts"]["timeout"]
        ),
        (&3.into(), &2.into(), &3.into())
    );
    // The log has each job's output and its failure.
    let log = s.log("solo");
    // Job 7's child got its grace period to clean up, though its shell was gone.
    for (i, line) in [
        (0, "failing"),
        (1, "dying"),
        (4, "left one"),
        (7, "cleaned up"),
    ] {
        assert!(
            log.iter()
                .any(|l| l.job == Some(i) && l.stream == "out" && l.text == line),
            "job {i}'s output is missing"
        );
    }
    assert!(log
        .iter()
        .any(|l| l.job == Some(2) && l.stream == "event" && l.text.contains("timeout")));
}

#[test]
fn a_flood_of_output_is_logged_without_hanging() {
    // 100 MB of stdout in 1M lines, next to a job writing to stderr.
    let jobs = vec![
        r"head -c 100000000 /dev/zero | tr '\0' 'x' | fold -w 100".to_owned(),
        "for i in 1 2 3; do echo err $i >&2; done".to_owned(),
    ];
    let s = Study::with(&jobs, r#"{"solo": [1, 2]}"#, "");
    let start = Instant::now();
    let out = s
        .run("solo")
        .args(["--quiet"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(60), "the flood took {took:?}");
    let r = s.results("solo");
    assert!(r.rows.iter().all(|row| row.status() == "ok"));

    let log = s.log("solo");
    let flood: Vec<_> = log
        .iter()
        .filter(|l| l.job == Some(0) && l.stream == "out")
        .collect();
    assert_eq!(flood.len(), 1_000_000);
    assert!(flood.iter().all(|l| l.text.len() == 100));
    let errs: Vec<&str> = log
        .iter()
        .filter(|l| l.job == Some(1) && l.stream == "err")
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(errs, ["err 1", "err 2", "err 3"]);
    // Compressed, it is small.
    let size = std::fs::metadata(s.machine_dir("solo").join("log.gz"))
        .unwrap()
        .len();
    assert!(size < 10_000_000, "log.gz is {size} bytes");
    assert!(procs_with_env(&s.env_marker()).is_empty());
}
