//! A `--steal-remote` block handed to a host whose run had ended (issue 21): only that host may
//! run it (the claim on its owner's disk names it), so `watch` starts its run again, the run
//! `launch` started there, instead of leaving the block for a relaunch. With the ssh stand-in
//! of remote_fake; the real multi-host suite is tests/remote/steal_faults.sh.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{bin, clean_env, wait_until};
use crate::remote_fake::{text, Lab};

fn home(lab: &Lab, host: &str) -> PathBuf {
    lab.dir.path().join("homes").join(host)
}

/// The one stealing layout directory on `host`'s disk, relative to OUT.
fn layout(lab: &Lab, host: &str) -> String {
    let root = home(lab, host).join("st/out/.jobsplit");
    let names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    format!(".jobsplit/{}", names[0])
}

/// The run of `machine` on `host` finished (its manifest is written last, as its lock goes).
fn ended(lab: &Lab, host: &str, machine: &str) -> bool {
    let dir = home(lab, host).join("st/out").join(machine);
    std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|m| m["state"] == "finished")
}

fn markers(lab: &Lab) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    for h in ["h1", "h2"] {
        let text = std::fs::read_to_string(home(lab, h).join("marker")).unwrap_or_default();
        for line in text.lines() {
            *out.entry(line.trim().parse().unwrap()).or_default() += 1;
        }
    }
    out
}

/// watch was killed between its two claims: slow's last block is claimed on slow's disk for
/// fast, whose run then ended (no launcher, no lease). The next watch hands it over and starts
/// fast's run again, which runs it: every job once, merged.
#[test]
fn a_block_handed_to_a_host_whose_run_ended_is_run_by_its_run_started_again() {
    let lab = Lab::new();
    let study = lab.study();
    std::fs::write(study.join("jobs.txt"), "0\n1\n2\n3\n4\n5\n").unwrap();
    std::fs::write(
        study.join("machines.json"),
        r#"{"slow": {"weight": 1, "cores": 1, "ssh": "h1", "dir": "st"},
           "fast": {"weight": 1, "cores": 1, "ssh": "h2", "dir": "st"}}"#,
    )
    .unwrap();
    std::fs::write(
        study.join("jobsplit.toml"),
        "[jobs]\nfile = \"jobs.txt\"\ncommand = \"sleep $(cat ../speed); echo {} >> ../marker\"\n",
    )
    .unwrap();
    for (h, speed) in [("h1", "1.5"), ("h2", "0")] {
        std::fs::create_dir_all(home(&lab, h)).unwrap();
        std::fs::write(home(&lab, h).join("speed"), speed).unwrap();
    }
    let launch = lab.jobsplit(
        &study,
        &["launch", "--", "--steal-remote", "--steal-block", "1"],
    );
    assert_eq!(launch.status.code(), Some(0), "{}", text(&launch));
    let wait = Duration::from_secs(60);
    assert!(
        wait_until(wait, || ended(&lab, "h2", "fast")),
        "fast ran its share"
    );

    // The first half of a steal, as watch makes it: slow's last block claimed on slow's disk
    // for fast's run.
    let fast = crate::harness::read_json(&home(&lab, "h2").join("st/out/fast/manifest.json"));
    let plan = lab.jobsplit(&study, &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let jobs = plan["machines"][0]["jobs"].as_array().unwrap();
    let share = jobs.len() as u64;
    let record = serde_json::json!({
        "owner": "slow", "block": share - 1, "machine": "fast", "host": fast["hostname"],
        "pid": 0, "run": fast["balance"]["run"], "at": "t", "jobs": [jobs[jobs.len() - 1]],
    });
    let mut claim = Command::new(bin());
    clean_env(&mut claim);
    let mut child = claim
        .current_dir(home(&lab, "h1"))
        .args([
            "remote-serve",
            "steal-claim",
            "st",
            "out",
            &layout(&lab, "h1"),
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{record}\n").as_bytes(),
    )
    .unwrap();
    let answer = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&answer.stdout).contains("\"won\":true"),
        "{answer:?}"
    );
    assert!(
        wait_until(wait, || ended(&lab, "h1", "slow")),
        "slow ran the rest"
    );

    let watch = lab.jobsplit(&study, &["watch", "--interval", "0.2s"]);
    let said = text(&watch);
    assert!(
        said.contains(&format!("handed block {} of slow to fast again", share - 1)),
        "{said}"
    );
    assert!(
        said.contains(
            "fast: its run had ended, with 1 block handed again: started again to run them"
        ),
        "{said}"
    );
    assert!(
        wait_until(wait, || markers(&lab).len() == 6),
        "{:?}\n{said}",
        markers(&lab)
    );
    assert!(wait_until(wait, || ended(&lab, "h2", "fast")));
    assert!(
        markers(&lab).values().all(|&n| n == 1),
        "{:?}",
        markers(&lab)
    );
    let merged = lab.jobsplit(&study, &["collect", "--merge"]);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged));
}
