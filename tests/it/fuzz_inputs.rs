//! Fuzzing the four input parsers in-process (issue 10): job lists in each format, the machines
//! file, the config and command templates, fed random and mutated bytes, and everything a
//! loaded input is then used for (records, job bytes, commands, the work digest, a plan).
//! The property: never a panic, and every refusal is an error of one line.
//!
//! A short run is part of the suite; `JOBSPLIT_FUZZ_CASES=N` runs N cases per parser (the
//! default is 256), e.g. `JOBSPLIT_FUZZ_CASES=5000 cargo test --release --test it fuzz_`.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use jobsplit::testing::{parse_machines, Config, Record};
use jobsplit::Plan;
use jobsplit::Work;
use jobsplit::{ErrorKind, Format, JobList, Machine, Template};

/// Cases per parser: `JOBSPLIT_FUZZ_CASES`, else `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("JOBSPLIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` over `cases` inputs of `strategy` and fails (with the shrunk input) on a panic or
/// a failed check.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..RunnerConfig::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("fuzz {name}: {e}");
    }
}

/// A refusal must be one line (the binary prints it after `jobsplit: error: `), and of the kind
/// of the input refused (`kinds`), so a caller can tell a bad job list from a bad template.
fn refused(what: &str, e: &jobsplit::Error, kinds: &[ErrorKind]) -> Result<(), TestCaseError> {
    prop_assert!(
        kinds.contains(&e.kind()),
        "{what}: a refusal of kind {:?}, not {kinds:?}: {e}",
        e.kind()
    );
    let text = e.to_string();
    prop_assert!(
        !text.contains('\n'),
        "{what}: a message of several lines: {text:?}"
    );
    prop_assert!(!text.is_empty(), "{what}: an empty message");
    Ok(())
}

/// Bytes made of `tokens` (the pieces a format is made of, and the ones that break it), with
/// now and then a random byte.
fn tokens(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        8 => prop::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => "\\PC{0,4}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(token, 0..max).prop_map(|parts| parts.concat())
}

#[rustfmt::skip]
const JOB_TOKENS: &[&str] = &[
    "echo 1", "\n", "\n", "\r\n", "\r", ",", ",", "\"", "\"\"", "#", " ", "\t", "\u{b}", "\0",
    "\u{feff}", "\u{a0}", "é", "\\u0000", "\\", "{", "}", "[", "]", ":", "1e400", "-0", "null",
    "a", "b", "{\"a\":1}", "{\"a\":\"x\"}", "[1,\"2\"]", "\"a\"", "\u{2028}", "\u{1b}[2J",
    "a,b\n", "\"\n\"", "{}", "true", "1.5e308", "18446744073709551616",
];

#[rustfmt::skip]
const MACHINE_TOKENS: &[&str] = &[
    "{", "}", "[", "]", "\"a\"", "\"b\"", "\"a\"", ":", ",", ",", "1", "0", "-1", "1e999", "2.5",
    "1e-9", "1048577", "1e6", "\"weight\"", "\"cores\"", "\"hosts\"", "null", "true",
    "\"\\u0000\"", "\"..\"", "\"\\u001b\"", " ", "\n", "18446744073709551616", "[1, 1]",
    "{\"weight\": 1, \"cores\": 2}", "\"h.lab\"", "\u{feff}", "\"\u{202e}\"",
];

#[rustfmt::skip]
const CONFIG_TOKENS: &[&str] = &[
    "[run]\n", "[jobs]\n", "[params]\n", "timeout = ", "grace = ", "progress_interval = ",
    "threads = ", "retries = ", "nice = ", "seed = ", "machines = ", "file = ", "format = ",
    "command = ", "capture = ", "out = ", "job_logs = ", "fsync = ", "x = ", "1e20", "-5", "0",
    "1", "0.05", "4294967295", "18446744073709551616", "\"1h\"", "\"500years\"",
    "\"18446744073709551616s\"", "nan", "inf", "-inf", "\"a\\u0000\"", "true", "\"x\"",
    "{ a = 1 }", "[1, 2]", "\n", "\n", "=", "\"", "\"lines\"", "\"csv\"", "\"last-line\"",
    "\"echo {\"", "\"echo {a}\"", "1979-05-27T07:32:00Z", "'lit'", "\"\"\"\nmulti\n\"\"\"",
];

