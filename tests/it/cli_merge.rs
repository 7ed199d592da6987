//! merge, status and rescue through the real binary.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{read_json, read_log, Results, Study};

const MACHINES: &str = r#"{"a": [1, 1], "b": [2, 1], "c": {"weight": 1, "cores": 2}}"#;

/// Jobs that report their index and, in a column named after the machine, a 1.
fn study(n: usize) -> Study {
    let jobs: Vec<String> = (0..n)
        .map(|_| r#"printf '{"v": %s, "on_%s": 1}' "$JOBSPLIT_JOB_INDEX" "$JOBSPLIT_MACHINE" > "$JOBSPLIT_RESULT"; echo "line of $JOBSPLIT_JOB_INDEX""#.to_owned())
        .collect();
    Study::with(&jobs, MACHINES, "seed = \"merge\"")
}

fn run_all(s: &Study, machines: &[&str], extra: &[&str]) {
    for m in machines {
        s.run(m).args(extra).args(["--quiet"]).assert().success();
    }
}

fn merge(s: &Study, args: &[&str]) -> std::process::Output {
    s.cmd().arg("merge").args(args).output().unwrap()
}

fn hashes(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    crate::harness::files_under(dir)
}

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
fn merge_refuses_what_does_not_belong_together() {
    let s = study(10);
    run_all(&s, &["a", "b"], &[]);
    // The same jobs with another seed: not the same study (the jobs' randomness differs).
    s.run("c")
        .args(["--seed", "other", "--out", "other", "--quiet"])
        .assert()
        .success();
    let out = merge(&s, &["out", "other", "--out", "m"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("seed") && err.contains("out/a") && err.contains("other/c"),
        "{err}"
    );
    assert!(!s.join("m").exists());

    // Another work: new [params]. The message names both directories.
    let config = std::fs::read_to_string(s.join("jobsplit.toml")).unwrap();
    s.write("params.toml", format!("{config}\n[params]\nx = 1\n"));
    s.run("c")
        .args(["--config", "params.toml", "--out", "work2", "--quiet"])
        .assert()
        .success();
    let out = merge(&s, &["out", "work2", "--out", "m"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("holds work") && err.contains("out/a") && err.contains("work2/c"),
        "{err}"
    );
    assert!(!s.join("m").exists());

    std::fs::create_dir_all(s.join("empty")).unwrap();
    let out = merge(&s, &["empty", "--out", "m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no manifest.json"));

    copy_dir(&s.machine_dir("a"), &s.join("copy/a"));
    let out = merge(&s, &["out", "copy", "--out", "m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the same machine twice"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn damaged_inputs_are_merged_with_warnings() {
    let s = study(30);
    run_all(&s, &["a", "b", "c"], &[]);
    // a: a torn last row; b: compressed results; c: a log cut mid-member.
    let a = s.machine_dir("a").join("results.csv");
    let data = std::fs::read(&a).unwrap();
    std::fs::write(&a, &data[..data.len() - 7]).unwrap();
    let b = s.machine_dir("b").join("results.csv");
    let raw = std::fs::read(&b).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    std::fs::write(
        s.machine_dir("b").join("results.csv.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::remove_file(&b).unwrap();
    let c = s.machine_dir("c").join("log.gz");
    let log = std::fs::read(&c).unwrap();
    std::fs::write(&c, &log[..log.len() - 5]).unwrap();

    let out = merge(&s, &["out", "--out", "m"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one job of a is lost with its torn row: {err}"
    );
    assert!(err.contains("cut short"), "{err}");
    // The torn row is a's last job: the one missing, and named in a warning.
    let torn = String::from_utf8_lossy(&data);
    let last = torn.lines().last().unwrap();
    let missing = std::fs::read_to_string(s.join("m/missing.txt")).unwrap();
    assert_eq!(missing, format!("{}\n", last.split(',').next().unwrap()));
    assert!(
        err.lines().any(|l| l.starts_with("jobsplit: warning: ")
            && l.contains("a/results.csv")
            && l.contains("cut short")),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("jobsplit: warning: ") && l.contains("c/log.gz")),
        "{err}"
    );
    let r = Results::read(&s.join("m/results.csv"));
    assert_eq!(r.rows.len(), 29);
    assert!(
        r.rows.iter().any(|row| row.get("machine") == "b"),
        "b's rows from results.csv.gz"
    );

    // The merged log holds every line of a and b, and c's lines up to the cut.
    let merged = read_log(&s.join("m/log.gz"));
    let count = |lines: &[crate::harness::LogLine]| lines.len();
    let (a_lines, b_lines) = (s.log("a"), s.log("b"));
    let c_whole = whole_members(&s.machine_dir("c").join("log.gz"));
    assert!(c_whole > 0);
    assert!(
        merged.len() >= count(&a_lines) + count(&b_lines) + c_whole,
        "merged {} lines, a {} b {} c (whole members) {c_whole}",
        merged.len(),
        a_lines.len(),
        b_lines.len()
    );
    assert!(merged.windows(2).all(|w| w[0].time <= w[1].time));
}

/// The lines in the whole gzip members at the start of a file cut short.
fn whole_members(path: &Path) -> usize {
    use std::io::Read as _;
    let data = std::fs::read(path).unwrap();
    let mut rest: &[u8] = &data;
    let mut lines = 0;
    while !rest.is_empty() {
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        let mut text = String::new();
        if dec.read_to_string(&mut text).is_err() {
            break;
        }
        lines += text.lines().count();
        rest = dec.into_inner();
    }
    lines
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
fn merge_refuses_hosts_that_ran_with_different_seeds() {
    // Two hosts whose shares happen to be disjoint and cover the work, but one ran with another
    // seed: no job ran twice, yet the jobs' randomness comes from two studies.
    let s = study(6);
    s.write("ab.json", r#"{"a": [1, 1], "b": [1, 1]}"#);
    let plan = s.plan_json(&["--machines", "ab.json"]);
    let assigned = crate::harness::assignment(&plan);
    let a_share: Vec<u64> = assigned
        .iter()
        .filter(|(_, m)| m.as_str() == "a")
        .map(|(i, _)| *i)
        .collect();
    let rest: Vec<u64> = (0..6).filter(|i| !a_share.contains(i)).collect();
    // A seed under which b's share of a two-machine plan is exactly what a leaves.
    let (seed, b_share) = (0..200)
        .map(|k| format!("other-{k}"))
        .find_map(|seed| {
            let p = s.plan_json(&["--seed", &seed, "--machines", "ab.json"]);
            let mut b: Vec<u64> = p["machines"][1]["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            b.sort_unstable();
            (b == rest).then_some((seed, b))
        })
        .expect("some seed gives b the rest");
    assert!(!b_share.is_empty());
    s.run("a")
        .args(["--machines", "ab.json", "--quiet"])
        .assert()
        .success();
    s.run("b")
        .args([
            "--seed",
            &seed,
            "--machines",
            "ab.json",
            "--out",
            "other",
            "--quiet",
        ])
        .assert()
        .success();
    let out = merge(&s, &["out", "other", "--out", "m"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("seed") && err.contains("out/a") && err.contains("other/b"),
        "{err}"
    );
    assert!(!s.join("m").exists(), "nothing written");
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
fn a_refused_merge_writes_nothing() {
    let s = study(12);
    run_all(&s, &["a", "b", "c"], &[]);
    // --write-machines naming a file that exists: refused before anything is written.
    s.write("calibrated.json", "{}\n");
    let out = merge(
        &s,
        &["out", "--out", "m", "--write-machines", "calibrated.json"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("calibrated.json") && err.contains("already exists"),
        "{err}"
    );
    assert!(!s.join("m").exists(), "merge wrote m/ and then refused");
    assert_eq!(
        std::fs::read_to_string(s.join("calibrated.json")).unwrap(),
        "{}\n"
    );

    // A corrupt row in the middle of an input (not a torn tail): named, and no m/ left behind.
    let path = s.machine_dir("b").join("results.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() >= 3, "b has at least two rows");
    lines[1] = "not,a,row".to_owned();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let before = hashes(&s.out());
    let out = merge(&s, &["out", "--out", "m"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("b/results.csv:2"), "{err}");
    assert!(!s.join("m").exists(), "a failed merge left m/ behind");
    assert_eq!(hashes(&s.out()), before);
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
