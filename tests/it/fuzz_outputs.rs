//! Fuzzing output directories through the binary (issue 10): a finished study's files
//! (manifest.json, status.json, results.csv, log.gz, a merge's summary.json and results.csv)
//! mutated at random (bytes flipped, cut, inserted, replaced; a JSON field or a CSV cell set to
//! a hostile value) and given to `status`, `merge`, `run` (a resume) and `run --rescue`.
//! The property: never a panic (exit 101) or a death by signal, never a hang, and a refusal
//! (exit 2) is one `jobsplit: error: ` line.
//!
//! `JOBSPLIT_FUZZ_CASES=N` runs N/4 cases (the default is 24).

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use crate::bad_input::{fixture, JOBS, MACHINES};
use crate::fuzz_inputs::cases;
use crate::harness::jobsplit;

const FILES: &[&str] = &[
    "out/a/manifest.json",
    // Both manifests the same way: merge compares them before it reads further.
    "out/*/manifest.json",
    "out/a/status.json",
    "out/a/results.csv",
    "out/a/log.gz",
    "out/b/manifest.json",
    "out/b/results.csv",
    "merged/summary.json",
    "merged/results.csv",
];

const COMMANDS: &[&[&str]] = &[
    &["status", "out"],
    &["status", "out", "--json"],
    &["merge", "out", "--out", "m2"],
    &["run", "--machine", "a", "--yes", "-q"],
    &["run", "--machine", "a", "--yes", "-q", "--rescue", "merged"],
];

/// Hostile JSON values for a manifest's or a summary's fields.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        prop::sample::select(vec![
            json!(null),
            json!(-1),
            json!(0),
            json!(1e15),
            json!(1e300),
            json!(u64::MAX),
            json!("é".repeat(32)),
            json!(format!("a{}", "é".repeat(40))),
            json!("€".repeat(22)),
            json!("\u{1b}[2J"),
            json!(""),
            json!([]),
            json!({}),
            json!(true),
            json!("running"),
            json!("finished"),
            json!("1970-01-01T00:00:00Z"),
            json!(f64::MAX),
        ]),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
    ]
}

/// What is done to the chosen file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(usize, u8)>),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Replace(Vec<u8>),
    Field(usize, serde_json::Value),
    Cell(usize, usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let cell = prop_oneof![
        prop::sample::select(vec![
            "", "x", "-1", "99", "ok", "\"", "a\nb", "1e400", "é", "\u{1b}"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ];
    prop_oneof![
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..8).prop_map(Mutation::Flip),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Mutation::Replace),
        (any::<usize>(), json_value()).prop_map(|(k, v)| Mutation::Field(k, v)),
        (any::<usize>(), any::<usize>(), cell).prop_map(|(r, c, v)| Mutation::Cell(r, c, v)),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match m {
        Mutation::Flip(flips) => {
            for (i, x) in flips {
                if !b.is_empty() {
                    let n = b.len();
                    b[i % n] ^= x | 1;
                }
            }
        }
        Mutation::Cut(i) => b.truncate(at(*i, b.len())),
        Mutation::Insert(i, new) => {
            let i = at(*i, b.len());
            b.splice(i..i, new.iter().copied());
        }
        Mutation::Replace(new) => b = new.clone(),
        Mutation::Field(k, v) => {
            if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&b) {
                if !map.is_empty() {
                    let key = map.keys().nth(k % map.len()).cloned().unwrap_or_default();
                    map.insert(key, v.clone());
                }
                b = serde_json::to_vec_pretty(&map).unwrap();
            }
        }
        Mutation::Cell(r, c, v) => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut rows: Vec<Vec<String>> = reader
                .records()
                .filter_map(Result::ok)
                .map(|rec| rec.iter().map(str::to_owned).collect())
                .collect();
            if !rows.is_empty() {
                let n = rows.len();
                let row = &mut rows[r % n];
                if !row.is_empty() {
                    let m = row.len();
                    row[c % m] = v.clone();
                }
                let mut w = csv::WriterBuilder::new()
                    .flexible(true)
                    .from_writer(Vec::new());
                for row in &rows {
                    w.write_record(row).unwrap();
                }
                b = w.into_inner().unwrap();
            }
        }
    }
    b
}

fn check(dir: &Path, args: &[&str]) -> Result<(), TestCaseError> {
    let out = jobsplit(dir)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .map_err(|e| TestCaseError::fail(format!("cannot run: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    prop_assert!(
        code.is_some(),
        "{args:?}: killed by a signal (or hung): {stderr}"
    );
    prop_assert!(!stderr.contains("panicked"), "{args:?}: a panic: {stderr}");
    prop_assert!(
        matches!(code, Some(0..=2)),
        "{args:?}: exit {code:?}: {stderr}"
    );
    if code == Some(2) {
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("jobsplit: error: "))
            .collect();
        prop_assert_eq!(errors.len(), 1, "{:?}: exit 2 with {}", args, stderr);
        prop_assert_eq!(
            stderr.lines().last(),
            errors.first().copied(),
            "{:?}: exit 2 but the error is not the last line: {}",
            args,
            stderr
        );
    }
    Ok(())
}

#[test]
fn fuzz_output_dirs() {
    let files = fixture();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: (cases(96) / 4).max(1),
        failure_persistence: None,
        max_shrink_iters: 50,
        ..RunnerConfig::default()
    });
    let strategy = (
        prop::sample::select(FILES.to_vec()),
        prop::collection::vec(mutation(), 1..3),
        prop::sample::select(COMMANDS.to_vec()),
    );
    let result = runner.run(&strategy, |(target, mutations, args)| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jobs.txt"), JOBS).unwrap();
        std::fs::write(dir.path().join("machines.json"), MACHINES).unwrap();
        for (rel, bytes) in files {
            let path = dir.path().join(rel);
            match bytes {
                None => std::fs::create_dir_all(&path).unwrap(),
                Some(b) => {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    let hit = rel == Path::new(target)
                        || (target.contains('*') && rel.ends_with("manifest.json"));
                    let b = if hit {
                        mutations.iter().fold(b.clone(), |b, m| apply(&b, m))
                    } else {
                        b.clone()
                    };
                    std::fs::write(&path, b).unwrap();
                }
            }
        }
        check(dir.path(), args)
    });
    if let Err(e) = result {
        panic!("fuzz output dirs: {e}");
    }
}
