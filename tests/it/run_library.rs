//! Library jobs: the Monte Carlo pi example split over three machines and merged, and
//! `jobsplit::map` (panics fail one job only; the numbers depend on the item, never on the
//! thread count).

use std::path::Path;
use std::process::Command;

use crate::harness::{build_example, text, Study};
use jobsplit::{map_with, JobError, MapOptions};
use jobsplit::{Format, JobList};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

#[test]
fn monte_carlo_pi_splits_over_three_machines_and_merges() {
    let exe = build_example("monte_carlo_pi");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("examples/pi.toml");
    let s = Study::new();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&exe);
        crate::harness::clean_env(&mut cmd);
        let out = cmd.current_dir(s.path()).args(args).output().unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let out_dir = s.join("out");
    let cfg = config.to_str().unwrap();
    // Its jobs are threads of one process: they cannot each run in a directory of their own.
    let (code, _, err) = run(&[
        "run",
        "--config",
        cfg,
        "--machine",
        "ws1",
        "--yes",
        "--workdir",
        "job",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("threads of one process"), "{err}");
    for m in ["ws1", "ws2", "server"] {
        let (code, _, err) = run(&[
            "run",
            "--config",
            cfg,
            "--machine",
            m,
            "--yes",
            "--quiet",
            "--threads",
            "2",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{m}: {err}");
    }
    let (code, _, err) = run(&["merge", "out", "--out", "merged"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, stdout, err) = run(&["estimate", "merged/results.csv"]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    assert!(stdout.starts_with("pi ~ 3.14"), "{stdout}");
    // Each row carries its item (a number: the `input` column), and no command.
    let merged = crate::harness::Results::read(&s.join("merged/results.csv"));
    assert_eq!(&merged.headers[9..], ["input", "samples", "inside"]);
    for row in &merged.rows {
        assert_eq!(row.get("input"), row.index().to_string());
    }
    // The library jobs' log lines are in the log.
    let lines = s.log("ws1");
    assert!(lines
        .iter()
        .any(|l| l.stream == "log" && l.text.contains("inside")));
}

/// The key-derived generator of item `i` of `items` under `seed`, computed from the job list the
/// items make (as a `Splitter` builds it).
fn keys_of(items: &[u64], seed: &str) -> Vec<jobsplit::JobKey> {
    let mut data = Vec::new();
    for item in items {
        data.extend_from_slice(&jobsplit::testing::item_bytes(item).unwrap());
        data.push(b'\n');
    }
    let list = JobList::from_bytes(Path::new("<items>"), Format::Jsonl, data).unwrap();
    let work =
        jobsplit::Work::new(list, None, serde_json::Map::new(), Some(seed.to_owned())).unwrap();
    (0..items.len() as u64).map(|i| work.key(i)).collect()
}

type Draws = (u64, String, u64, Vec<u64>);

#[test]
fn map_isolates_panics_and_draws_the_same_numbers_on_any_thread_count() {
    let items: Vec<u64> = (0..40).collect();
    let job = |ctx: &jobsplit::JobContext<'_>, &n: &u64| -> Result<Draws, String> {
        if n == 7 {
            panic!("boom at item {n}");
        }
        if n == 9 {
            return Err(format!("item {n} refused"));
        }
        let mut rng = ctx.rng();
        let draws = (0..4).map(|_| rng.next_u64()).collect();
        Ok((ctx.index(), ctx.key().id(), ctx.seed(), draws))
    };
    let opts = |threads| MapOptions {
        threads: Some(threads),
        seed: Some("lib-seed".into()),
        params: serde_json::Map::new(),
        ..MapOptions::default()
    };
    let one = map_with(&opts(1), &items, job);
    let four = map_with(&opts(4), &items, job);
    assert_eq!(one, four, "the thread count changed the results");
    assert_eq!(one.len(), items.len());

    let keys = keys_of(&items, "lib-seed");
    for (i, result) in one.iter().enumerate() {
        match (i, result) {
            (7, Err(JobError { index, message })) => {
                assert_eq!(*index, 7);
                assert!(message.contains("boom at item 7"), "{message}");
            }
            (9, Err(e)) => {
                assert_eq!(e.index, 9);
                assert_eq!(e.message, "item 9 refused");
                assert_eq!(e.to_string(), "job 9 failed: item 9 refused");
            }
            (_, Ok((index, id, seed, draws))) => {
                assert_eq!(*index, i as u64);
                assert_eq!(*id, keys[i].id());
                let mut expected = ChaCha20Rng::from_seed(keys[i].0);
                assert_eq!(*seed, ChaCha20Rng::from_seed(keys[i].0).next_u64());
                let want: Vec<u64> = (0..4).map(|_| expected.next_u64()).collect();
                assert_eq!(*draws, want, "item {i}");
            }
            (_, other) => panic!("item {i}: {other:?}"),
        }
    }
    // Another seed gives other numbers.
    let other = map_with(
        &MapOptions {
            seed: Some("other".into()),
            ..opts(2)
        },
        &items,
        job,
    );
    assert_ne!(one[0], other[0]);
}
