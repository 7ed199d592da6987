//! Invariants of split-v1 (docs/split-v1.md) over random studies: the shares partition the
//! planned jobs in proportion to capacity, nothing but the plan's inputs moves the plan, every
//! input moves the plan digest, and appending jobs keeps every earlier job key.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use jobsplit::Plan;
use jobsplit::Work;
use jobsplit::{Format, JobList, Machine};

/// A work whose jobs are exactly `lines` (each must be a kept line: not blank, not `#`).
fn work(lines: &[String], params: Map<String, Value>, seed: &str) -> Work {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let jobs =
        JobList::from_bytes(Path::new("jobs.txt"), Format::Lines, text.into_bytes()).unwrap();
    assert_eq!(jobs.len(), lines.len() as u64);
    Work::new(jobs, None, params, Some(seed.to_owned())).unwrap()
}

fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("run --case {i}")).collect()
}

/// Machines `m0, m1, ...` from (weight_micro, cores) pairs.
fn machines(spec: &[(u64, u64)]) -> Vec<Machine> {
    spec.iter()
        .enumerate()
        .map(|(i, &(micro, cores))| {
            let m = Machine::new(&format!("m{i}"), micro as f64 / 1e6, cores).unwrap();
            assert_eq!(m.weight_micro, micro);
            m
        })
        .collect()
}

fn plan(w: &Work, ms: Vec<Machine>, excluded: &[u64]) -> Plan {
    Plan::new(w.digest(), w.len(), w.seed_bytes(), ms, excluded).unwrap()
}

fn shares(p: &Plan) -> Vec<Vec<u64>> {
    (0..p.machines().len())
        .map(|j| p.share(j).to_vec())
        .collect()
}

/// A study: job count, machines as (weight_micro, cores), and which jobs are excluded.
fn study() -> impl Strategy<Value = (usize, Vec<(u64, u64)>, Vec<u64>)> {
    let machine = (
        prop_oneof![
            Just(1_000_000u64),
            Just(1_500_000),
            Just(333_333),
            1u64..=5_000_000
        ],
        prop_oneof![Just(1u64), 1u64..=64],
    );
    (
        prop_oneof![1usize..=40, 1usize..=2000],
        prop::collection::vec(machine, 1..=8),
    )
        .prop_flat_map(|(n, spec)| {
            // An ascending subset of the indices, of any size up to all of them.
            let excluded = prop::sample::subsequence((0..n as u64).collect::<Vec<_>>(), 0..=n);
            (Just(n), Just(spec), excluded)
        })
}

proptest! {
    #[test]
    fn shares_partition_the_planned_jobs_in_proportion((n, spec, excluded) in study()) {
        let w = work(&numbered(n), Map::new(), "p");
        let ms = machines(&spec);
        let p = plan(&w, ms.clone(), &excluded);

        // Disjoint and covering: every non-excluded index exactly once, no excluded one.
        let mut seen: Vec<u64> = shares(&p).concat();
        seen.sort_unstable();
        let planned: Vec<u64> = (0..n as u64).filter(|i| excluded.binary_search(i).is_err()).collect();
        prop_assert_eq!(&seen, &planned);

        // Each share is within one job of the exact proportion L * c_j / T:
        // |len_j * T - L * c_j| < T, in exact integers.
        let total: u128 = ms.iter().map(Machine::capacity).sum();
        let len = planned.len() as i128;
        for (j, m) in ms.iter().enumerate() {
            let got = p.share(j).len() as i128 * total as i128;
            let exact = len * m.capacity() as i128;
            prop_assert!((got - exact).abs() < total as i128,
                "machine {}: {} jobs, exact {}/{}", j, p.share(j).len(), exact, total);
        }
    }

    #[test]
    fn every_input_of_the_plan_changes_its_digest(
        (n, spec, excluded) in study(),
        which in 0usize..6,
        k in any::<prop::sample::Index>(),
        up in any::<bool>(),
    ) {
        let w = work(&numbered(n), Map::new(), "d");
        let base = plan(&w, machines(&spec), &excluded);
        let mut ms = machines(&spec);
        let m = k.index(ms.len());
        let mut seed = w.seed_bytes().to_vec();
        let mut ex = excluded.clone();
        match which {
            0 => ms[m].weight_micro = if up || ms[m].weight_micro == 1 { ms[m].weight_micro + 1 } else { ms[m].weight_micro - 1 },
            1 => ms[m].cores = if up || ms[m].cores == 1 { ms[m].cores + 1 } else { ms[m].cores - 1 },
            2 => ms[m].name.push(if up { 'x' } else { 'é' }),
            3 => seed.push(b'!'),
            4 => {
                // Toggle one index in or out of the excluded set.
                let i = k.index(n) as u64;
                match ex.binary_search(&i) {
                    Ok(at) => { ex.remove(at); }
                    Err(at) => ex.insert(at, i),
                }
            }
            _ => {
                // A different job list (one more job) is a different work digest.
                let more = work(&numbered(n + 1), Map::new(), "d");
                let changed = plan(&more, machines(&spec), &excluded);
                prop_assert_ne!(changed.work_digest(), base.work_digest());
                prop_assert_ne!(changed.plan_digest(), base.plan_digest());
                return Ok(());
            }
        }
        let changed = Plan::new(w.digest(), w.len(), &seed, ms, &ex).unwrap();
        prop_assert_ne!(changed.plan_digest(), base.plan_digest());
    }

    #[test]
    fn appending_jobs_keeps_every_earlier_key(
        lines in prop::collection::vec("[a-z][a-z0-9 ._=/-]{0,12}", 1..100),
        more in prop::collection::vec("[a-z][a-z0-9 ._=/-]{0,12}", 1..20),
        seed in "[ -~]{0,12}",
        steps in any::<i64>(),
    ) {
        let params = json!({ "steps": steps }).as_object().unwrap().clone();
        let a = work(&lines, params.clone(), &seed);
        let b = work(&[lines.clone(), more].concat(), params, &seed);
        prop_assert_ne!(a.digest(), b.digest());
        for i in 0..a.len() {
            prop_assert_eq!(a.key(i), b.key(i), "job {}", i);
        }
    }
}

proptest! {
    // Four plans a case: fewer cases keep the file quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_plan_depends_on_neither_threads_nor_repetition((n, spec, excluded) in study()) {
        let lines = numbered(n);
        let compute = || {
            let w = work(&lines, Map::new(), "t");
            let p = plan(&w, machines(&spec), &excluded);
            let keys: Vec<_> = (0..w.len()).step_by(37).map(|i| w.key(i)).collect();
            (p.work_digest(), p.plan_digest(), shares(&p), keys)
        };
        let reference = compute();
        prop_assert_eq!(&compute(), &reference);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            prop_assert_eq!(&pool.install(compute), &reference, "{} threads", threads);
        }
    }
}
