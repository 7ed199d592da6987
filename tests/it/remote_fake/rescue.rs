//! A dead host's share rescued onto the hosts left, from here.

use super::{exits, says, text, Lab};

#[test]
fn a_dead_host_is_rescued_onto_the_hosts_left_from_here() {
    let lab = Lab::new();
    std::fs::write(
        lab.study().join("machines.json"),
        r#"{"a b": {"weight": 1, "cores": 2, "ssh": "h1", "dir": "st it's"},
           "dead": {"weight": 1, "cores": 2, "ssh": "h2", "dir": "st"}}"#,
    )
    .unwrap();
    let host = lab.host_ran();
    // h2 never comes back: collect what a b did, merge, its jobs are missing.
    let merged = lab.jobsplit(
        &lab.study(),
        &["collect", "--machine", "a b", "--merge", "--out", "merged"],
    );
    exits(&merged, 1);

    let unknown = lab.jobsplit(
        &lab.study(),
        &["launch", "--rescue", "merged", "--dead", "nosuch"],
    );
    exits(&unknown, 2);
    says(&unknown, "--dead nosuch: no such machine in machines.json");

    // One command from here: the rescue plan (the machines file without the dead one, the
    // jobs not ok), its files shipped, its run started on the host left.
    let launch = lab.jobsplit(
        &lab.study(),
        &["launch", "--rescue", "merged", "--dead", "dead"],
    );
    exits(&launch, 0);
    let survivors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(host.join("merged/rescue-machines.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        survivors.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["a b"]
    );
    let plan = lab.jobsplit(
        &lab.study(),
        &[
            "plan",
            "--rescue",
            "merged",
            "--machines",
            "merged/rescue-machines.json",
            "--json",
        ],
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let digest = plan["plan_digest"].as_str().unwrap();
    assert!(
        text(&launch).starts_with(&format!("plan {}", &digest[..8])),
        "{}",
        text(&launch)
    );
    // The run there ends quickly; collect --rescue brings OUT-rescue back, and the merge of
    // both has every job exactly once.
    let watch = lab.jobsplit(
        &lab.study(),
        &[
            "watch",
            "--rescue",
            "merged",
            "--dead",
            "dead",
            "--interval",
            "0.2s",
        ],
    );
    exits(&watch, 0);
    let collect = lab.jobsplit(
        &lab.study(),
        &["collect", "--rescue", "merged", "--dead", "dead"],
    );
    exits(&collect, 0);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.study().join("out-rescue/a b/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["plan_digest"].as_str(), Some(digest));
    let m2 = lab.here(&["merge", "out", "out-rescue", "--out", "m2"]);
    exits(&m2, 0);
    assert!(!text(&m2).contains("payload"), "{}", text(&m2));
    let rows = std::fs::read_to_string(lab.study().join("m2/results.csv")).unwrap();
    let mut indices: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, ["0", "1", "2", "3", "4", "5"], "{rows}");
}
