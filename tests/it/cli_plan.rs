//! `jobsplit plan` and `jobsplit init` through the real binary: the JSON shape, what enters the
//! digest and what does not, flags over config, shards, and a starter study run end to end.

use std::collections::BTreeSet;

use crate::harness::{assignment, read_csv, read_json, text, Study};
use serde_json::Value;

const MACHINES: &str = r#"{
  "ws1": {"weight": 1, "cores": 2},
  "ws2": [2.5, 1],
  "server": {"weight": 1.5, "cores": 4}
}
"#;

fn lines_study(n: usize) -> Study {
    let jobs: String = (0..n).map(|i| format!("echo {i}\n")).collect();
    Study::with_files(&[
        ("jobs.txt", jobs.as_bytes()),
        ("machines.json", MACHINES.as_bytes()),
    ])
}

/// The positions of `keys` in `text`, which must all occur, in that order.
fn assert_key_order(text: &str, keys: &[&str]) {
    let mut at = 0;
    for k in keys {
        let needle = format!("\"{k}\":");
        let p = text[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("`{needle}` missing or out of order in {text}"));
        at += p + needle.len();
    }
}

#[test]
fn plan_json_has_the_documented_shape() {
    let d = lines_study(25);
    let (raw, plan) = d.plan_json_text(&[]);
    assert!(raw.ends_with("}\n") && !raw.contains(' '), "compact: {raw}");
    let top = plan.as_object().unwrap();
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        [
            "algorithm",
            "work_digest",
            "plan_digest",
            "jobs",
            "machines"
        ]
    );
    assert_eq!(plan["algorithm"], "split-v1");
    for k in ["work_digest", "plan_digest"] {
        let hex = plan[k].as_str().unwrap();
        assert_eq!(hex.len(), 64, "{k}: {hex}");
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
    assert_eq!(plan["jobs"], 25);
    let machines = plan["machines"].as_array().unwrap();
    let names: Vec<&str> = machines
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ws1", "ws2", "server"], "file order");
    for m in machines {
        assert_eq!(
            m.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["name", "weight", "cores", "jobs"]
        );
        assert!(m["jobs"].as_array().unwrap().iter().all(Value::is_u64));
    }
    assert_eq!(machines[1]["weight"], 2.5);
    assert_eq!(machines[2]["cores"], 4);
    // serde_json keeps the order it reads (preserve_order), but check the raw text as well.
    assert_key_order(
        &raw,
        &[
            "algorithm",
            "work_digest",
            "plan_digest",
            "jobs",
            "machines",
            "name",
            "weight",
            "cores",
            "jobs",
        ],
    );

    // Shares are disjoint and cover 0..n; each share is in run order without repeats.
    let owners = assignment(&plan);
    assert_eq!(
        owners.keys().copied().collect::<Vec<_>>(),
        (0..25).collect::<Vec<u64>>()
    );
    for m in machines {
        let jobs: Vec<u64> = m["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let set: BTreeSet<u64> = jobs.iter().copied().collect();
        assert_eq!(set.len(), jobs.len());
    }
    // Capacity 2 : 2.5 : 6 of 25 jobs: the biggest machine gets the most.
    let sizes: Vec<usize> = machines
        .iter()
        .map(|m| m["jobs"].as_array().unwrap().len())
        .collect();
    assert!(sizes[2] > sizes[1] && sizes[2] > sizes[0], "{sizes:?}");

    // The table tells the same plan.
    let table = d.output(&["plan"]);
    assert_eq!(table.code, 0);
    let short = &plan["plan_digest"].as_str().unwrap()[..8];
    assert!(
        table
            .stdout
            .starts_with(&format!("plan {short}  (split-v1, 25 jobs")),
        "{}",
        table.stdout
    );
}

#[test]
fn the_same_content_in_any_format_is_the_same_plan() {
    let d = Study::with_files(&[
        ("machines.json", MACHINES.as_bytes()),
        ("points.csv", b"alpha,beta\n0.1,x\n0.2,\"y, z\"\n0.3,w\n"),
        (
            "points.jsonl",
            b"{\"beta\": \"x\", \"alpha\": \"0.1\"}\n\n{\"alpha\":\"0.2\",\"beta\":\"y, z\"}\r\n  {\"beta\":\"w\",\"alpha\":\"0.3\"}  \n",
        ),
        ("points.txt", b"alpha,beta\n0.1,x\n0.2,\"y, z\"\n0.3,w\n"),
        ("a.txt", b"echo 1\necho 2\necho 3\n"),
        ("b.txt", b"# a comment\r\necho 1\r\n\r\n   \necho 2\n\t# another\necho 3"),
    ]);
    let cmd = "sim {alpha} {beta}";
    let csv = d.plan_json_text(&["--jobs", "points.csv", "--cmd", cmd]).1;
    let jsonl = d
        .plan_json_text(&["--jobs", "points.jsonl", "--cmd", cmd])
        .1;
    let forced = d
        .plan_json_text(&["--jobs", "points.txt", "--format", "csv", "--cmd", cmd])
        .1;
    assert_eq!(csv["jobs"], 3);
    assert_eq!(
        csv, jsonl,
        "a CSV row and a JSON object of the same strings"
    );
    assert_eq!(csv, forced, "--format overrides the extension");

    // A JSON number is not the string of its digits.
    d.write("numbers.jsonl", "{\"alpha\": 0.1, \"beta\": \"x\"}\n{\"alpha\": 0.2, \"beta\": \"y, z\"}\n{\"alpha\": 0.3, \"beta\": \"w\"}\n");
    let numbers = d
        .plan_json_text(&["--jobs", "numbers.jsonl", "--cmd", cmd])
        .1;
    assert_ne!(numbers["work_digest"], csv["work_digest"]);

    // Lines: comments, blank lines, CRLF and a missing last line end change nothing.
    let a = d.plan_json_text(&["--jobs", "a.txt"]).1;
    let b = d.plan_json_text(&["--jobs", "b.txt"]).1;
    assert_eq!(a, b);
    // The template is part of the work.
    let c = d.plan_json_text(&["--jobs", "a.txt", "--cmd", "{}"]).1;
    assert_ne!(a["work_digest"], c["work_digest"]);
}

/// A job list that can be read once (a pipe: `gen | jobsplit plan --jobs /dev/stdin`, a shell's
/// `<(gen)`) plans as the same list in a file: plan reads it once. (Plan read it a second
/// time to show what the next run would record, found the pipe empty and exited 2 with "the
/// job list has no jobs".)
#[test]
fn plan_of_a_piped_job_list_is_the_plan_of_the_file() {
    let d = lines_study(25);
    let args = ["--jobs", "jobs.txt", "--machines", "machines.json"];
    let (from_file, _) = d.plan_json_text(&args);
    let piped = d
        .cmd()
        .args([
            "plan",
            "--json",
            "--jobs",
            "/dev/stdin",
            "--machines",
            "machines.json",
        ])
        .write_stdin(std::fs::read(d.join("jobs.txt")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        (
            piped.status.code(),
            text(&piped.stderr),
            text(&piped.stdout)
        ),
        (Some(0), String::new(), from_file)
    );
}

#[test]
fn what_enters_the_digest_and_what_does_not() {
    let d = lines_study(40);
    let base = d.plan_json_text(&[]).1;
    let digest = |v: &Value| v["plan_digest"].as_str().unwrap().to_owned();

    // A seed changes the plan (not the work: split-v1 keeps it out of W); the same seed gives
    // the same plan, and an empty seed is no seed.
    let s1 = d.plan_json_text(&["--seed", "one"]).1;
    assert_ne!(digest(&s1), digest(&base));
    assert_eq!(s1["work_digest"], base["work_digest"]);
    assert_eq!(d.digest(&["--seed", ""]), digest(&base));
    assert_eq!(d.digest(&["--seed", "one"]), digest(&s1));
    assert_ne!(d.digest(&["--seed", "two"]), digest(&s1));

    // The order of the machines is part of the plan.
    d.write(
        "reordered.json",
        r#"{"server": {"weight": 1.5, "cores": 4}, "ws1": {"weight": 1, "cores": 2}, "ws2": [2.5, 1]}"#,
    );
    let re = d.plan_json_text(&["--machines", "reordered.json"]).1;
    assert_ne!(digest(&re), digest(&base));
    assert_eq!(re["work_digest"], base["work_digest"]);

    // hosts, white space and the two spellings of a machine are not.
    d.write(
        "hosts.json",
        "{\n\n  \"ws1\": [1, 2],\n  \"ws2\": {\"hosts\": [\"a.example\", \"b\"], \"cores\": 1, \"weight\": 2.5},\n  \"server\": {\"weight\": 1.5, \"cores\": 4, \"hosts\": []}\n}",
    );
    assert_eq!(d.digest(&["--machines", "hosts.json"]), digest(&base));

    // Nor is anything in [run], on a host's own config.
    d.write(
        "local.toml",
        "[run]\nout = \"elsewhere\"\nthreads = 7\ntimeout = \"2h\"\ngrace = 3\nretries = 4\nnice = 19\ncapture = \"last-line\"\nprogress_interval = \"1m\"\njob_logs = true\nfsync = true\n",
    );
    assert_eq!(d.digest(&["--config", "local.toml"]), digest(&base));
    // [params] is.
    d.write("params.toml", "[params]\nsamples = 10\n");
    let p = d.plan_json_text(&["--config", "params.toml"]).1;
    assert_ne!(p["work_digest"], base["work_digest"]);

    // A weight or a core count is.
    d.write(
        "w.json",
        r#"{"ws1": [1, 2], "ws2": [2.5, 2], "server": [1.5, 4]}"#,
    );
    assert_ne!(d.digest(&["--machines", "w.json"]), digest(&base));
}

#[test]
fn flags_override_the_config() {
    let d = lines_study(12);
    d.write("other.txt", "echo a\necho b\n");
    d.write("two.json", r#"{"x": [1, 1], "y": [1, 1]}"#);
    d.write(
        "jobsplit.toml",
        "seed = \"from-config\"\nmachines = \"two.json\"\n[jobs]\nfile = \"other.txt\"\ncommand = \"echo {}\"\n",
    );
    // The config applies when present...
    let (_, from_config) = d.plan_json_text(&[]);
    assert_eq!(from_config["jobs"], 2);
    let names: Vec<&str> = from_config["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x", "y"]);
    // ...and each flag beats its key: the same as a config-free study given everything by flag.
    let flags = [
        "--seed",
        "flag",
        "--machines",
        "machines.json",
        "--jobs",
        "jobs.txt",
        "--cmd",
        "sh -c {}",
    ];
    let (_, with_config) = d.plan_json_text(&flags);
    d.write("empty.toml", "");
    let (_, without) = d.plan_json_text(&[&["--config", "empty.toml"][..], &flags].concat());
    assert_eq!(with_config, without);
    assert_eq!(with_config["jobs"], 12);
    // --config and the JOBSPLIT_CONFIG variable name another config.
    d.write("alt/jobsplit.toml", "seed = \"from-config\"\nmachines = \"../two.json\"\n[jobs]\nfile = \"../other.txt\"\ncommand = \"echo {}\"\n");
    let (_, alt) = d.plan_json_text(&["--config", "alt/jobsplit.toml"]);
    assert_eq!(alt, from_config, "paths in a config are relative to it");
    let out = d
        .cmd()
        .env("JOBSPLIT_CONFIG", "empty.toml")
        .args(["plan", "--json"])
        .output()
        .unwrap();
    let via_env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        via_env["jobs"], 12,
        "JOBSPLIT_CONFIG replaces ./jobsplit.toml"
    );
}

#[test]
fn shard_count_plans_equal_shards() {
    let d = lines_study(30);
    let (_, plan) = d.plan_json_text(&["--shard-count", "4"]);
    let machines = plan["machines"].as_array().unwrap();
    let names: Vec<&str> = machines
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shard-0", "shard-1", "shard-2", "shard-3"]);
    for m in machines {
        assert_eq!(m["weight"].as_f64(), Some(1.0));
        assert_eq!(m["cores"], 1);
        let n = m["jobs"].as_array().unwrap().len();
        assert!(n == 7 || n == 8, "equal shards of 30: {n}");
    }
    assert_eq!(assignment(&plan).len(), 30);
    // Without a machines file at all.
    std::fs::remove_file(d.join("machines.json")).unwrap();
    assert_eq!(d.plan_json_text(&["--shard-count", "4"]).1, plan);
    assert_eq!(d.output(&["plan"]).code, 2);
    assert_eq!(d.output(&["plan", "--shard-count", "0"]).code, 2);
}

#[test]
fn init_then_plan_run_and_merge_every_machine() {
    let root = Study::new();
    let out = root.output(&["init", "study"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let study = root.join("study");
    let mut names: Vec<String> = std::fs::read_dir(&study)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["jobs.txt", "jobsplit.toml", "machines.json"]);

    let plan_out = crate::harness::jobsplit(&study)
        .args(["plan", "--json"])
        .output()
        .unwrap();
    assert!(plan_out.status.success());
    let plan: Value = serde_json::from_slice(&plan_out.stdout).unwrap();
    let n = plan["jobs"].as_u64().unwrap();
    assert!(n > 0);
    let machines: Vec<String> = plan["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(machines, ["ws1", "ws2", "server"]);
    for m in &machines {
        crate::harness::jobsplit(&study)
            .args(["run", "--machine", m, "--yes", "--quiet"])
            .assert()
            .success();
    }
    crate::harness::jobsplit(&study)
        .args(["merge", "out", "--out", "merged"])
        .assert()
        .success();
    let (header, rows) = read_csv(&study.join("merged/results.csv"));
    assert!(header.iter().any(|h| h == "square"), "{header:?}");
    let indices: Vec<u64> = rows.iter().map(|r| r["index"].parse().unwrap()).collect();
    assert_eq!(indices, (0..n).collect::<Vec<_>>());
    let owners = assignment(&plan);
    for r in &rows {
        let i: u64 = r["index"].parse().unwrap();
        assert_eq!(r["status"], "ok");
        assert_eq!(r["machine"], owners[&i]);
        assert_eq!(r["square"], (i * i).to_string());
    }
    let summary = read_json(&study.join("merged/summary.json"));
    assert_eq!(summary["ok"], n);
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(
        std::fs::read_to_string(study.join("merged/missing.txt")).unwrap(),
        ""
    );
}
