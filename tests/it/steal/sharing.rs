//! Stealing as it goes when every host behaves: unlike speeds, racing helpers, a helper that
//! joins late or finds nothing left, and what is refused on the same out.

use super::*;

#[test]
fn three_machines_of_unlike_speed_run_every_job_once_and_the_fast_ones_steal() {
    let s = Study::with(&sleepy(60), THREE, "");
    let slow = spawn(&s, &["-M", "a"], "0.25");
    let mid = spawn(&s, &["-M", "b"], "0.02");
    let fast = spawn(&s, &["-M", "c"], "0.01");
    for child in [slow, mid, fast] {
        assert_eq!(finish(child), 0);
    }
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 60, "every job ok");
    for (i, by) in &rows {
        assert_eq!(by.len(), 1, "job {i} ran once, here by {by:?}");
    }
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    assert_eq!(summary["duplicates"], 0);
    assert!(o.stdout.contains("proved by claims"), "{}", o.stdout);
    let (_, stolen_b) = credit(&summary, "b");
    let (_, stolen_c) = credit(&summary, "c");
    let (own_a, stolen_a) = credit(&summary, "a");
    assert!(
        stolen_b + stolen_c > 0,
        "the fast machines stole: {summary}"
    );
    assert!(own_a < 20, "the slow one lost part of its share: {summary}");
    assert_eq!(stolen_a, 0, "the slow one stole nothing: {summary}");
    // status.json says what each host claimed and stole.
    let status = read_json(&s.machine_dir("c").join("status.json"));
    assert_eq!(
        status["steal"]["stolen"].as_u64().unwrap(),
        stolen_c,
        "{status}"
    );
    assert_eq!(status["steal"]["stealing"], true);
    let shown = s.output(&["status", "out"]);
    assert!(
        shown
            .stdout
            .contains(&format!("steal: c claimed {}", status["steal"]["claimed"])),
        "{}",
        shown.stdout
    );
    // The manifest names the layout; every claim is a file naming its holder.
    let manifest = s.manifest("c");
    let layout = s
        .out()
        .join(manifest["balance"]["layout"].as_str().unwrap());
    assert!(layout.join("layout.json").is_file());
    assert_eq!(read_json(&layout.join("layout.json"))["mode"], "steal");
}