#[rustfmt::skip]
const TEMPLATE_TOKENS: &[&str] = &[
    "{", "}", "{{", "}}", "{}", "{#}", "{a}", "{b}", "echo ", " ", "\0", "é", "'", "\"", "$(x)",
];

/// Exercises a loaded job list the way `plan` and `run` do.
fn use_job_list(list: JobList, template: Option<Template>) -> Result<(), TestCaseError> {
    let n = list.len().min(64);
    for i in 0..n {
        let record = list.record(i);
        let _ = list.job_bytes(i);
        let _ = list.line_of(i);
        if let Some(t) = &template {
            if let Err(e) = t.render(i, &record) {
                refused("render", &e, &[ErrorKind::Template])?;
            }
        }
    }
    let work = match Work::new(list, template, Default::default(), Some("s".to_owned())) {
        Ok(w) => w,
        Err(e) => return refused("work", &e, &[ErrorKind::Template, ErrorKind::JobList]),
    };
    for i in 0..n {
        let _ = work.key(i);
        // What Work::new accepts, run can run: no command holds a NUL.
        match work.command(i) {
            Ok(command) => prop_assert!(!command.contains('\0'), "a NUL in {command:?}"),
            Err(e) => refused("command", &e, &[ErrorKind::Template])?,
        }
    }
    let machines = vec![
        Machine::new("a", 1.0, 2).unwrap(),
        Machine::new("b", 2.5, 1).unwrap(),
    ];
    let plan = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines, &[]);
    prop_assert!(
        plan.is_ok(),
        "a loaded job list cannot be planned: {:?}",
        plan.err()
    );
    Ok(())
}

#[test]
fn fuzz_job_lists() {
    let formats = prop::sample::select(vec![Format::Lines, Format::Csv, Format::Jsonl]);
    let template = prop::option::of(tokens(TEMPLATE_TOKENS, 8));
    fuzz(
        "job lists",
        cases(256),
        (formats, tokens(JOB_TOKENS, 60), template),
        |(format, bytes, template)| match JobList::from_bytes(Path::new("jobs"), format, bytes) {
            Ok(list) => {
                let template = template
                    .and_then(|t| String::from_utf8(t).ok())
                    .and_then(|t| t.parse::<Template>().ok());
                use_job_list(list, template)
            }
            Err(e) => refused("job list", &e, &[ErrorKind::JobList]),
        },
    );
}

#[test]
fn fuzz_machines_file() {
    let structured = (prop::collection::vec(
        (
            prop::sample::select(vec!["a", "b", "..", "", "a\u{0}", "é", "x\u{202e}"]),
            prop::sample::select(vec![
                "1",
                "0",
                "-1",
                "1e6",
                "1000000.1",
                "1e-7",
                "5e-7",
                "NaN",
                "1e308",
                "2.5",
            ]),
            prop::sample::select(vec![
                "1",
                "0",
                "1048576",
                "1048577",
                "-1",
                "2.0",
                "1e3",
                "18446744073709551615",
            ]),
        ),
        0..5,
    )
    .prop_map(|ms| {
        let body: Vec<String> = ms
            .iter()
            .map(|(n, w, c)| format!("{}: [{w}, {c}]", serde_json::to_string(n).unwrap()))
            .collect();
        format!("{{{}}}", body.join(", ")).into_bytes()
    }),);
    let text = prop_oneof![tokens(MACHINE_TOKENS, 40), structured.0];
    fuzz("machines file", cases(256), text, |bytes| {
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(());
        };
        match parse_machines(Path::new("machines.json"), &text) {
            Ok(machines) => {
                for m in &machines {
                    prop_assert!(m.weight_micro >= 1 && (1..=1 << 20).contains(&m.cores));
                    prop_assert!(!m.name.chars().any(char::is_control), "{:?}", m.name);
                }
                let plan = Plan::new(jobsplit::Digest([7; 32]), 1000, b"", machines, &[]);
                prop_assert!(plan.is_ok(), "{:?}", plan.err());
                Ok(())
            }
            Err(e) => refused("machines", &e, &[ErrorKind::Machines]),
        }
    });
}

