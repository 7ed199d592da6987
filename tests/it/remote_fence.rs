//! Declaring a machine dead in a `--steal-remote` study (issue 21, docs/remote.md) with the
//! ssh stand-in of remote_fake: `launch --rescue merged --dead M` fences M here and on every
//! host's disk before the rescue starts, a plain launch starts nothing for M, M's run starts no
//! other block, and merge reports the jobs that ran both on M and in the rescue (kept once).
//! The real multi-host suite is tests/remote/steal_faults.sh.

use std::path::{Path, PathBuf};

use crate::harness::bin;
use crate::remote_fake::{text, Lab};

/// The second host's copy of the study (`dead` on h2, directory `st`).
fn second_host(lab: &Lab) -> PathBuf {
    let host = lab.dir.path().join("homes/h2/st");
    let state = host.join(".jobsplit-remote");
    std::fs::create_dir_all(&state).unwrap();
    for f in ["jobs.txt", "machines.json", "jobsplit.toml"] {
        std::fs::copy(lab.study().join(f), host.join(f)).unwrap();
    }
    let arch = std::env::consts::ARCH;
    std::fs::copy(bin(), state.join(format!("jobsplit-{arch}"))).unwrap();
    host
}

/// The one stealing layout directory under `out`.
fn layout(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join(".jobsplit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("steal-")
        })
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn ok_rows(csv: &Path) -> Vec<String> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some("ok"))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_machine_declared_dead_is_fenced_everywhere_and_what_ran_twice_is_reported() {
    let lab = Lab::new();
    std::fs::write(
        lab.study().join("machines.json"),
        r#"{"a b": {"weight": 1, "cores": 1, "ssh": "h1", "dir": "st it's"},
           "dead": {"weight": 1, "cores": 1, "ssh": "h2", "dir": "st"}}"#,
    )
    .unwrap();
    let h1 = lab.host_study();
    let h2 = second_host(&lab);
    let steal = ["--yes", "--quiet", "--steal-remote", "--steal-block", "1"];
    for (host, m) in [(&h1, "a b"), (&h2, "dead")] {
        let run = lab.jobsplit(host, &[&["run", "--machine", m][..], &steal].concat());
        assert!(run.status.success(), "{}", text(&run));
    }
    let dead_jobs = ok_rows(&h2.join("out/dead/results.csv"));
    assert!(!dead_jobs.is_empty());
    // h2 is out of reach when the user gives up on it: only a b is collected.
    let merged = lab.jobsplit(
        &lab.study(),
        &["collect", "--machine", "a b", "--merge", "--out", "merged"],
    );
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));

    let launch = lab.jobsplit(
        &lab.study(),
        &["launch", "--rescue", "merged", "--dead", "dead"],
    );
    let said = text(&launch);
    assert_eq!(launch.status.code(), Some(0), "{said}");
    assert!(
        said.contains("a b (h1): fenced dead (declared dead)"),
        "{said}"
    );
    assert!(
        said.contains("dead (h2): fenced dead (declared dead)"),
        "{said}"
    );
    for out in [lab.study().join("out"), h1.join("out"), h2.join("out")] {
        assert!(layout(&out).join("fenced/dead").is_file(), "{out:?}");
    }
    // M's run, come back, starts no other block: not even a job it holds and is asked to rerun.
    let first = &dead_jobs[0];
    let back = lab.jobsplit(
        &h2,
        &[&["run", "--machine", "dead", "--rerun", first][..], &steal].concat(),
    );
    assert!(
        text(&back).contains("machine dead was declared dead (fenced in"),
        "{}",
        text(&back)
    );
    assert_eq!(ok_rows(&h2.join("out/dead/results.csv")), dead_jobs);
    let plain = lab.jobsplit(
        &lab.study(),
        &["launch", "--", "--steal-remote", "--steal-block", "1"],
    );
    assert!(
        text(&plain).contains("dead (h2): declared dead (fenced): nothing started"),
        "{}",
        text(&plain)
    );

    // The rescue ran dead's jobs again; once dead's rows are collected, merge keeps each once
    // and reports every one.
    for cmd in [
        &[
            "watch",
            "--rescue",
            "merged",
            "--dead",
            "dead",
            "--interval",
            "0.2s",
        ][..],
        &["collect", "--rescue", "merged", "--dead", "dead"],
        &["collect"],
    ] {
        let o = lab.jobsplit(&lab.study(), cmd);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}: {}", text(&o));
    }
    let m2 = lab.jobsplit(&lab.study(), &["merge", "out", "out-rescue", "--out", "m2"]);
    let said = text(&m2);
    assert_eq!(m2.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "machine dead was declared dead (fenced) and ran on: {} jobs ran both there and elsewhere",
            dead_jobs.len()
        )),
        "{said}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lab.study().join("m2/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["balance"]["fenced"],
        serde_json::json!([{"machine": "dead", "ran_twice": dead_jobs.len()}])
    );
    let mut all = ok_rows(&lab.study().join("m2/results.csv"));
    all.sort();
    assert_eq!(all, ["0", "1", "2", "3", "4", "5"]);
}
