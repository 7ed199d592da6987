//! Golden tests of studies that grew (docs/split-v1.md section 7): the plans of the cases in
//! tests/golden/epochs.json, whose epochs files and expected outputs the independent Python
//! reference wrote (tests/golden/generate.sh), must come out of the crate byte for byte; epoch
//! 0 of a grown case is the plan of the list it grew from; keys and seeds never move; and the
//! epochs file `run` records as a list grows is the reference's, byte for byte.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use jobsplit::testing::{load_growing, Grow};
use jobsplit::Plan;
use jobsplit::Work;
use jobsplit::{load_machines, Format};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn json(file: &str) -> Value {
    serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn cases() -> Vec<Value> {
    json("epochs.json").as_array().unwrap().clone()
}

fn args(case: &Value) -> Vec<String> {
    let a = case["args"].as_array().unwrap();
    a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

fn plan_from_binary(args: &[String]) -> String {
    let out = Command::new(crate::harness::bin())
        .current_dir(dir())
        .env_remove("JOBSPLIT_CONFIG")
        .arg("plan")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_binary_prints_the_reference_plan_of_every_grown_study() {
    let cases = cases();
    assert!(cases.len() >= 4);
    for case in cases.iter().filter(|c| c.get("exclude").is_none()) {
        let name = case["name"].as_str().unwrap();
        let want = read(&format!("expected/{name}.plan.json"));
        assert_eq!(plan_from_binary(&args(case)), want, "{name}");
        let plan: Value = serde_json::from_str(&want).unwrap();
        let ends: Vec<u64> = plan["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["first"].as_u64().unwrap() + e["jobs"].as_u64().unwrap())
            .collect();
        assert_eq!(Value::from(ends), case["ends"], "{name}: epochs");
    }
}

/// Epoch 0 of a grown list is planned exactly as the list it grew from; keys and seeds of
/// every earlier job are the same.
#[test]
fn epoch_zero_is_the_plan_of_the_list_it_grew_from_and_keys_never_move() {
    let mut checked = 0;
    for case in cases() {
        let Some(from) = case.get("grown_from").and_then(Value::as_str) else {
            continue;
        };
        let name = case["name"].as_str().unwrap();
        let grown = json(&format!("expected/{name}.plan.json"));
        let old = json(&format!("expected/{from}.plan.json"));
        let e0 = &grown["epochs"][0];
        assert_eq!(e0["plan_digest"], old["plan_digest"], "{name}");
        assert_eq!(e0["work_digest"], old["work_digest"], "{name}");
        for (j, m) in old["machines"].as_array().unwrap().iter().enumerate() {
            let first = e0["shares"][j].as_u64().unwrap() as usize;
            let mine = &grown["machines"][j]["jobs"].as_array().unwrap()[..first];
            assert_eq!(mine, m["jobs"].as_array().unwrap().as_slice(), "{name}");
        }
        let keys = json(&format!("expected/{name}.keys.json"));
        let old_keys = json(&format!("expected/{from}.keys.json"));
        let old_jobs = old_keys["jobs"].as_array().unwrap();
        assert_eq!(
            &keys["jobs"].as_array().unwrap()[..old_jobs.len()],
            old_jobs.as_slice()
        );
        checked += 1;
    }
    assert!(checked >= 2);
}

/// The library's plan of a rescue of a grown study (excluded jobs in several epochs), and the
/// bytes, keys and seeds of every job of the cases with keys.
#[test]
fn the_library_computes_the_reference_epochs_with_excluded_jobs_and_keys() {
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let a = args(&case);
        let flag = |f: &str| a.iter().position(|x| x == f).map(|p| a[p + 1].clone());
        let Some(jobs) = flag("--jobs") else {
            continue; // a config case: the binary test covers it
        };
        let path = dir().join(&jobs);
        let (list, growth) = load_growing(&path, Format::Lines, Grow::default()).unwrap();
        let work = Work::with_epochs(
            list,
            None,
            Default::default(),
            flag("--seed"),
            &growth.spans(),
        )
        .unwrap();
        let machines = match flag("--machines") {
            Some(m) => load_machines(&dir().join(m)).unwrap(),
            None => {
                let n: u64 = flag("--shard-count").unwrap().parse().unwrap();
                let m = (0..n).map(|i| jobsplit::Machine::new(&format!("shard-{i}"), 1.0, 1));
                m.collect::<Result<_, _>>().unwrap()
            }
        };
        let exclude: Vec<u64> = case
            .get("exclude")
            .map(|e| {
                e.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let plan = Plan::with_epochs(work.epochs(), work.seed_bytes(), machines, &exclude).unwrap();
        let want = json(&format!("expected/{name}.plan.json"));
        assert_eq!(plan.plan_digest().hex(), want["plan_digest"], "{name}");
        assert_eq!(plan.excluded(), exclude.len() as u64, "{name}");
        for (e, epoch) in plan.epochs().iter().enumerate() {
            let w = &want["epochs"][e];
            assert_eq!(
                epoch.plan_digest.hex(),
                w["plan_digest"],
                "{name} epoch {e}"
            );
            assert_eq!(
                epoch.work_digest.hex(),
                w["work_digest"],
                "{name} epoch {e}"
            );
            assert_eq!(
                Value::from(epoch.shares.clone()),
                w["shares"],
                "{name} epoch {e}"
            );
            assert_eq!(
                epoch.excluded,
                w.get("excluded").map_or(0, |x| x.as_u64().unwrap())
            );
        }
        for (j, m) in want["machines"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                Value::from(plan.share(j).to_vec()),
                m["jobs"],
                "{name} machine {j}"
            );
        }
        if case["keys"].as_bool() == Some(true) {
            let keys = json(&format!("expected/{name}.keys.json"));
            for row in keys["jobs"].as_array().unwrap() {
                let i = row["index"].as_u64().unwrap();
                let key = work.key(i);
                assert_eq!(
                    work.jobs().job_bytes(i).as_ref(),
                    row["bytes"].as_str().unwrap().as_bytes()
                );
                assert_eq!(
                    key.id(),
                    row["key"].as_str().unwrap()[..16],
                    "{name} job {i}"
                );
                assert_eq!(key.seed(), row["seed"].as_u64().unwrap(), "{name} job {i}");
            }
        }
    }
}

/// `run` records the epochs of a list as it grows: the file it writes is the reference's.
/// The list starts as the golden case `lines` (whose last line has no newline).
#[test]
fn run_records_the_reference_epochs_file_as_the_list_grows() {
    let s = crate::harness::Study::new();
    let grown = std::fs::read(dir().join("epochs-lines/jobs.txt")).unwrap();
    let original = std::fs::read(dir().join("lines/jobs.txt")).unwrap();
    s.write("machines.json", read("lines/machines.json"));
    let run = || {
        let out = s
            .cmd()
            .args(["run", "--machine", "ws1", "--cmd", "true", "--yes", "-q"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let upto = |needle: &[u8]| {
        let p = grown
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        grown[..p].to_vec()
    };
    std::fs::write(s.path().join("jobs.txt"), &original).unwrap();
    run();
    assert!(
        !s.path().join("jobs.txt.epochs").exists(),
        "one epoch: no file"
    );
    std::fs::write(s.path().join("jobs.txt"), upto(b"echo grown 4")).unwrap();
    run();
    std::fs::write(s.path().join("jobs.txt"), upto(b"echo pending 1")).unwrap();
    run();
    assert_eq!(
        std::fs::read_to_string(s.path().join("jobs.txt.epochs")).unwrap(),
        read("epochs-lines/jobs.txt.epochs")
    );
}
