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
