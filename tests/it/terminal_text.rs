//! Names and values from files reach the terminal escaped (issue 10, failure 16): a machine
//! name or a state in a manifest anyone may have written cannot clear the screen, retitle the
//! window or split a table row; results.csv keeps values verbatim (it is data).

use crate::harness::{read_json, Study};

/// An escape sequence that clears the screen, an OSC that retitles the window, a line break,
/// a C1 control and a right-to-left override.
const HOSTILE: &str = "ws\u{1b}[2J\u{1b}]0;pwned\u{7}\nfake\u{9b}1m\u{202e}x";

/// What a terminal must never receive from a value.
fn assert_clean(what: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(c), "{what} prints {c:?} raw:\n{text}");
    }
    assert!(
        text.contains("\\u{1b}[2J"),
        "{what} does not show the escape:\n{text}"
    );
}

/// A finished run of machine `a` whose manifest then names the machine `HOSTILE`, and whose
/// status.json says it was updated at `HOSTILE`.
fn hostile_output() -> Study {
    let s = Study::with(
        &["echo 1".to_owned(), "echo 2".to_owned()],
        r#"{"a": [1, 1]}"#,
        "",
    );
    s.run("a").arg("-q").assert().success();
    let path = s.machine_dir("a").join("manifest.json");
    let mut m = read_json(&path);
    m["machine"] = HOSTILE.into();
    m["planned"][0]["machine"] = HOSTILE.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let status = s.machine_dir("a").join("status.json");
    let mut st = read_json(&status);
    st["updated_at"] = HOSTILE.into();
    std::fs::write(&status, serde_json::to_vec_pretty(&st).unwrap()).unwrap();
    s
}

#[test]
fn status_table_escapes_names_and_values() {
    let s = hostile_output();
    let out = s.output(&["status", "out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_clean("status", &out.stdout);
    // One header, one machine, one total: the line break in the name did not add a row.
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    // --json is data: the exact value, JSON-escaped.
    let json = s.output(&["status", "out", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["machines"][0]["machine"], HOSTILE);
}

#[test]
fn merge_table_escapes_names() {
    let s = hostile_output();
    let out = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_clean("merge", &out.stdout);
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
}

#[test]
fn plan_table_and_run_headline_escape() {
    // Control characters cannot be machine names; a bidi override can, and --out can hold an
    // escape sequence.
    let s = Study::with(&["echo 1".to_owned()], "{\"ws\u{202e}1\": [1, 1]}", "");
    let out = s.output(&["plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains('\u{202e}'), "{}", out.stdout);
    assert!(out.stdout.contains("ws\\u{202e}1"), "{}", out.stdout);
    let out = s.output(&[
        "run",
        "--yes",
        "--machine",
        "ws\u{202e}1",
        "--out",
        "o\u{1b}[2J",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for c in ['\u{1b}', '\u{202e}'] {
        assert!(
            !out.stderr.contains(c),
            "run prints {c:?} raw:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("o\\u{1b}[2J"), "{}", out.stderr);
}

#[test]
fn an_error_is_one_visible_line() {
    let s = Study::with(&["echo 1".to_owned()], r#"{"a": [1, 1]}"#, "");
    let out = s.output(&["run", "--yes", "--machine", "x\n\u{1b}[2Jjobsplit: all ok"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.stderr);
}

#[test]
fn a_very_long_name_does_not_panic_the_tables() {
    // A name longer than 65535 characters used to make the plan table's padding panic.
    let long = "x".repeat(70_000);
    let s = Study::with(
        &["echo 1".to_owned()],
        &format!("{{\"a\": [1, 1], \"{long}\": [1, 1]}}"),
        "",
    );
    let out = s.output(&["plan"]);
    assert_eq!(out.code, 0, "{}", &out.stderr[..out.stderr.len().min(500)]);
    assert!(out.stdout.contains(&long));
}
