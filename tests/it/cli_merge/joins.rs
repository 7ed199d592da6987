//! Merges that go through: every host once, a lost host rescued, a later success, the
//! merged log in time order, and status of calibrated, running and finished hosts.

use super::*;

#[test]
fn merge_joins_every_host_exactly_once() {
    let s = study(30);
    run_all(&s, &["a", "b", "c"], &[]);
    let before = hashes(&s.out());
    let out = merge(&s, &["out", "--out", "merged"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hashes(&s.out()), before, "merge modified its inputs");

    let r = Results::read(&s.join("merged/results.csv"));
    let indices: Vec<u64> = r.rows.iter().map(|row| row.index()).collect();
    assert_eq!(indices, (0..30).collect::<Vec<_>>());
    for col in ["v", "on_a", "on_b", "on_c"] {
        assert!(
            r.result_columns().iter().any(|c| c == col),
            "{col} in {:?}",
            r.result_columns()
        );
    }
    let plan = s.plan_json(&[]);
    let assigned = crate::harness::assignment(&plan);
    for row in &r.rows {
        assert_eq!(row.status(), "ok");
        assert_eq!(row.get("v"), row.index().to_string());
        let m = &assigned[&row.index()];
        assert_eq!(row.get("machine"), m);
        assert_eq!(row.get(&format!("on_{m}")), "1");
    }
    assert_eq!(
        std::fs::read_to_string(s.join("merged/missing.txt")).unwrap(),
        ""
    );
    let summary = read_json(&s.join("merged/summary.json"));
    assert_eq!(summary["jobs_total"], 30);
    assert_eq!(summary["ok"], 30);
    assert_eq!(summary["missing"], 0);
    assert_eq!(summary["machines"].as_array().unwrap().len(), 3);
    let log = read_log(&s.join("merged/log.gz"));
    assert!(
        log.windows(2).all(|w| w[0].time <= w[1].time),
        "merged log out of time order"
    );
    assert_eq!(log.iter().filter(|l| l.stream == "out").count(), 30);
}

#[test]
fn a_lost_host_is_missing_then_rescued() {
    let s = study(40);
    run_all(&s, &["a", "b", "c"], &[]);
    let lost = s.results("b");
    std::fs::remove_dir_all(s.machine_dir("b")).unwrap();
    let out = merge(&s, &["out", "--out", "m1"]);
    assert_eq!(out.status.code(), Some(1));
    let mut want: Vec<u64> = lost.rows.iter().map(|r| r.index()).collect();
    want.sort_unstable();
    let missing: Vec<u64> = std::fs::read_to_string(s.join("m1/missing.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(missing, want);

    // Rescue on the two hosts that are left, with a machines file of just them.
    s.write("left.json", r#"{"a": [1, 1], "c": [1, 2]}"#);
    let plan = s.plan_json(&[]);
    for m in ["a", "c"] {
        s.run(m)
            .args([
                "--rescue",
                "m1",
                "--machines",
                "left.json",
                "--out",
                "rescue",
                "--quiet",
            ])
            .assert()
            .success();
        let manifest = read_json(&s.join(format!("rescue/{m}/manifest.json")));
        assert_ne!(manifest["plan_digest"], plan["plan_digest"]);
        assert_eq!(manifest["work_digest"], plan["work_digest"]);
        assert_eq!(manifest["excluded"], 40 - want.len() as u64);
    }
    let rescued: Vec<u64> = ["a", "c"]
        .iter()
        .flat_map(|m| {
            Results::read(&s.join(format!("rescue/{m}/results.csv")))
                .rows
                .into_iter()
                .map(|r| r.index())
        })
        .collect();
    let mut sorted = rescued.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, want, "the rescue ran exactly the missing jobs");

    let out = merge(&s, &["out", "rescue", "--out", "m2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("plans of the same work"));
    let r = Results::read(&s.join("m2/results.csv"));
    assert_eq!(r.rows.len(), 40);
    assert!(r
        .rows
        .iter()
        .all(|row| row.status() == "ok" && row.get("v") == row.index().to_string()));
    // Rescued jobs keep their keys.
    for row in lost.rows.iter() {
        assert_eq!(r.of(row.index())[0].get("key"), row.get("key"));
    }
}

#[test]
fn calibrated_machines_and_status() {
    let s = study(12);
    run_all(&s, &["a", "b", "c"], &[]);
    let out = merge(
        &s,
        &["out", "--out", "m", "--write-machines", "calibrated.json"],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("suggested"), "{stdout}");
    s.cmd()
        .args(["plan", "--machines", "calibrated.json"])
        .assert()
        .success();
    let again = merge(
        &s,
        &["out", "--out", "m", "--write-machines", "calibrated.json"],
    );
    assert_eq!(again.status.code(), Some(2));

    let out = s.cmd().args(["status", "out"]).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("finished") && table.contains("total: 12/12"),
        "{table}"
    );
    let out = s.cmd().args(["status", "out", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["done"], 12);
    assert_eq!(json["machines"].as_array().unwrap().len(), 3);
}

#[test]
fn a_later_success_beats_an_earlier_failure() {
    // Jobs fail until a marker exists.
    let s = Study::new();
    let jobs: Vec<String> = (0..8)
        .map(|_| {
            format!(
                "test -e {}/fixed && printf '{{\"ok\": 1}}' > \"$JOBSPLIT_RESULT\"",
                s.path().display()
            )
        })
        .collect();
    s.setup(&jobs, r#"{"a": [1, 2]}"#, "");
    s.run("a").arg("--quiet").assert().code(1);
    s.cmd()
        .args(["merge", "out", "--out", "m1"])
        .assert()
        .code(1);
    std::fs::write(s.join("fixed"), "").unwrap();
    s.run("a")
        .args(["--rescue", "m1", "--out", "rescue", "--quiet"])
        .assert()
        .success();
    let out = merge(&s, &["out", "rescue", "--out", "m2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = Results::read(&s.join("m2/results.csv"));
    assert!(r
        .rows
        .iter()
        .all(|row| row.status() == "ok" && row.get("ok") == "1"));
}

#[test]
fn merged_log_is_in_time_order_while_jobs_print_at_once() {
    // Jobs on two cores per host print many lines at the same time, on stdout and stderr.
    let jobs: Vec<String> = (0..6)
        .map(|_| "seq 1 15000; seq 1 15000 >&2".to_owned())
        .collect();
    let s = Study::with(&jobs, r#"{"a": [1, 2], "b": [1, 2]}"#, "");
    run_all(&s, &["a", "b"], &[]);
    for m in ["a", "b"] {
        let log = s.log(m);
        assert!(
            log.windows(2).all(|w| w[0].time <= w[1].time),
            "{m}/log.gz out of time order"
        );
    }
    let out = merge(&s, &["out", "--out", "m"]);
    assert!(out.status.success());
    let log = read_log(&s.join("m/log.gz"));
    assert_eq!(
        log.iter().filter(|l| l.stream != "event").count(),
        6 * 30_000
    );
    let bad = log.windows(2).filter(|w| w[0].time > w[1].time).count();
    assert_eq!(bad, 0, "merged log lines out of time order");
}

#[test]
fn status_of_a_running_host_then_a_finished_one() {
    let jobs: Vec<String> = (0..6).map(|_| "sleep 0.25".to_owned()).collect();
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    let mut child = s
        .std_cmd()
        .args(["run", "--machine", "solo", "--yes", "--quiet"])
        .spawn()
        .unwrap();
    let manifest = s.machine_dir("solo").join("manifest.json");
    assert!(
        crate::harness::wait_until(std::time::Duration::from_secs(10), || manifest.exists()),
        "the run never wrote its manifest"
    );
    let out = s.cmd().args(["status", "out", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &json["machines"][0];
    assert_eq!(m["machine"], "solo");
    assert_eq!(m["state"], "running", "{json}");
    assert_eq!(m["share"], 6);
    assert!(m["done"].as_u64().unwrap() < 6, "{json}");
    let table = s.cmd().args(["status", "out"]).output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("running"));

    let status = crate::harness::wait_child(&mut child, std::time::Duration::from_secs(30));
    assert!(status.success());
    let out = s.cmd().args(["status", "out", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["machines"][0]["state"], "finished");
    assert_eq!(json["done"], 6);
    assert_eq!(json["ok"], 6);
    assert_eq!(json["jobs_total"], 6);
}
