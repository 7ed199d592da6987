//! Bad input through the real binary: one clear line naming the file (and line or key) with the
//! fix, exit code 2, and nothing written.

use std::path::Path;

use assert_cmd::Command;

/// A study dir with good defaults; `files` overrides or adds files.
fn study(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let defaults: [(&str, &[u8]); 2] = [
        ("jobs.txt", b"echo 1\necho 2\necho 3\n"),
        (
            "machines.json",
            br#"{"a": [1, 2], "b": {"weight": 2, "cores": 1}}"#,
        ),
    ];
    for (name, bytes) in defaults.iter().chain(files) {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// Runs `jobsplit ARGS` in `dir`, expects exit 2 and one error line containing every `needle`,
/// and checks that nothing was written.
fn fails(dir: &Path, args: &[&str], needles: &[&str]) {
    let before = listing(dir);
    let out = Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "args {args:?}: stderr {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("jobsplit: error: "), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {stderr}");
    }
    assert_eq!(listing(dir), before, "files were written");
}

fn listing(dir: &Path) -> Vec<std::path::PathBuf> {
    crate::harness::files_under(dir).into_keys().collect()
}

const PLAN: &[&str] = &["plan"];
const RUN: &[&str] = &["run", "--machine", "a", "--yes"];

fn both(dir: &Path, extra: &[&str], needles: &[&str]) {
    for base in [PLAN, RUN] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        fails(dir, &args, needles);
    }
}

#[test]
fn missing_job_file() {
    let d = study(&[]);
    both(
        d.path(),
        &["--jobs", "nope.txt"],
        &["nope.txt", "no such file"],
    );
}

#[test]
fn no_job_list_at_all() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("machines.json"), r#"{"a": [1, 1]}"#).unwrap();
    both(d.path(), &[], &["--jobs"]);
}

#[test]
fn empty_job_list() {
    let d = study(&[("jobs.txt", b"# only a comment\n\n   \n")]);
    both(d.path(), &[], &["jobs.txt", "no jobs"]);
}

#[test]
fn non_utf8_line() {
    let d = study(&[("jobs.txt", b"echo ok\necho \xff\xfe\n")]);
    both(d.path(), &[], &["jobs.txt:2:", "UTF-8"]);
}

#[test]
fn csv_row_with_wrong_field_count() {
    let d = study(&[("jobs.csv", b"a,b\n1,2\n3,4,5\n")]);
    both(
        d.path(),
        &["--jobs", "jobs.csv", "--cmd", "echo {a}"],
        &["jobs.csv:3:", "3 fields", "header has 2"],
    );
}

#[test]
fn jsonl_syntax_error() {
    let d = study(&[("jobs.jsonl", b"{\"a\": 1}\n{\"a\": }\n")]);
    both(
        d.path(),
        &["--jobs", "jobs.jsonl", "--cmd", "echo {a}"],
        &["jobs.jsonl:2:", "not valid JSON"],
    );
}

#[test]
fn template_field_a_record_lacks() {
    let d = study(&[
        ("jobs.csv", b"a,b\n1,2\n"),
        ("jobs.jsonl", b"{\"a\": 1}\n{\"b\": 2}\n"),
    ]);
    both(
        d.path(),
        &["--jobs", "jobs.csv", "--cmd", "echo {c}"],
        &["jobs.csv:1:", "{c}", "no column `c`"],
    );
    both(
        d.path(),
        &["--jobs", "jobs.jsonl", "--cmd", "echo {a}"],
        &["jobs.jsonl:2:", "no field `a`"],
    );
    both(d.path(), &["--cmd", "echo {a}"], &["jobs.txt", "{a}"]);
}

#[test]
fn malformed_template() {
    let d = study(&[]);
    both(d.path(), &["--cmd", "echo {"], &["never closed"]);
    // From the config, the message names the file and the key.
    let d = study(&[("jobsplit.toml", b"[jobs]\ncommand = \"echo }\"\n")]);
    both(
        d.path(),
        &[],
        &["jobsplit.toml", "[jobs] command", "closes nothing"],
    );
}

#[test]
fn records_without_a_template() {
    // A CSV or JSONL job list has no command of its own: `run` refuses it up front, not job by
    // job (`plan` only hashes the records, so it plans them).
    let d = study(&[("jobs.csv", b"a,b\n1,2\n"), ("jobs.jsonl", b"{\"a\": 1}\n")]);
    run_only(
        d.path(),
        &["--jobs", "jobs.csv"],
        &["jobs.csv", "command template", "--cmd"],
    );
    run_only(
        d.path(),
        &["--jobs", "jobs.jsonl"],
        &["jobs.jsonl", "command template"],
    );
    run_only(
        d.path(),
        &["--format", "csv"],
        &["jobs.txt", "command template"],
    );
}

