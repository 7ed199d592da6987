//! `--steal-remote` on a job list that grows (issue 21 with issue 22, docs/remote.md), with the
//! ssh stand-in of remote_fake (each host a directory of its own, reached only through it):
//! `launch -- --steal-remote --follow` on three hosts of unlike speeds, the list appended twice
//! while they run and launched again each time, `watch` arranging steals epoch by epoch. Every
//! job runs once by the markers on the hosts' disks, blocks of the later epochs are stolen,
//! and merge proves every row by the claims on its owner's disk. The real multi-host suite is
//! tests/remote/steal.sh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{bin, clean_env, wait_until};
use crate::remote_fake::{text, Lab};

const HOSTS: [(&str, &str, &str); 3] = [
    ("slow", "h1", "0.6"),
    ("mid", "h2", "0.3"),
    ("fast", "h3", "0.05"),
];

/// A lab of three hosts: job `i` sleeps its host's `~/speed` seconds, then appends `i` to its
/// host's `~/marker`.
fn lab(jobs: u64) -> Lab {
    let lab = Lab::new();
    let study = lab.study();
    let list: String = (0..jobs).map(|i| format!("{i}\n")).collect();
    std::fs::write(study.join("jobs.txt"), list).unwrap();
    let machines: Vec<String> = HOSTS
        .iter()
        .map(|(m, h, _)| {
            format!(r#""{m}": {{"weight": 1, "cores": 1, "ssh": "{h}", "dir": "st"}}"#)
        })
        .collect();
    std::fs::write(
        study.join("machines.json"),
        format!("{{{}}}", machines.join(", ")),
    )
    .unwrap();
    std::fs::write(
        study.join("jobsplit.toml"),
        "seed = \"grow\"\n[jobs]\nfile = \"jobs.txt\"\ncommand = \"sleep $(cat ../speed); echo {} >> ../marker\"\n",
    )
    .unwrap();
    for (_, h, speed) in HOSTS {
        let home = home(&lab, h);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("speed"), speed).unwrap();
    }
    lab
}

fn home(lab: &Lab, host: &str) -> PathBuf {
    lab.dir.path().join("homes").join(host)
}

fn append(lab: &Lab, range: std::ops::Range<u64>) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(lab.study().join("jobs.txt"))
        .unwrap();
    let text: String = range.map(|i| format!("{i}\n")).collect();
    f.write_all(text.as_bytes()).unwrap();
}

/// How many times each job ran, by the markers of every host.
fn markers(lab: &Lab) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    for (_, h, _) in HOSTS {
        let text = std::fs::read_to_string(home(lab, h).join("marker")).unwrap_or_default();
        for line in text.lines() {
            *out.entry(line.trim().parse().unwrap()).or_default() += 1;
        }
    }
    out
}

fn launch(lab: &Lab) {
    let o = lab.jobsplit(
        &lab.study(),
        &[
            "launch",
            "--",
            "--steal-remote",
            "--follow",
            "--steal-block",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn watch(lab: &Lab) -> Child {
    let mut cmd = Command::new(bin());
    clean_env(&mut cmd);
    cmd.current_dir(lab.study())
        .env("JOBSPLIT_SSH", lab.dir.path().join("fakessh"))
        .args(["watch", "--interval", "0.2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The claims of `owner`'s share on its own disk naming another machine, by epoch (the
/// layout's `epoch`, 0 for the first).
fn stolen_by_epoch(host: &Path, owner: &str) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    let root = host.join("st/out/.jobsplit");
    for layout in std::fs::read_dir(root).unwrap().flatten() {
        let Ok(bytes) = std::fs::read(layout.path().join("layout.json")) else {
            continue;
        };
        let l: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let epoch = l["epoch"].as_u64().unwrap_or(0);
        let claims = layout.path().join("claims").join(owner);
        for c in std::fs::read_dir(claims).into_iter().flatten().flatten() {
            let c: serde_json::Value =
                serde_json::from_slice(&std::fs::read(c.path()).unwrap()).unwrap();
            if c["machine"] != owner {
                *out.entry(epoch).or_default() += 1;
            }
        }
    }
    out
}

/// Launched with `--follow`, grown twice while the hosts run, watched throughout: every job of
/// the three epochs runs exactly once, the slow host's blocks are stolen in the later epochs
/// too, and merge proves every row by a claim on its owner's disk.
#[test]
fn a_launched_study_grown_twice_while_stealing_runs_every_job_once() {
    let lab = lab(12);
    launch(&lab);
    let watcher = watch(&lab);
    let wait = Duration::from_secs(90);
    // Appended while the hosts run their shares of epoch 0, then of epoch 1.
    assert!(wait_until(wait, || markers(&lab).len() >= 3));
    append(&lab, 12..24);
    launch(&lab);
    assert!(wait_until(wait, || markers(&lab).keys().any(|&i| i >= 12)));
    append(&lab, 24..36);
    launch(&lab);
    let all = wait_until(wait, || markers(&lab).len() == 36);
    crate::harness::signal(watcher.id(), libc::SIGINT);
    let watched = watcher.wait_with_output().unwrap();
    let said = text(&watched);
    assert!(all, "not every job ran: {:?}\n{said}", markers(&lab));
    let stop = lab.jobsplit(&lab.study(), &["stop"]);
    assert!(text(&stop).contains("stopping"), "{}", text(&stop));
    for (m, h, _) in HOSTS {
        let lock = home(&lab, h).join("st/out").join(m).join(".lock");
        assert!(wait_until(wait, || {
            std::fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_ok())
        }));
    }
    let m = markers(&lab);
    assert!(m.values().all(|&n| n == 1), "a job ran twice: {m:?}");
    assert!(said.contains("stole block"), "{said}");
    let stolen = stolen_by_epoch(&home(&lab, "h1"), "slow");
    assert!(
        stolen.keys().any(|&e| e > 0),
        "no block of a later epoch stolen from slow: {stolen:?}\n{said}"
    );

    let merged = lab.jobsplit(&lab.study(), &["collect", "--merge"]);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged));
    assert!(
        text(&merged).contains("proved by claims"),
        "{}",
        text(&merged)
    );
    let summary = crate::harness::read_json(&lab.study().join("merged/summary.json"));
    assert_eq!(summary["missing"], 0, "{summary}");
    assert_eq!(summary["duplicates"], 0, "{summary}");
    let (_, rows) = crate::harness::read_csv(&lab.study().join("merged/results.csv"));
    let ok: Vec<u64> = rows
        .iter()
        .filter(|r| r["status"] == "ok")
        .map(|r| r["index"].parse().unwrap())
        .collect();
    assert_eq!(ok.len(), 36, "{ok:?}");
}
