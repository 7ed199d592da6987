//! `jobsplit log --attempt N`, `--failed` and `--tsv`: the TSV read back exactly by pandas,
//! polars and duckdb (each skipped, said on stderr, when not installed; `make test-deps`
//! installs them). R is not on the test machine: its call is documented, not run here.

use std::process::Command;

use crate::harness::Study;

const ONE: &str = r#"{"solo": [1, 1]}"#;

/// The readers' calls, as docs/output-format.md gives them; each prints its text column as JSON.
const READERS: &[(&str, &str)] = &[
    (
        "pandas",
        "import pandas as pd\n\
         df = pd.read_csv('log.tsv', sep='\\t', keep_default_na=False, dtype={'text': str})\n\
         print(json.dumps([list(map(int, df['attempt'])), list(df['text'])]))",
    ),
    (
        "polars",
        "import polars as pl\n\
         df = pl.read_csv('log.tsv', separator='\\t', schema_overrides={'text': pl.String})\n\
         print(json.dumps([df['attempt'].to_list(), df['text'].to_list()]))",
    ),
    (
        "duckdb",
        "import duckdb\n\
         rows = duckdb.sql(\"select attempt, text from read_csv('log.tsv', delim='\\t', quote='\\\"', escape='\\\"', header=true, allow_quoted_nulls=false, types={'text': 'VARCHAR'})\").fetchall()\n\
         print(json.dumps([[r[0] for r in rows], [r[1] for r in rows]]))",
    ),
];

fn study() -> Study {
    // Job 0 prints every character that breaks a naive TSV, fails once, then succeeds.
    let hostile = r#"printf 'tab\there\n"quoted" start\nmid "q" end\nback\\slash \\t\ncr\rin\nünïcödé 😀\n"\n\nNA\n'; if [ -e tried ]; then echo 'second try'; else touch tried; echo 'why "it" failed' >&2; exit 4; fi"#;
    let jobs = vec![hostile.to_owned(), "echo fine".to_owned()];
    let s = Study::with(&jobs, ONE, "");
    s.run("solo")
        .args(["--threads", "1", "--retries", "1"])
        .assert()
        .code(0);
    s
}

fn log(s: &Study, args: &[&str]) -> String {
    let out = s.output(&[&["log"], args].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// (attempt, text) of each `--json` line: the truth the TSV readers must give back.
fn json_lines(s: &Study, args: &[&str]) -> (Vec<u64>, Vec<String>) {
    let text = log(s, &[args, &["--json"]].concat());
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let attempts = objs
        .iter()
        .map(|o| o["attempt"].as_u64().unwrap())
        .collect();
    let texts = objs
        .iter()
        .map(|o| o["text"].as_str().unwrap().to_owned())
        .collect();
    (attempts, texts)
}

#[test]
fn attempt_and_failed_keep_the_attempts_asked_for() {
    let s = study();
    let (all, _) = json_lines(&s, &["out/solo", "0"]);
    assert!(all.contains(&1) && all.contains(&2), "{all:?}");
    let (first, texts) = json_lines(&s, &["out/solo", "0", "--attempt", "1"]);
    assert!(first.iter().all(|&a| a == 1) && !first.is_empty());
    assert!(texts.iter().any(|t| t == r#"why "it" failed"#), "{texts:?}");
    let (second, texts) = json_lines(&s, &["out/solo", "0", "--attempt", "2"]);
    assert!(second.iter().all(|&a| a == 2) && !second.is_empty());
    assert!(texts.iter().any(|t| t == "second try"), "{texts:?}");
    // --failed: the failed first attempt of job 0 (retried, ok after), nothing of job 1.
    let (failed, texts) = json_lines(&s, &["out", "--failed"]);
    assert_eq!(failed, first, "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("attempt 1 failed")));
    assert!(log(&s, &["out", "1", "--failed"]).is_empty());
    assert!(log(&s, &["out", "0", "--failed", "--attempt", "2"]).is_empty());
}

#[test]
fn tsv_is_read_back_exactly_by_pandas_polars_and_duckdb() {
    let s = study();
    let (attempts, texts) = json_lines(&s, &["out", "0"]);
    for want in [
        "tab\there",
        "\"quoted\" start",
        "back\\slash \\t",
        "cr\rin",
        "ünïcödé 😀",
        "\"",
        "",
        "NA",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} in {texts:?}");
    }
    let tsv = log(&s, &["out", "0", "--tsv"]);
    assert!(
        tsv.starts_with("time\tjob\tattempt\tstream\ttext\n"),
        "{tsv}"
    );
    s.write("log.tsv", &tsv);
    let want = serde_json::json!([attempts, texts]);
    for (name, code) in READERS {
        let present = Command::new("python3")
            .args(["-c", &format!("import {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            eprintln!("log_tsv: {name} is not installed; its reading is not checked");
            continue;
        }
        let out = Command::new("python3")
            .args(["-c", &format!("import json\n{code}")])
            .current_dir(s.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(got, want, "{name} read the TSV back differently");
    }
}