fn run_only(dir: &Path, extra: &[&str], needles: &[&str]) {
    let args: Vec<&str> = RUN.iter().chain(extra).copied().collect();
    fails(dir, &args, needles);
}

#[test]
fn machines_file_errors() {
    let cases: [(&[u8], &[&str]); 14] = [
        (b"[1, 2]", &["machines.json:1:", "JSON object"]),
        (
            b"{\"a\": [0, 1]}",
            &["machines.json:1:", "`a`", "weight must be"],
        ),
        (
            b"{\n\"a\": [-2, 1]}",
            &["machines.json:2:", "weight must be"],
        ),
        (b"{\"a\": [NaN, 1]}", &["machines.json:1:"]),
        (b"{\"a\": [1, 0]}", &["`a`", "cores must be"]),
        (
            b"{\"a\": [1, 2.5]}",
            &["`a`", "cores must be a whole number", "2.5"],
        ),
        (b"{\"a\": [1, 1], \"a\": [2, 2]}", &["`a`", "twice"]),
        (
            b"{\"a\": {\"wieght\": 1, \"cores\": 1}}",
            &["did you mean `weight`"],
        ),
        (b"{}", &["no machines"]),
        (b"{\"a\": [1, 1]", &["machines.json:1:"]),
        (
            b"{\"a\": [1e999, 1]}",
            &["machines.json:1:", "out of range"],
        ),
        (b"{\"a\": [1, -3]}", &["`a`", "cores must be", "-3"]),
        (
            b"{\"a\": [\"fast\", 1]}",
            &["`a`", "weight must be a number"],
        ),
        (
            b"{\"a\": [1, 1], \"../b\": [1, 1]}",
            &["cannot be a directory name"],
        ),
    ];
    for (text, needles) in cases {
        let d = study(&[("machines.json", text)]);
        // Every message names the file, whatever else it says.
        let needles: Vec<&str> = needles.iter().copied().chain(["machines.json"]).collect();
        both(d.path(), &[], &needles);
    }
    let d = study(&[("machines.json", b"{\"a\": [1, 1], \"\xff\": [1, 1]}")]);
    both(d.path(), &[], &["machines.json", "UTF-8"]);
    let d = study(&[]);
    both(
        d.path(),
        &["--machines", "missing.json"],
        &["missing.json", "no such file"],
    );
}

#[test]
fn config_errors() {
    let d = study(&[("jobsplit.toml", b"[jobs]\nfiel = \"jobs.txt\"\n")]);
    both(
        d.path(),
        &[],
        &[
            "jobsplit.toml:2:",
            "unknown key `fiel`",
            "did you mean `file`",
        ],
    );
    let d = study(&[("jobsplit.toml", b"seed = \"x\"\n[run]\ntimout = 3\n")]);
    both(
        d.path(),
        &[],
        &["jobsplit.toml:3:", "did you mean `timeout`"],
    );
    let d = study(&[("jobsplit.toml", b"[jobs]\nfile = \n")]);
    both(d.path(), &[], &["jobsplit.toml:2:"]);
    let d = study(&[("jobsplit.toml", b"[run]\ntimeout = \"soon\"\n")]);
    both(d.path(), &[], &["jobsplit.toml", "not a duration"]);
    let d = study(&[]);
    both(
        d.path(),
        &["--config", "other.toml"],
        &["other.toml", "no such file"],
    );
}

#[test]
fn init_refuses_to_overwrite() {
    let d = study(&[("jobsplit.toml", b"# mine\n")]);
    fails(
        d.path(),
        &["init", "."],
        &["jobsplit.toml", "already exists"],
    );
    assert_eq!(
        std::fs::read(d.path().join("jobsplit.toml")).unwrap(),
        b"# mine\n"
    );
    // One of the three files is enough to refuse, and none of the others is written.
    for existing in ["jobs.txt", "machines.json", "jobsplit.toml"] {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("study")).unwrap();
        std::fs::write(d.path().join("study").join(existing), "mine\n").unwrap();
        fails(d.path(), &["init", "study"], &[existing, "already exists"]);
    }
    // Other files in the directory are no reason to refuse.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("notes.md"), "mine\n").unwrap();
    Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(d.path())
        .args(["init", "."])
        .assert()
        .success();
    assert!(d.path().join("jobs.txt").is_file());
}

#[test]
fn bad_flags_are_usage_errors() {
    let d = study(&[]);
    let out = Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(d.path())
        .args(["run", "--shard", "4/4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4/4"));
    let out = Command::cargo_bin("jobsplit")
        .unwrap()
        .current_dir(d.path())
        .args(["plan", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
