//! `merge` and `status` never skip results silently: a directory holding results.csv but no
//! manifest.json is refused, naming it and the fix, before anything is written (it used to be
//! skipped, and merge then suggested rescuing the jobs it held ok rows for).

use crate::harness::{files_under, text, Study};

const TWO: &str = r#"{"a": [1, 1], "b": [1, 1]}"#;

fn study() -> Study {
    let jobs: Vec<String> = (0..8).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, TWO, "");
    for m in ["a", "b"] {
        s.run(m).arg("--quiet").assert().code(0);
    }
    s
}

#[test]
fn merge_refuses_results_without_a_manifest() {
    let s = study();
    std::fs::remove_file(s.machine_dir("b").join("manifest.json")).unwrap();
    let before = files_under(s.path());
    let out = s
        .cmd()
        .args(["merge", "out", "--out", "m"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("out/b") && err.contains("manifest.json"),
        "names the directory and what is missing: {err}"
    );
    assert!(!err.contains("rescue"), "{err}");
    assert_eq!(before, files_under(s.path()), "nothing written");

    // Named directly, the same.
    let out = s
        .cmd()
        .args(["merge", "out/a", "out/b", "--out", "m"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("out/b"), "{err}");
    assert_eq!(before, files_under(s.path()), "nothing written");

    // Compressed results count as results too.
    let csv = s.machine_dir("b").join("results.csv");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(&csv).unwrap()).unwrap();
    std::fs::write(csv.with_extension("csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::remove_file(&csv).unwrap();
    let out = s
        .cmd()
        .args(["merge", "out", "--out", "m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!s.join("m").exists());
}

#[test]
fn status_refuses_results_without_a_manifest() {
    let s = study();
    std::fs::remove_file(s.machine_dir("b").join("manifest.json")).unwrap();
    let out = s.cmd().args(["status", "out"]).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("out/b") && err.contains("manifest.json"),
        "{err}"
    );
}

#[test]
fn a_merge_output_among_the_inputs_is_still_passed_over() {
    let s = study();
    s.cmd()
        .args(["merge", "out", "--out", "out-merged"])
        .assert()
        .code(0);
    std::fs::rename(s.join("out-merged"), s.join("out/merged")).unwrap();
    s.cmd()
        .args(["merge", "out", "--out", "m"])
        .assert()
        .code(0);
}
