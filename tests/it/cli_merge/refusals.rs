//! What merge refuses (writing nothing) and what it takes with a warning: inputs that do not
//! belong together, other seeds, damaged inputs.

use super::*;

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
