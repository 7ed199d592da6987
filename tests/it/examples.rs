//! Every bundled example runs, so none can rot: the shell-command sweep split over three
//! machines and merged, and the map() benchmark on a small input. (The Monte Carlo pi example
//! runs in tests/run_library.rs.)

use std::path::Path;
use std::process::Command;

use crate::harness::{build_example, Results};

#[test]
fn sweep_example_runs_on_three_machines_and_merges() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for m in ["ws1", "ws2", "server"] {
        let o = Command::new(crate::harness::bin())
            .current_dir(root)
            .args([
                "run",
                "--config",
                "examples/sweep/jobsplit.toml",
                "--machine",
                m,
                "--yes",
                "--quiet",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let merged = tmp.path().join("merged");
    let o = Command::new(crate::harness::bin())
        .current_dir(root)
        .arg("merge")
        .arg(&out)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = Results::read(&merged.join("results.csv"));
    assert_eq!(r.rows.len(), 24);
    for row in &r.rows {
        assert_eq!(row.status(), "ok");
        assert!(row.get("x").parse::<f64>().is_ok(), "x = {}", row.get("x"));
    }
}

#[test]
fn bench_map_example_prints_its_figures() {
    let exe = build_example("bench_map");
    let o = Command::new(exe).arg("20000").output().unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["map_ns_per_job", "rayon_ns_per_job", "seq_ns_per_job"] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k} in {v}");
    }
}
