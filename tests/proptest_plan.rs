//! Invariants of split-v1 over random studies.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Map;

use jobsplit::input::{Format, JobList, Machine};
use jobsplit::plan::Plan;
use jobsplit::Work;

fn work(n: usize, seed: &str) -> Work {
    let text: String = (0..n).map(|i| format!("job {i}\n")).collect();
    let jobs =
        JobList::from_bytes(Path::new("jobs.txt"), Format::Lines, text.into_bytes()).unwrap();
    Work::new(jobs, None, Map::new(), Some(seed.to_owned())).unwrap()
}

fn machines(spec: &[(u32, u64)]) -> Vec<Machine> {
    spec.iter()
        .enumerate()
        .map(|(i, &(w, c))| Machine::new(&format!("m{i}"), f64::from(w) / 4.0, c).unwrap())
        .collect()
}

fn study() -> impl Strategy<Value = (usize, Vec<(u32, u64)>, Vec<bool>)> {
    (
        1usize..800,
        prop::collection::vec((1u32..40, 1u64..16), 1..8),
    )
        .prop_flat_map(|(n, m)| {
            (
                Just(n),
                Just(m),
                prop::collection::vec(prop::bool::weighted(0.2), n),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn shares_partition_the_jobs_in_proportion((n, spec, ex) in study()) {
        let w = work(n, "p");
        let excluded: Vec<u64> = (0..n as u64).filter(|&i| ex[i as usize]).collect();
        let ms = machines(&spec);
        let plan = Plan::new(w.digest(), w.len(), w.seed_bytes(), ms.clone(), &excluded).unwrap();
        let mut seen: Vec<u64> = (0..ms.len()).flat_map(|j| plan.share(j).to_vec()).collect();
        seen.sort_unstable();
        let expected: Vec<u64> = (0..n as u64).filter(|&i| !ex[i as usize]).collect();
        prop_assert_eq!(seen, expected);
        let total: u128 = ms.iter().map(Machine::capacity).sum();
        let len = (n - excluded.len()) as f64;
        for (j, m) in ms.iter().enumerate() {
            let exact = len * m.capacity() as f64 / total as f64;
            prop_assert!((plan.share(j).len() as f64 - exact).abs() < 1.0 + 1e-9,
                "machine {j}: {} jobs vs exact {exact}", plan.share(j).len());
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_threads((n, spec, _) in study()) {
        let w = work(n, "t");
        let compute = || Plan::new(w.digest(), w.len(), w.seed_bytes(), machines(&spec), &[]).unwrap();
        let reference = compute();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let p = pool.install(compute);
            prop_assert_eq!(p.plan_digest(), reference.plan_digest());
            for j in 0..spec.len() {
                prop_assert_eq!(p.share(j), reference.share(j));
            }
        }
    }

    #[test]
    fn every_input_of_the_plan_changes_its_digest((n, spec, _) in study(), which in 0usize..5) {
        let w = work(n, "d");
        let base = Plan::new(w.digest(), w.len(), w.seed_bytes(), machines(&spec), &[]).unwrap();
        let mut ms = machines(&spec);
        let (seed, excluded): (&[u8], Vec<u64>) = match which {
            0 => { ms[0].weight_micro += 1; (w.seed_bytes(), vec![]) }
            1 => { ms[0].cores += 1; (w.seed_bytes(), vec![]) }
            2 => { ms[0].name.push('x'); (w.seed_bytes(), vec![]) }
            3 => (b"other seed", vec![]),
            _ => (w.seed_bytes(), vec![0]),
        };
        let changed = Plan::new(w.digest(), w.len(), seed, ms, &excluded).unwrap();
        prop_assert_ne!(changed.plan_digest(), base.plan_digest());
    }

    #[test]
    fn appending_jobs_keeps_earlier_keys(n in 1usize..300, more in 1usize..50) {
        let a = work(n, "k");
        let b = work(n + more, "k");
        prop_assert_ne!(a.digest(), b.digest());
        for i in 0..n as u64 {
            prop_assert_eq!(a.key(i), b.key(i));
        }
    }
}
