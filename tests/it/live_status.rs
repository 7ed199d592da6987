//! Live status through the real binary: running jobs in status.json, `status` listing planned
//! hosts that have not started and stale hosts, `--json` names, `--watch` without a terminal.

use std::time::{Duration, Instant};

use crate::harness::{text, Study};

const MACHINES: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}, "c": {"weight": 1, "cores": 1}}"#;

/// Waits (a hang guard, not a timing) until `f` gives a value.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_json(s: &Study) -> serde_json::Value {
    let out = s.output(&["status", "out", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("status --json prints JSON")
}

/// A run the test started, killed if the test fails before it ends (else it would hold the
/// test's output pipes).
pub(crate) struct Reaped(pub(crate) std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // SIGTERM: the run ends its jobs' process groups, then exits.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn status_json_lists_a_running_job_while_it_runs() {
    // One machine, two jobs: each waits for a file, so it is running until the test lets it go.
    let jobs = vec!["while [ ! -e release ]; do sleep 0.05; done".to_owned(); 2];
    let s = Study::with(&jobs, r#"{"solo": {"weight": 1, "cores": 1}}"#, "");
    let mut child = Reaped(
        s.std_cmd()
            .args([
                "run",
                "--machine",
                "solo",
                "--yes",
                "--quiet",
                "--threads",
                "1",
            ])
            .spawn()
            .unwrap(),
    );
    let dir = s.machine_dir("solo");
    let running = wait_for("status.json lists a running job", || {
        let bytes = std::fs::read(dir.join("status.json")).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let r = v["running"].as_array()?.clone();
        (!r.is_empty()).then_some((v, r))
    });
    let (file, jobs) = running;
    assert_eq!(jobs.len(), 1, "one thread runs one job: {file}");
    assert!(jobs[0]["index"].as_u64().unwrap() < 2);
    assert_eq!(jobs[0]["attempt"], 1);
    assert!(jobs[0]["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(file["interval_s"].as_f64().unwrap() > 0.0);
    // `status` shows it under its host.
    let table = s.output(&["status", "out"]).stdout;
    assert!(table.contains("running: "), "{table}");
    let json = status_json(&s);
    assert_eq!(json["running"], 1);
    assert_eq!(json["machines"][0]["running"][0]["index"], jobs[0]["index"]);

    s.write("release", "");
    assert!(child.0.wait().unwrap().success());
    let end: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
    assert_eq!(end["running"].as_array().unwrap().len(), 0, "{end}");
    assert_eq!(end["state"], "finished");
}

/// a and b ran, c never started; b is then made to look like a host killed long ago.
fn study_with_stale_b_and_planned_c() -> Study {
    let s = Study::with(&vec!["true".to_owned(); 9], MACHINES, "");
    for m in ["a", "b"] {
        s.run(m).arg("--quiet").assert().success();
    }
    let b = s.machine_dir("b");
    for file in ["manifest.json", "status.json"] {
        let path = b.join(file);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["state"] = "running".into();
        v["updated_at"] = "2020-01-01T00:00:00Z".into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    }
    s
}

#[test]
fn status_lists_a_planned_machine_and_a_stale_host() {
    let s = study_with_stale_b_and_planned_c();
    let table = s.output(&["status", "out"]).stdout;
    let line = |m: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{m} ")))
            .unwrap_or_else(|| panic!("no row for {m}: {table}"))
            .to_owned()
    };
    assert!(line("a").contains("finished"), "{table}");
    assert!(line("b").contains("running (stale?)"), "{table}");
    assert!(line("c").contains("planned"), "{table}");
    assert!(line("c").contains("0/"), "{table}");

    let json = status_json(&s);
    let machines = json["machines"].as_array().unwrap();
    let by = |m: &str| machines.iter().find(|v| v["machine"] == m).unwrap().clone();
    assert_eq!(by("b")["stale"], true);
    assert_eq!(by("a")["stale"], false);
    assert_eq!(by("c")["state"], "planned");
    assert!(by("c")["dir"].is_null());
    assert_eq!(json["planned"], 9, "the shares of all three hosts: {json}");
    assert_eq!(json["ended"], false);
}

#[test]
fn status_and_summary_json_use_the_names_of_the_other_files() {
    let s = Study::with(&vec!["true".to_owned(); 6], MACHINES, "");
    for m in ["a", "b", "c"] {
        s.run(m).arg("--quiet").assert().success();
    }
    let json = status_json(&s);
    let manifest = s.manifest("a");
    let a = &json["machines"][0];
    assert_eq!(a["machine"], "a");
    assert_eq!(a["plan_digest"], manifest["plan_digest"], "the full digest");
    assert!(a.get("plan").is_none() && a.get("name").is_none(), "{a}");
    assert_eq!(json["ended"], true);
    // manifest.json lists the plan's machines.
    let planned = manifest["planned"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    assert_eq!(planned[2]["machine"], "c");

    let out = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.join("merged/summary.json")).unwrap()).unwrap();
    let m0 = &summary["machines"][0];
    assert_eq!(m0["machine"], "a", "{m0}");
    assert!(m0.get("name").is_none(), "{m0}");
}

#[test]
fn watch_without_a_terminal_prints_plain_tables_until_the_study_ends() {
    let s = Study::with(
        &vec!["true".to_owned(); 4],
        r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}}"#,
        "",
    );
    for m in ["a", "b"] {
        s.run(m).arg("--quiet").assert().success();
    }
    let out = s
        .cmd()
        .args(["status", "out", "--watch", "--interval", "100ms"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains('\x1b'),
        "no escapes off a terminal: {stdout:?}"
    );
    assert_eq!(
        stdout.matches("total: 4/4").count(),
        1,
        "ended: one round: {stdout}"
    );
}

#[test]
fn watch_stops_after_count_rounds_while_a_host_has_not_started() {
    let s = study_with_stale_b_and_planned_c();
    let out = s
        .cmd()
        .args([
            "status",
            "out",
            "--watch",
            "--interval",
            "50ms",
            "--count",
            "3",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("\ntotal: ").count(), 3, "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    // --json --watch: one compact object a line.
    let out = s
        .cmd()
        .args([
            "status",
            "out",
            "--watch",
            "--json",
            "--interval",
            "50ms",
            "--count",
            "2",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
}

/// `[run] status_interval` / `--status-interval` set how often status.json is written (it was
/// always 2 s); status.json says it (`interval_s`), and out-of-range values are refused.
#[test]
fn the_status_interval_is_configurable_and_checked() {
    let jobs = vec!["while [ ! -e release ]; do sleep 0.05; done".to_owned()];
    let s = Study::with(
        &jobs,
        r#"{"solo": {"weight": 1, "cores": 1}}"#,
        "[run]\nstatus_interval = 0.25\n",
    );
    let mut child = Reaped(
        s.std_cmd()
            .args(["run", "--machine", "solo", "--yes", "--quiet"])
            .spawn()
            .unwrap(),
    );
    let dir = s.machine_dir("solo");
    let file = wait_for("status.json is written while running", || {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("status.json")).ok()?).ok()?;
        (v["state"] == "running").then_some(v)
    });
    assert_eq!(file["interval_s"], 0.25, "{file}");
    s.write("release", "");
    assert!(child.0.wait().unwrap().success());

    // The flag beats the config; both refuse what is out of range, naming the key.
    let out = s
        .run("solo")
        .args(["--status-interval", "5s", "--fresh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let end: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
    assert_eq!(end["interval_s"], 5.0);
    let bad = s.output(&[
        "run",
        "--machine",
        "solo",
        "--yes",
        "--status-interval",
        "0",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("status interval"), "{}", bad.stderr);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[run]\nstatus_interval = \"2h\"\n[jobs]\nfile = \"jobs.txt\"\n",
    );
    let bad = s.output(&["run", "--machine", "solo", "--yes"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("status_interval"), "{}", bad.stderr);
    assert!(bad.stderr.contains("jobsplit.toml"), "{}", bad.stderr);
}

/// Before any host has started there is no manifest to read: `status` lists the study's planned
/// machines from its config (the one in the directory, or `--config`), and without one says how.
#[test]
fn status_before_any_host_started_lists_the_plan_or_says_how() {
    let jobs: Vec<String> = (0..9).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, MACHINES, "");
    let plan = s.plan_json(&[]);
    let json = status_json(&s);
    assert_eq!(json["jobs_total"], 9);
    assert_eq!(json["planned"], 9);
    assert_eq!(json["ended"], false);
    let machines = json["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 3);
    for (m, p) in machines.iter().zip(plan["machines"].as_array().unwrap()) {
        assert_eq!(m["state"], "planned");
        assert_eq!(m["machine"], p["name"]);
        assert_eq!(m["share"], p["jobs"].as_array().unwrap().len());
        assert_eq!(m["plan_digest"], plan["plan_digest"]);
    }
    let table = s.output(&["status", "out"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("planned"), "{}", table.stdout);

    // Without a config here, one line says what to pass; with --config it works again.
    std::fs::rename(s.join("jobsplit.toml"), s.join("study.toml")).unwrap();
    let o = s.output(&["status", "out"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("no host has started"), "{}", o.stderr);
    assert!(o.stderr.contains("--config"), "{}", o.stderr);
    let o = s.output(&["status", "out", "--config", "study.toml", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!s.join("out").exists(), "status writes nothing");
}
