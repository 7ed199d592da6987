//! What `report` and merge show of a machine's jobs: a cancelled job has its status and colour
//! and is not a failure; a machine killed and resumed is timed over both runs (issue 19,
//! defect 15).

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{procs_with_env, wait_child, wait_until, Study};
use crate::process_signals::KillOnPanic;

/// The JSON data embedded in a page.
fn data(html: &str) -> serde_json::Value {
    let start = html.find(r#"id="data">"#).expect("a data element") + r#"id="data">"#.len();
    let len = html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..start + len]).expect("JSON")
}

fn spawn_run(s: &Study) -> (std::process::Child, KillOnPanic) {
    let child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = KillOnPanic {
        pid: child.id(),
        marker: s.env_marker(),
    };
    (child, guard)
}

#[test]
fn a_cancelled_job_is_shown_cancelled_and_is_not_a_failure() {
    let mut jobs = vec!["touch started; sleep 60".to_owned()];
    jobs.extend((1..3).map(|k| format!("echo {k}")));
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let (mut child, _guard) = spawn_run(&s);
    assert!(wait_until(Duration::from_secs(30), || s
        .join("started")
        .exists()));
    let out = s.output(&["cancel", "out/solo", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        wait_child(&mut child, Duration::from_secs(60)).code(),
        Some(0)
    );

    let out = s.output(&["report", "out", "-o", "r.html"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = std::fs::read_to_string(s.join("r.html")).unwrap();
    let d = data(&html);
    assert_eq!(
        d["failures"],
        serde_json::json!([]),
        "cancelled is not failed"
    );
    // The page names every status the model has, and gives each a colour and a legend entry.
    assert_eq!(
        d["statuses"],
        serde_json::json!(["ok", "failed", "timeout", "interrupted", "cancelled"])
    );
    let r = d["rows"]["i"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i == 0)
        .unwrap();
    assert_eq!(
        d["statuses"][d["rows"]["s"][r].as_u64().unwrap() as usize],
        "cancelled"
    );
    for status in ["ok", "failed", "timeout", "interrupted", "cancelled"] {
        assert!(
            html.contains(&format!(".{status}{{color:")),
            "a colour for {status}"
        );
    }
    let md = s.output(&["report", "out", "--markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains("## Failures (0)\n\nNone."),
        "{}",
        md.stdout
    );
}

#[test]
fn a_machine_killed_and_resumed_is_timed_over_both_runs() {
    // One slot: three jobs of about 1 s one after another, then the run is killed; the rerun
    // does the last.
    let jobs: Vec<String> = (0..4)
        .map(|i| format!("touch started-{i}; sleep 1"))
        .collect();
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let (mut child, _guard) = spawn_run(&s);
    let rows = |s: &Study| {
        std::fs::read_to_string(s.join("out/solo/results.csv"))
            .map_or(0, |t| t.lines().count().saturating_sub(1))
    };
    assert!(wait_until(Duration::from_secs(60), || rows(&s) >= 3));
    // SIGKILL: no chance to write an end; its jobs are killed as a host dying would.
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    for (pid, _) in procs_with_env(&s.env_marker()) {
        // SAFETY: as above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    // The host stays down a while: that time is not the machine's.
    std::thread::sleep(Duration::from_secs(3));
    s.run("solo").arg("--quiet").assert().success();

    let out = s.output(&["merge", "out", "--out", "merged", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let out = s.output(&["report", "out", "-o", "r.html"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = data(&std::fs::read_to_string(s.join("r.html")).unwrap());
    for (what, m) in [
        ("merge", &summary["machines"][0]),
        ("report", &page["machines"][0]),
    ] {
        let (wall, busy) = (m["wall_s"].as_f64().unwrap(), m["busy_s"].as_f64().unwrap());
        assert!(busy >= 3.5, "{what}: busy {busy}");
        // One core runs one job at a time: its wall time is at least its busy time, and the
        // 3 s it was down are not counted.
        assert!(wall >= busy, "{what}: wall {wall} < busy {busy}: {m}");
        assert!(
            wall < busy + 2.5,
            "{what}: wall {wall} counts the time it was down: {m}"
        );
    }
}
