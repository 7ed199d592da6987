//! A `Splitter` program's items grow as a job list does (docs/split-v1.md section 7): the
//! Monte Carlo pi example, run on three machines, run again with batches appended: earlier
//! batches keep their keys, machines and results and never run again; the new ones are a new
//! epoch; fewer items are refused in one line with nothing written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::harness::{build_example, clean_env, files_under, text, Results, Study};

const MACHINES: [&str; 3] = ["ws1", "ws2", "server"];

/// Every row of `machine`: index -> (key, inside), and how many rows each index has.
fn rows(s: &Study, machine: &str) -> (BTreeMap<u64, (String, String)>, BTreeMap<u64, usize>) {
    let r = Results::read(&s.join("out").join(machine).join("results.csv"));
    let mut rows = BTreeMap::new();
    let mut count = BTreeMap::new();
    for row in &r.rows {
        assert_eq!(row.status(), "ok");
        rows.insert(
            row.index(),
            (row.get("key").to_owned(), row.get("inside").to_owned()),
        );
        *count.entry(row.index()).or_default() += 1;
    }
    (rows, count)
}

#[test]
fn a_splitter_programs_items_grow_by_appending_across_three_machines() {
    let exe = build_example("monte_carlo_pi");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pi.toml");
    let cfg = config.to_str().unwrap().to_owned();
    let s = Study::new();
    let run = |batches: &str, args: &[&str]| {
        let mut cmd = Command::new(&exe);
        clean_env(&mut cmd);
        let out = cmd
            .current_dir(s.path())
            .env("PI_BATCHES", batches)
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let run_all = |batches: &str| {
        for m in MACHINES {
            let (code, _, err) = run(
                batches,
                &[
                    "run",
                    "--config",
                    &cfg,
                    "--machine",
                    m,
                    "--yes",
                    "-q",
                    "--threads",
                    "2",
                    "--out",
                    "out",
                ],
            );
            assert_eq!(code, Some(0), "{m}: {err}");
        }
    };
    let plan = |batches: &str| {
        let (code, out, err) = run(batches, &["plan", "--json", "--config", &cfg]);
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    run_all("12");
    let first = plan("12");
    let before: Vec<_> = MACHINES.iter().map(|m| rows(&s, m).0).collect();
    run_all("20");
    // The epochs of the program's items, recorded in the working directory.
    let epochs = std::fs::read_to_string(s.join("monte_carlo_pi.items.epochs")).unwrap();
    let lines: Vec<&str> = epochs.lines().collect();
    assert_eq!(lines[0], "jobsplit-epochs v1");
    assert!(
        lines[1].starts_with("0 0 12 ") && lines[2].starts_with("1 12 8 "),
        "{epochs}"
    );
    let grown = plan("20");
    assert_eq!(grown["jobs"], 20);
    assert_eq!(grown["epochs"][0]["plan_digest"], first["plan_digest"]);
    let mut seen = BTreeMap::new();
    for (m, old) in MACHINES.iter().zip(&before) {
        let (now, count) = rows(&s, m);
        assert!(
            count.values().all(|&n| n == 1),
            "{m}: a batch ran twice: {count:?}"
        );
        // Every earlier batch is where it was, with its key and result, and nothing new of
        // epoch 0 came here.
        let earlier: BTreeMap<u64, (String, String)> = now
            .iter()
            .filter(|(i, _)| **i < 12)
            .map(|(i, r)| (*i, r.clone()))
            .collect();
        assert_eq!(&earlier, old, "{m}: an earlier batch moved or changed");
        for i in now.keys() {
            assert!(
                seen.insert(*i, *m).is_none(),
                "batch {i} ran on two machines"
            );
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    let (code, _, err) = run("20", &["merge", "out", "--out", "merged"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, stdout, err) = run("20", &["estimate", "merged/results.csv"]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    // Fewer items than recorded: refused in one line, nothing written.
    let files = files_under(s.path());
    let (code, _, err) = run(
        "8",
        &[
            "run",
            "--config",
            &cfg,
            "--machine",
            "ws1",
            "--yes",
            "-q",
            "--out",
            "out",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("shortened"), "{err}");
    assert_eq!(files_under(s.path()), files);
}
