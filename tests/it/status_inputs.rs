//! What `status` and `merge` read: the outputs of one study, with manifests as `run` writes
//! them. Anything else is refused with one line and exit 2, nothing written (issue 19, defects
//! 9 and 16).

use crate::harness::{Out, Study};

fn two_studies() -> Study {
    let s = Study::with(
        &["echo 1".to_owned(), "echo 2".to_owned()],
        r#"{"a": [1, 1]}"#,
        "",
    );
    s.run("a")
        .args(["--out", "all/one", "--quiet"])
        .assert()
        .success();
    // The same job list with [params]: another work.
    let config = std::fs::read_to_string(s.join("jobsplit.toml")).unwrap();
    s.write("other.toml", format!("{config}\n[params]\nx = 1\n"));
    s.run("a")
        .args(["--config", "other.toml", "--out", "all/two", "--quiet"])
        .assert()
        .success();
    s
}

fn refused(out: &Out, names: &[&str]) {
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "", "nothing printed on stdout");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    for n in names {
        assert!(out.stderr.contains(n), "names {n}: {}", out.stderr);
    }
}

#[test]
fn status_refuses_the_outputs_of_two_studies_instead_of_adding_them_up() {
    let s = two_studies();
    // Each study alone is fine.
    for dir in ["all/one", "all/two"] {
        let out = s.output(&["status", dir]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("total: 2/2 done"), "{}", out.stdout);
    }
    // Both, as two arguments or as one tree: refused, naming both directories.
    let out = s.output(&["status", "all/one", "all/two"]);
    refused(&out, &["all/one/a", "all/two/a", "one study"]);
    let out = s.output(&["status", "all", "--json"]);
    refused(&out, &["all/one/a", "all/two/a", "one study"]);
}

#[test]
fn a_manifest_whose_digest_is_not_hex_is_refused_by_status_and_merge() {
    let s = Study::with(
        &["echo 1".to_owned(), "echo 2".to_owned()],
        r#"{"a": [1, 1]}"#,
        "",
    );
    s.run("a").arg("-q").assert().success();
    let path = s.machine_dir("a").join("manifest.json");
    let good = std::fs::read(&path).unwrap();
    for (field, value) in [
        ("plan_digest", format!("a{}", "é".repeat(40))),
        ("work_digest", "z".repeat(64)),
        ("plan_digest", "ab".to_owned()),
        ("first_key", "é".repeat(16)),
    ] {
        let mut m: serde_json::Value = serde_json::from_slice(&good).unwrap();
        m[field] = value.into();
        std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        let out = s.output(&["status", "out"]);
        refused(&out, &["out/a/manifest.json", field]);
        let out = s.output(&["merge", "out", "--out", "m"]);
        refused(&out, &["out/a/manifest.json", field]);
        assert!(!s.join("m").exists(), "merge wrote nothing");
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(s.output(&["status", "out"]).code, 0);
}
