//! Rescue of a dead host (issue 14): `plan --rescue merged` previews the rescue plan, and a
//! rescue whose machines file still lists a machine none of whose jobs is ok warns (the dead
//! host would get a share again).

use crate::harness::{text, Study};

const THREE: &str = r#"{"a": [1, 1], "b": [1, 1], "c": [1, 1]}"#;

/// A study of 30 jobs run on a, b and c, with b's output lost, merged into `m1`.
fn lost_b() -> Study {
    let jobs: Vec<String> = (0..30).map(|_| "true".to_owned()).collect();
    let s = Study::with(&jobs, THREE, "");
    for m in ["a", "b", "c"] {
        s.run(m).arg("--quiet").assert().success();
    }
    std::fs::remove_dir_all(s.machine_dir("b")).unwrap();
    let out = s.output(&["merge", "out", "--out", "m1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("drop dead ones"), "{}", out.stdout);
    s
}

#[test]
fn plan_rescue_previews_the_rescue_plan_and_warns_of_the_dead_machine() {
    let s = lost_b();
    let b_share = s.plan_json(&[])["machines"][1]["jobs"]
        .as_array()
        .unwrap()
        .len() as u64;
    let before = s.files();
    let out = s
        .cmd()
        .args(["plan", "--json", "--rescue", "m1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["excluded"], 30 - b_share, "{plan}");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("warning: machine b has none of its") && err.contains("drop it"),
        "{err}"
    );
    assert_eq!(s.files(), before, "a preview writes nothing");

    // The run of the same rescue plan has the same digest, and warns too.
    let out = s
        .run("a")
        .args(["--rescue", "m1", "--out", "rescue", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: machine b has none"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.join("rescue/a/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["plan_digest"], plan["plan_digest"]);

    // Without b in the machines file: no warning.
    s.write("live.json", r#"{"a": [1, 1], "c": [1, 1]}"#);
    let out = s.output(&["plan", "--rescue", "m1", "--machines", "live.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}
