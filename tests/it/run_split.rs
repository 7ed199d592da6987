//! Three machines run their shares into one output directory: together they run every job exactly
//! once, each where `plan --json` put it, with the environment the docs promise, whatever the
//! thread count.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{assignment, Results, Study, THREE_MACHINES};
use jobsplit::{Format, JobList};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const JOBS: u64 = 13;
const MACHINES: [&str; 3] = ["ws1", "ws2", "server"];

/// A job that writes what it sees in its environment into `$JOBSPLIT_RESULT` as JSON.
fn env_job(i: u64) -> String {
    concat!(
        r#"printf '{"seen_index":"%s","seen_key":"%s","seen_seed":"%s","seen_machine":"%s","#,
        r#""out_is_dir":"%s","seen_alpha":"%s","seen_name":"%s","seen_params":%s}' "#,
        r#""$JOBSPLIT_JOB_INDEX" "$JOBSPLIT_JOB_KEY" "$JOBSPLIT_SEED" "$JOBSPLIT_MACHINE" "#,
        r#""$(mkdir "$JOBSPLIT_OUT" && test -d "$JOBSPLIT_OUT" && echo yes)" "$JOBSPLIT_PARAM_ALPHA" "#,
        r#""$JOBSPLIT_PARAM_RUN_NAME" "$JOBSPLIT_PARAMS" > "$JOBSPLIT_RESULT""#
    )
    .to_owned()
        + &format!("; echo job {i}")
}

fn study() -> Study {
    let jobs: Vec<String> = (0..JOBS).map(env_job).collect();
    Study::with(
        &jobs,
        THREE_MACHINES,
        "seed = \"split-e2e\"\n[params]\nalpha = 3\nrun-name = \"first try\"\n",
    )
}

/// Runs all three machines into `out` with `threads` and returns the union of their rows.
fn run_all(s: &Study, out: &str, threads: &str) -> Results {
    let mut all = Vec::new();
    let mut headers = None;
    for m in MACHINES {
        s.run(m)
            .args(["--out", out, "--threads", threads, "--quiet"])
            .assert()
            .code(0);
        let r = Results::read(&s.join(out).join(m).join("results.csv"));
        headers.get_or_insert(r.headers.clone());
        all.extend(r.rows);
    }
    Results {
        headers: headers.unwrap(),
        rows: all,
    }
}

/// The split-v1 seed of a key: the first `next_u64` of ChaCha20 keyed with all 32 key bytes.
fn seed_of(key: [u8; 32]) -> u64 {
    ChaCha20Rng::from_seed(key).next_u64()
}

#[test]
fn three_machines_run_every_job_once_where_planned_with_its_environment() {
    let s = study();
    let plan = s.plan_json(&[]);
    let planned = assignment(&plan);
    assert_eq!(planned.len() as u64, JOBS);
    // Every machine gets something, or the test proves little.
    for m in MACHINES {
        assert!(planned.values().any(|p| p == m), "{m} has no job: {plan}");
    }

    // The keys and seeds, computed by the library from the same inputs.
    let list = JobList::load(&s.join("jobs.txt"), Format::Lines).unwrap();
    let mut params = serde_json::Map::new();
    params.insert("alpha".into(), 3.into());
    params.insert("run-name".into(), "first try".into());
    let work = jobsplit::Work::new(list, None, params.clone(), Some("split-e2e".into())).unwrap();
    assert_eq!(plan["work_digest"], work.digest().hex());

    let results = run_all(&s, "out", "1");
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for row in &results.rows {
        let i = row.index();
        *seen.entry(i).or_default() += 1;
        assert_eq!(row.status(), "ok", "{row:?}");
        assert_eq!(row.get("exit_code"), "0");
        assert_eq!(row.attempt(), 1);
        assert_eq!(row.get("machine"), planned[&i], "job {i} ran off-plan");
        let key = work.key(i);
        assert_eq!(row.get("key"), key.id());
        assert_eq!(row.get("key"), hex::encode(&key.0[..8]));
        assert_eq!(row.get("seen_index"), i.to_string());
        assert_eq!(row.get("seen_key"), row.get("key"));
        assert_eq!(row.get("seen_seed"), seed_of(key.0).to_string(), "job {i}");
        assert_eq!(row.get("seen_seed"), key.seed().to_string());
        assert_eq!(row.get("seen_machine"), planned[&i]);
        assert_eq!(
            row.get("out_is_dir"),
            "yes",
            "JOBSPLIT_OUT cannot be created with a plain mkdir"
        );
        assert_eq!(row.get("seen_alpha"), "3");
        assert_eq!(row.get("seen_name"), "first try");
        let seen_params: serde_json::Value = serde_json::from_str(row.get("seen_params")).unwrap();
        assert_eq!(seen_params, serde_json::Value::Object(params.clone()));
    }
    assert_eq!(
        seen,
        (0..JOBS).map(|i| (i, 1)).collect::<BTreeMap<_, _>>(),
        "every job exactly once"
    );
    // Distinct jobs get distinct seeds.
    let seeds: std::collections::BTreeSet<&str> =
        results.rows.iter().map(|r| r.get("seen_seed")).collect();
    assert_eq!(seeds.len() as u64, JOBS);

    // Each machine's manifest names its plan and share; its log holds its jobs' output.
    for m in MACHINES {
        let manifest = s.manifest(m);
        assert_eq!(manifest["plan_digest"], plan["plan_digest"]);
        assert_eq!(manifest["state"], "finished");
        assert_eq!(manifest["machine"], m);
        let share = planned.values().filter(|p| *p == m).count() as u64;
        assert_eq!(manifest["share"], share);
        assert_eq!(manifest["counts"]["ok"], share);
        let outs: Vec<String> = s
            .log(m)
            .into_iter()
            .filter(|l| l.stream == "out")
            .map(|l| format!("{}:{}", l.job.unwrap(), l.text))
            .collect();
        assert_eq!(outs.len() as u64, share, "{outs:?}");
        for o in outs {
            let (job, text) = o.split_once(':').unwrap();
            assert_eq!(text, format!("job {job}"));
            assert_eq!(planned[&job.parse::<u64>().unwrap()], m);
        }
        assert!(!Path::new(&s.machine_dir(m).join("tmp")).exists());
    }
}

#[test]
fn the_thread_count_does_not_change_the_results() {
    let s = study();
    let stable = |r: &Results| {
        let mut rows: Vec<_> = r.rows.iter().map(|r| r.stable()).collect();
        rows.sort_by_key(|r| r["index"].parse::<u64>().unwrap());
        rows
    };
    let one = run_all(&s, "out1", "1");
    let four = run_all(&s, "out4", "4");
    assert_eq!(one.rows.len() as u64, JOBS);
    assert_eq!(stable(&one), stable(&four));
    let one: Vec<String> = one.headers;
    let mut four_sorted = four.headers.clone();
    let mut one_sorted = one.clone();
    one_sorted.sort();
    four_sorted.sort();
    assert_eq!(one_sorted, four_sorted);
}
