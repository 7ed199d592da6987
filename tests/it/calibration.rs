//! `merge --write-machines` (issue 14): a suggested weight that rests on fewer than 30 ok jobs,
//! or on timed-out attempts, gets a warning naming the machine and its counts; one that rests on
//! enough ok jobs gets none.

use crate::harness::Study;

const TWO: &str = r#"{"a": [1, 1], "b": [1, 1]}"#;

fn merge_warnings(s: &Study) -> Vec<String> {
    for m in ["a", "b"] {
        let _ = s
            .run(m)
            .args(["--quiet", "--timeout", "0.3"])
            .output()
            .unwrap();
    }
    let out = s.output(&[
        "merge",
        "out",
        "--out",
        "m",
        "--write-machines",
        "calibrated.json",
    ]);
    assert!(s.join("calibrated.json").is_file(), "{}", out.stderr);
    out.stderr
        .lines()
        .filter(|l| l.contains("--write-machines"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_weight_from_ten_jobs_and_a_timeout_is_flagged() {
    // Ten jobs; job 3 sleeps past the time limit.
    let jobs: Vec<String> = (0..10)
        .map(|i| {
            if i == 3 {
                "sleep 5".to_owned()
            } else {
                "true".to_owned()
            }
        })
        .collect();
    let s = Study::with(&jobs, TWO, "");
    let warnings = merge_warnings(&s);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for (w, m) in warnings.iter().zip(["a", "b"]) {
        assert!(w.contains(&format!("suggested for {m} rests on")), "{w}");
        assert!(
            w.contains("ok jobs (fewer than 30)") || w.contains("ok job (fewer"),
            "{w}"
        );
    }
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("1 timed-out attempt"))
            .count(),
        1,
        "{warnings:?}"
    );
}

#[test]
fn a_weight_from_enough_jobs_is_not_flagged() {
    let jobs: Vec<String> = (0..100).map(|_| "true".to_owned()).collect();
    let s = Study::with(&jobs, TWO, "");
    // With 100 jobs each machine has about 50 (the split is by weight, exact to a job or two).
    assert_eq!(merge_warnings(&s), Vec::<String>::new());
}
