//! Golden tests: split-v1 (docs/split-v1.md) pinned against expected outputs made by the
//! independent Python reference, tests/reference/split_v1.py, for every case listed in
//! tests/golden/cases.json (tests/golden/generate.sh regenerates them).
//!
//! If one of these fails, the plan changed: hosts running this build would disagree with hosts
//! running an earlier one. That is only ever allowed as a new algorithm version (split-v2),
//! never by regenerating the expected files of an existing case.
//!
//! This file reads the cases; `chacha` pins the generator and the bounded draw, `cases` the
//! plans, bytes, keys and seeds of every case, `discrepancies` what this suite found.

mod cases;
mod chacha;
mod discrepancies;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rand_core::{RngCore, SeedableRng};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use jobsplit::testing::item_bytes;
use jobsplit::testing::{bounded, keystream, ALGORITHM};
use jobsplit::testing::{to_canonical, Config, Record};
use jobsplit::Plan;
use jobsplit::{load_machines, Format, JobList, Machine, Template};
use jobsplit::{map_with, MapOptions, Work};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn json(file: &str) -> Value {
    serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Each float of `vectors[key]` (its bits in hex, its canonical text) renders as the spec says.
fn canonical_floats(vectors: &Value, key: &str) {
    for v in vectors[key].as_array().unwrap() {
        let bits = u64::from_str_radix(v[0].as_str().unwrap(), 16).unwrap();
        let value = Value::from(f64::from_bits(bits));
        assert_eq!(
            String::from_utf8(to_canonical(&value)).unwrap(),
            v[1],
            "float {bits:016x}"
        );
    }
}

/// One entry of tests/golden/cases.json.
struct Case {
    name: String,
    /// The `jobsplit plan --json` flags (paths relative to tests/golden).
    args: Vec<String>,
    /// Job indices left out: such a case goes through the library (the CLI has no flag).
    exclude: Vec<u64>,
    /// Whether expected/NAME.keys.json exists.
    keys: bool,
}

fn cases() -> Vec<Case> {
    json("cases.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            args: c["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            exclude: c
                .get("exclude")
                .and_then(Value::as_array)
                .map(|e| e.iter().map(|i| i.as_u64().unwrap()).collect())
                .unwrap_or_default(),
            keys: c["keys"].as_bool().unwrap(),
        })
        .collect()
}

impl Case {
    fn flag(&self, name: &str) -> Option<&str> {
        self.args
            .windows(2)
            .find(|w| w[0] == name)
            .map(|w| w[1].as_str())
    }

    /// The work and machines the flags name, resolved as `jobsplit plan` resolves them.
    fn study(&self) -> (Work, Vec<Machine>) {
        let config = match self.flag("--config") {
            Some(p) => Config::load(&dir().join(p)).unwrap(),
            None => Config::default(),
        };
        let jobs_path = self
            .flag("--jobs")
            .map(|p| dir().join(p))
            .or(config.jobs.file.clone())
            .expect("a job list");
        let format = self
            .flag("--format")
            .map(|f| f.parse().unwrap())
            .or(config.jobs.format)
            .unwrap_or_else(|| Format::from_extension(&jobs_path));
        let template = self
            .flag("--cmd")
            .or(config.jobs.command.as_deref())
            .map(|t| t.parse::<Template>().unwrap());
        let seed = self
            .flag("--seed")
            .map(str::to_owned)
            .or(config.seed.clone());
        let machines = match self.flag("--shard-count") {
            Some(n) => (0..n.parse::<u64>().unwrap())
                .map(|i| Machine::new(&format!("shard-{i}"), 1.0, 1).unwrap())
                .collect(),
            None => {
                let path = self.flag("--machines").map(|p| dir().join(p));
                load_machines(&path.or(config.machines.clone()).unwrap()).unwrap()
            }
        };
        let jobs = JobList::load(&jobs_path, format).unwrap();
        let work = Work::new(jobs, template, config.params.clone(), seed).unwrap();
        (work, machines)
    }

    fn plan(&self) -> (Work, Plan) {
        let (work, machines) = self.study();
        let plan = Plan::new(
            work.digest(),
            work.len(),
            work.seed_bytes(),
            machines,
            &self.exclude,
        )
        .unwrap();
        (work, plan)
    }

    fn expected_plan(&self) -> String {
        read(&format!("expected/{}.plan.json", self.name))
    }
}

/// The plan in the documented `--json` form, built from the library's values.
fn render(plan: &Plan) -> String {
    let mut s = format!(
        r#"{{"algorithm":"{ALGORITHM}","work_digest":"{}","plan_digest":"{}","jobs":{}"#,
        plan.work_digest().hex(),
        plan.plan_digest().hex(),
        plan.jobs()
    );
    if plan.excluded() > 0 {
        s += &format!(r#","excluded":{}"#, plan.excluded());
    }
    s += r#","machines":["#;
    for (j, m) in plan.machines().iter().enumerate() {
        if j > 0 {
            s.push(',');
        }
        let jobs: Vec<String> = plan.share(j).iter().map(u64::to_string).collect();
        s += &format!(
            r#"{{"name":{},"weight":{},"cores":{},"jobs":[{}]}}"#,
            serde_json::to_string(&m.name).unwrap(),
            m.weight,
            m.cores,
            jobs.join(",")
        );
    }
    s + "]}\n"
}

fn plan_json_from_binary(args: &[String]) -> String {
    let out = Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(dir())
        .env_remove("JOBSPLIT_CONFIG")
        .args(["plan", "--json"])
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