#[test]
fn helpers_racing_for_every_block_get_exactly_one_winner_each() {
    // Eight helpers and no owner: every block is free to all of them at once.
    let jobs: Vec<String> = (0..120).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, THREE, "");
    let names: Vec<String> = (0..8).map(|i| format!("h{i}")).collect();
    let children: Vec<Child> = names
        .iter()
        .map(|n| {
            spawn(
                &s,
                &["--helper", n, "--threads", "2", "--steal-block", "1"],
                "0",
            )
        })
        .collect();
    for child in children {
        assert_eq!(finish(child), 0);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows = ok_rows(&s, "out", &refs);
    assert_eq!(rows.len(), 120);
    assert!(rows.values().all(|by| by.len() == 1), "{rows:?}");
    // Each claim names the helper whose rows it covers: merge proves it.
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
    let claims: u64 = summary["balance"]["claims"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(claims, 120, "one claim per block of one job");
}

#[test]
fn another_block_size_mode_or_plan_on_the_same_out_is_refused_with_nothing_written() {
    let s = Study::with(&sleepy(12), THREE, "");
    for m in ["a", "b", "c"] {
        assert_eq!(finish(spawn(&s, &["-M", m, "--steal-block", "2"], "0")), 0);
    }
    let before = files_under(&s.out());
    let refuse = |args: &[&str], what: &str| {
        let o = Out::of(
            s.std_cmd()
                .args(["run", "--yes", "--quiet"])
                .args(args)
                .env("SLEEP", "0")
                .output()
                .unwrap(),
        );
        assert_eq!(o.code, 2, "{what}: {}", o.stderr);
        assert_eq!(
            o.stderr.lines().count(),
            1,
            "{what}: one line: {}",
            o.stderr
        );
        assert!(o.stderr.starts_with("jobsplit: error: "), "{}", o.stderr);
        assert_eq!(files_under(&s.out()), before, "{what}: nothing written");
        o.stderr
    };
    let e = refuse(&["--steal", "-M", "a", "--steal-block", "3"], "another B");
    assert!(e.contains("--steal-block 2"), "{e}");
    let e = refuse(&["--steal", "-M", "a"], "the default B");
    assert!(e.contains("blocks of 2"), "{e}");
    let e = refuse(&["-M", "a"], "a static run");
    assert!(e.contains("stealing"), "{e}");
    // A stale plan: another job list on the same OUT (an edited one: jobs appended to the
    // list are a new epoch of the study, docs/balance.md).
    let mut edited = sleepy(12);
    edited[3] = "echo edited".to_owned();
    s.jobs(&edited);
    let e = refuse(
        &["--steal", "-M", "a", "--steal-block", "2"],
        "a stale plan",
    );
    assert!(e.contains("plan"), "{e}");

    // And a stealing run beside a static run of its plan.
    let t = Study::with(&sleepy(6), THREE, "");
    assert_eq!(
        t.std_cmd()
            .args(["run", "--yes", "--quiet", "-M", "a"])
            .env("SLEEP", "0")
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    let before = files_under(&t.out());
    let o = Out::of(
        t.std_cmd()
            .args(["run", "--yes", "--quiet", "--steal", "-M", "b"])
            .env("SLEEP", "0")
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("static"), "{}", o.stderr);
    assert_eq!(files_under(&t.out()), before);
}

#[test]
fn a_helper_joins_a_running_study_and_steals() {
    let one = r#"{"solo": {"weight": 1, "cores": 1}}"#;
    let s = Study::with(&sleepy(30), one, "");
    let solo = spawn(&s, &["-M", "solo"], "0.15");
    let results = s.machine_dir("solo").join("results.csv");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read(&results).is_ok_and(|d| d.iter().filter(|&&b| b == b'\n').count() > 1)
    }));
    let helper = spawn(&s, &["--helper", "spare", "--threads", "2"], "0.01");
    assert_eq!(finish(helper), 0);
    assert_eq!(finish(solo), 0);
    let rows = ok_rows(&s, "out", &["solo", "spare"]);
    assert_eq!(rows.len(), 30);
    assert!(rows.values().all(|by| by.len() == 1), "{rows:?}");
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (own, stolen) = credit(&summary, "spare");
    assert_eq!(own, 0);
    assert!(stolen > 0, "{summary}");
    assert_eq!(s.manifest("spare")["balance"]["helper"], true);
    // A calibrated machines file is for the machines of the plan: the helper is not in it.
    let o = s.output(&[
        "merge",
        "out",
        "-o",
        "m2",
        "--write-machines",
        "calibrated.json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let calibrated = read_json(&s.join("calibrated.json"));
    assert!(
        calibrated.get("solo").is_some() && calibrated.get("spare").is_none(),
        "{calibrated}"
    );
    // Its jobs run as the helper ($JOBSPLIT_MACHINE), not as a machine of the plan.
    let out: Vec<String> = s
        .log("spare")
        .into_iter()
        .filter(|l| l.stream == "out")
        .map(|l| l.text)
        .collect();
    assert_eq!(out.len() as u64, stolen, "{out:?}");
    assert!(out.iter().all(|l| l.ends_with(" on spare")), "{out:?}");
}

#[test]
fn a_late_host_finding_everything_claimed_exits_0_at_once() {
    let s = Study::with(&sleepy(30), THREE, "");
    let a = spawn(&s, &["-M", "a"], "0");
    let b = spawn(&s, &["-M", "b"], "0");
    assert_eq!(finish(a), 0);
    assert_eq!(finish(b), 0);
    // c never started: a and b took its share.
    let late = s
        .std_cmd()
        .args(["run", "--yes", "--steal", "-M", "c"])
        .env("SLEEP", "10")
        .output()
        .unwrap();
    assert_eq!(late.status.code(), Some(0), "{}", text(&late.stderr));
    let rows = ok_rows(&s, "out", &["a", "b", "c"]);
    assert_eq!(rows.len(), 30);
    assert!(!rows.values().any(|by| by.contains(&"c".to_owned())));
    let (o, summary) = merge(&s, &["out"], "merged");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(summary["missing"], 0);
}
