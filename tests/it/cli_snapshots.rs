//! Snapshots of what people read: help texts and the plan table. A change here is a change
//! users see; review it with `cargo insta review` (or INSTA_UPDATE=always) and commit it.

use std::path::Path;

use assert_cmd::Command;

fn stdout(args: &[&str]) -> String {
    let out = Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"))
        .env("COLUMNS", "100")
        .env_remove("JOBSPLIT_CONFIG")
        .env_remove("JOBSPLIT_MACHINE")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help_plan", &["plan", "--help"]),
        ("help_run", &["run", "--help"]),
        ("help_merge", &["merge", "--help"]),
        ("help_status", &["status", "--help"]),
        ("help_init", &["init", "--help"]),
        ("help_slurm_script", &["slurm-script", "--help"]),
        ("help_sge_script", &["sge-script", "--help"]),
    ] {
        insta::assert_snapshot!(name, stdout(args));
    }
}

#[test]
fn plan_tables() {
    insta::assert_snapshot!(
        "plan_table_lines",
        stdout(&[
            "plan",
            "--jobs",
            "lines/jobs.txt",
            "--machines",
            "lines/machines.json"
        ])
    );
    insta::assert_snapshot!(
        "plan_table_csv",
        stdout(&["plan", "--config", "csv/jobsplit.toml"])
    );
    insta::assert_snapshot!(
        "plan_table_shards",
        stdout(&["plan", "--jobs", "lines/jobs.txt", "--shard-count", "3"])
    );
}

#[test]
fn version() {
    let v = stdout(&["--version"]);
    assert_eq!(v.trim(), format!("jobsplit {}", env!("CARGO_PKG_VERSION")));
}