/// A config of `key = value` lines, each key once, under `[run]`, `[jobs]` and `[params]`:
/// well-formed TOML, so that the values (not the syntax) are what is fuzzed.
fn structured_config() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        prop::sample::select(CONFIG_TOKENS.to_vec()).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "[0-9]{1,25}(s|m|h|d|y|ms|ns)?".prop_map(|t| format!("\"{t}\"")),
    ];
    let table = |keys: Vec<&'static str>| {
        prop::collection::btree_map(prop::sample::select(keys), value.clone(), 0..4)
    };
    (
        table(vec![
            "timeout",
            "grace",
            "progress_interval",
            "threads",
            "retries",
            "nice",
            "capture",
            "out",
            "job_logs",
            "fsync",
        ]),
        table(vec!["file", "format", "command"]),
        table(vec!["x", "y", "name"]),
    )
        .prop_map(|(run, jobs, params)| {
            let mut text = String::new();
            for (name, table) in [("run", run), ("jobs", jobs), ("params", params)] {
                text += &format!("[{name}]\n");
                for (k, v) in table {
                    text += &format!("{k} = {v}\n");
                }
            }
            text.into_bytes()
        })
}

#[test]
fn fuzz_config() {
    let text = prop_oneof![tokens(CONFIG_TOKENS, 30), structured_config()];
    fuzz("config", cases(256), text, |bytes| {
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(());
        };
        match Config::parse(Path::new("jobsplit.toml"), &text) {
            Ok(c) => {
                let r = &c.run;
                prop_assert!(r.nice >= 0 && r.nice <= 19);
                prop_assert!(r.retries <= 1000);
                prop_assert!(r.threads.is_none_or(|t| (1..=4096).contains(&t)));
                prop_assert!(r.progress_interval >= std::time::Duration::from_millis(100));
                if let Some(command) = &c.jobs.command {
                    if let Err(e) = command.parse::<Template>() {
                        refused("config command", &e, &[ErrorKind::Template])?;
                    }
                }
                Ok(())
            }
            Err(e) => refused("config", &e, &[ErrorKind::Config]),
        }
    });
}

#[test]
fn fuzz_templates() {
    let record = prop_oneof![
        "\\PC{0,12}".prop_map(serde_json::Value::String),
        prop::collection::btree_map("[ab#]{0,2}", "\\PC{0,6}", 0..3).prop_map(|m| {
            serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, v.into())).collect())
        }),
        any::<i64>().prop_map(serde_json::Value::from),
    ];
    fuzz(
        "templates",
        cases(512),
        (
            tokens(TEMPLATE_TOKENS, 12),
            record,
            "\\PC{0,12}",
            any::<u64>(),
        ),
        |(source, record, line, index)| {
            let Ok(source) = String::from_utf8(source) else {
                return Ok(());
            };
            match source.parse::<Template>() {
                Ok(t) => {
                    for r in [Record::Line(&line), Record::Json(record)] {
                        let _ = t.missing_field(&r);
                        if let Err(e) = t.render(index, &r) {
                            refused("render", &e, &[ErrorKind::Template])?;
                        }
                    }
                    Ok(())
                }
                Err(e) => refused("template", &e, &[ErrorKind::Template]),
            }
        },
    );
}
