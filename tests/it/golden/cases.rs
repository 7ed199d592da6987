//! The golden cases: the plan the binary prints and the library computes, the job bytes,
//! digests, keys and seeds, canonical JSON vectors, and a tripwire over every golden plan.

use super::*;

#[test]
fn the_binary_prints_the_reference_plan() {
    for case in cases().iter().filter(|c| c.exclude.is_empty()) {
        assert_eq!(
            plan_json_from_binary(&case.args),
            case.expected_plan(),
            "case {}",
            case.name
        );
    }
}

#[test]
fn the_library_computes_the_reference_plan_including_excluded_jobs() {
    let cases = cases();
    assert!(cases.iter().any(|c| !c.exclude.is_empty()));
    for case in &cases {
        let (_, plan) = case.plan();
        let expected = case.expected_plan();
        assert_eq!(render(&plan), expected, "case {}", case.name);
        // The same, value by value, so a failure says what moved.
        let expected: Value = serde_json::from_str(&expected).unwrap();
        assert_eq!(plan.work_digest().hex(), expected["work_digest"]);
        assert_eq!(plan.plan_digest().hex(), expected["plan_digest"]);
        assert_eq!(plan.excluded(), case.exclude.len() as u64);
        for (j, m) in expected["machines"].as_array().unwrap().iter().enumerate() {
            let want: Vec<u64> = m["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(
                plan.share(j),
                want,
                "case {} machine {}",
                case.name,
                m["name"]
            );
        }
    }
}

#[test]
fn job_bytes_digests_and_keys_match_the_reference() {
    for case in cases().iter().filter(|c| c.keys) {
        let name = &case.name;
        let want = json(&format!("expected/{name}.keys.json"));
        let (work, plan) = case.plan();
        assert_eq!(
            std::str::from_utf8(work.shared_bytes()).unwrap(),
            want["P"],
            "{name}: P"
        );
        assert_eq!(
            std::str::from_utf8(work.seed_bytes()).unwrap(),
            want["S"],
            "{name}: S"
        );
        assert_eq!(work.digest().hex(), want["work_digest"], "{name}: W");
        assert_eq!(plan.plan_digest().hex(), want["plan_digest"], "{name}: D");

        let shares: Vec<&[u64]> = (0..plan.machines().len()).map(|j| plan.share(j)).collect();
        let perm: Vec<u64> = shares.concat();
        let mut bounds = vec![0u64];
        for s in &shares {
            bounds.push(bounds.last().unwrap() + s.len() as u64);
        }
        assert_eq!(Value::from(perm), want["perm"], "{name}: perm");
        assert_eq!(Value::from(bounds), want["bounds"], "{name}: bounds");

        let jobs = want["jobs"].as_array().unwrap();
        assert_eq!(jobs.len() as u64, work.len(), "{name}: job count");
        let keyer = work.keyer();
        for job in jobs {
            let i = job["index"].as_u64().unwrap();
            let bytes = work.jobs().job_bytes(i);
            assert_eq!(
                std::str::from_utf8(&bytes).unwrap(),
                job["bytes"],
                "{name}: bytes of job {i}"
            );
            let key = work.key(i);
            assert_eq!(key, keyer.key(i, &bytes));
            assert_eq!(hex::encode(key.0), job["key"], "{name}: key of job {i}");
            assert_eq!(key.id(), job["key"].as_str().unwrap()[..16]);
            assert_eq!(
                key.seed(),
                job["seed"].as_u64().unwrap(),
                "{name}: seed of job {i}"
            );
        }
    }
}

/// A program's own item type, as a `Splitter` or `jobsplit::map` user writes it: fields in
/// declaration order (not sorted), a float, an option, an enum, a nested struct.
#[derive(serde::Serialize, serde::Deserialize)]
struct Point {
    name: String,
    x: i64,
    y: f64,
    kind: Kind,
    tags: Vec<String>,
    limit: Option<u64>,
    inner: Inner,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Kind {
    Grid,
    Random,
    Edge,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[allow(non_snake_case)]
struct Inner {
    Zeta: bool,
    alpha: u64,
}

#[test]
fn program_items_have_the_reference_bytes_keys_and_seeds() {
    // The golden case `items` is the jsonl list these items serialize to, with [params] and a
    // seed and no template: exactly the work `Splitter` and `map_with` build from them.
    let want = json("expected/items.keys.json");
    let config = Config::load(&dir().join("items/jobsplit.toml")).unwrap();
    let items: Vec<Point> = read("items/items.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let jobs = want["jobs"].as_array().unwrap();
    assert_eq!(items.len(), jobs.len());
    for (item, job) in items.iter().zip(jobs) {
        let bytes = item_bytes(item).unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), job["bytes"]);
    }
    for threads in [1, 3] {
        let opts = MapOptions {
            threads: Some(threads),
            seed: config.seed.clone(),
            params: config.params.clone(),
            ..MapOptions::default()
        };
        let got = map_with(&opts, &items, |ctx, _| -> Result<_, String> {
            Ok((ctx.index(), ctx.key(), ctx.seed(), ctx.rng().next_u64()))
        });
        for (r, job) in got.into_iter().zip(jobs) {
            let (index, key, seed, first) = r.unwrap();
            assert_eq!(index, job["index"].as_u64().unwrap());
            assert_eq!(hex::encode(key.0), job["key"], "key of item {index}");
            assert_eq!(key.id(), job["key"].as_str().unwrap()[..16]);
            assert_eq!(seed, job["seed"].as_u64().unwrap(), "seed of item {index}");
            assert_eq!(first, seed, "the generator's first draw is the seed");
        }
    }
}

#[test]
fn canonical_json_vectors() {
    let vectors = json("expected/canonical.json");
    canonical_floats(&vectors, "floats");
    for v in vectors["values"].as_array().unwrap() {
        let value: Value = serde_json::from_str(v[0].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical(&value)).unwrap(),
            v[1],
            "{}",
            v[0]
        );
    }
}

/// Tripwire: the SHA-256 of every case's plan, as this build computes it, concatenated in the
/// order of cases.json. A change to this constant is a new algorithm version (split-v2) with
/// its own name, never an update of the number; adding a case changes it too (say so in the
/// commit).
#[test]
fn tripwire_over_every_golden_plan() {
    let mut h = Sha256::new();
    for case in cases() {
        let out = if case.exclude.is_empty() {
            plan_json_from_binary(&case.args)
        } else {
            render(&case.plan().1)
        };
        h.update(out.as_bytes());
    }
    assert_eq!(hex::encode(h.finalize()), TRIPWIRE);
}

const TRIPWIRE: &str = "25c6a0034c9837fa69f50a42951a5ba03a517aaff8dbcf476b4debafdba3ddd0";
