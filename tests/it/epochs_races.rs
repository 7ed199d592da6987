//! Races around recording epochs (docs/split-v1.md section 7.1): a line cut short by a killed
//! writer, and two runs recording two appends that come close together.

use std::time::Duration;

use super::epochs_run::{append, each_once, merged_ok, run_ok, study, MACHINES};
use crate::harness;

/// A writer killed while it appended an epoch line leaves it cut short (no `\n`): readers
/// leave it out, and the next run removes it before it records the epoch again, whole.
#[test]
fn an_epoch_line_cut_short_by_a_killed_writer_is_left_out_then_replaced() {
    let s = study(5);
    run_ok(&s, "ws1");
    append(&s, 5..8, "0");
    run_ok(&s, "ws1");
    let whole = std::fs::read_to_string(s.join("jobs.txt.epochs")).unwrap();
    append(&s, 8..10, "0");
    let mut cut = whole.clone();
    cut += "2 8 2 0123456789abcdef";
    s.write("jobs.txt.epochs", &cut);
    // plan reads the two whole epochs and shows the next one as not recorded.
    let shown = harness::Out::of(s.cmd().args(["plan"]).output().unwrap());
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stderr.contains("epoch 2 (jobs 8 to 9)"),
        "{}",
        shown.stderr
    );
    for m in MACHINES {
        run_ok(&s, m);
    }
    let now = std::fs::read_to_string(s.join("jobs.txt.epochs")).unwrap();
    assert!(now.starts_with(&whole), "{now}");
    let last: Vec<&str> = now.lines().last().unwrap().split(' ').collect();
    assert_eq!(&last[..3], ["2", "8", "2"], "{now}");
    assert_eq!(last[3].len(), 64, "{now}");
    assert!(now.ends_with('\n') && now.lines().count() == 4, "{now}");
    each_once(&s, 10);
    merged_ok(&s, 10);
}

/// Two runs that see the same append at once record one epoch, not two overlapping ones, and
/// a second append close behind becomes the next epoch: every job once.
#[test]
fn two_runs_recording_two_appends_close_together_record_each_job_in_one_epoch() {
    let s = study(6);
    for m in MACHINES {
        run_ok(&s, m);
    }
    append(&s, 6..10, "0");
    let spawn = |m: &str| {
        s.std_cmd()
            .args(["run", "--machine", m, "--yes", "-q"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("ws1"), spawn("ws2"));
    std::thread::sleep(Duration::from_millis(15));
    append(&s, 10..13, "0");
    let c = spawn("server");
    for child in [a, b, c] {
        let out = harness::Out::of(child.wait_with_output().unwrap());
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    // Whatever epochs the two appends became, they are contiguous, cover every job recorded
    // once, and every machine catches up on them.
    for m in MACHINES {
        run_ok(&s, m);
    }
    let text = std::fs::read_to_string(s.join("jobs.txt.epochs")).unwrap();
    let mut end = 0;
    for (e, line) in text.lines().skip(1).enumerate() {
        let f: Vec<u64> = line
            .split(' ')
            .take(3)
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!((f[0], f[1]), (e as u64, end), "{text}");
        end += f[2];
    }
    assert_eq!(end, 13, "{text}");
    each_once(&s, 13);
    merged_ok(&s, 13);
}
