//! The machines file, given to `run` and `plan`.

use super::{case, check_group, Case};

/// A machines file case, checked with `run` and with `plan`.
fn machines(label: &str, text: &[u8], needles: &[&str]) -> [Case; 2] {
    let mut needles = needles.to_vec();
    needles.push("machines.json");
    case(label)
        .file("machines.json", text)
        .says(&needles)
        .run_and_plan(&[])
}

#[test]
fn machines_file() {
    let cases: Vec<[Case; 2]> = vec![
        machines(
            "a list, not an object",
            b"[1, 2]",
            &["machines.json:1:", "JSON object"],
        ),
        machines(
            "not JSON",
            b"ws1 = 1\n",
            &["machines.json:1:", "JSON object"],
        ),
        machines("empty file", b"", &["machines.json", "JSON object"]),
        machines("unterminated", b"{\"a\": [1, 1]", &["machines.json:1:"]),
        machines(
            "trailing garbage",
            b"{\"a\": [1, 1]} x",
            &["machines.json:1:"],
        ),
        machines("no machines", b"{}", &["no machines", "add at least one"]),
        machines(
            "weight 0",
            b"{\"a\": [0, 1]}",
            &["machines.json:1:", "`a`", "weight must be"],
        ),
        machines(
            "weight negative",
            b"{\n\"a\": [-2, 1]}",
            &["machines.json:2:", "weight must be"],
        ),
        machines("weight NaN", b"{\"a\": [NaN, 1]}", &["machines.json:1:"]),
        machines(
            "weight 1e999",
            b"{\"a\": [1e999, 1]}",
            &["machines.json:1:", "out of range"],
        ),
        machines(
            "weight above 1e6",
            b"{\"a\": [1e7, 1]}",
            &["`a`", "at most"],
        ),
        machines(
            "weight rounds to 0",
            b"{\"a\": [1e-9, 1]}",
            &["`a`", "rounds to 0"],
        ),
        machines(
            "weight a string",
            b"{\"a\": [\"fast\", 1]}",
            &["`a`", "weight must be a number"],
        ),
        machines(
            "weight null",
            b"{\"a\": [null, 1]}",
            &["`a`", "weight must be a number"],
        ),
        machines(
            "cores 0",
            b"{\"a\": [1, 0]}",
            &["`a`", "cores must be", "from 1"],
        ),
        machines(
            "cores negative",
            b"{\"a\": [1, -3]}",
            &["`a`", "cores must be", "-3"],
        ),
        machines(
            "cores fractional",
            b"{\"a\": [1, 2.5]}",
            &["`a`", "whole number", "2.5"],
        ),
        machines(
            "cores above 2^20",
            b"{\"a\": [1, 1048577]}",
            &["`a`", "cores must be"],
        ),
        machines(
            "cores 1e30",
            b"{\"a\": [1, 1e30]}",
            &["`a`", "cores must be"],
        ),
        machines(
            "cores 2^64",
            b"{\"a\": [1, 18446744073709551616]}",
            &["`a`", "cores must be"],
        ),
        machines(
            "cores a string",
            b"{\"a\": [1, \"8\"]}",
            &["`a`", "cores must be"],
        ),
        machines("three items", b"{\"a\": [1, 1, 1]}", &["`a`", "3 items"]),
        machines(
            "a number, not a machine",
            b"{\"a\": 5}",
            &["`a`", "neither a list nor an object"],
        ),
        machines(
            "duplicate name",
            b"{\"a\": [1, 1], \"a\": [2, 2]}",
            &["`a`", "twice"],
        ),
        machines(
            "misspelt key",
            b"{\"a\": {\"wieght\": 1, \"cores\": 1}}",
            &["did you mean `weight`"],
        ),
        machines(
            "missing cores",
            b"{\"a\": {\"weight\": 1}}",
            &["`cores` is missing"],
        ),
        machines(
            "hosts not a list",
            b"{\"a\": {\"weight\": 1, \"cores\": 1, \"hosts\": \"x\"}}",
            &["hosts must be"],
        ),
        machines(
            "hosts of numbers",
            b"{\"a\": {\"weight\": 1, \"cores\": 1, \"hosts\": [1]}}",
            &["hosts must be"],
        ),
        machines(
            "name ..",
            b"{\"a\": [1, 1], \"..\": [1, 1]}",
            &["cannot be a directory name"],
        ),
        machines(
            "name with a slash",
            b"{\"a\": [1, 1], \"../b\": [1, 1]}",
            &["cannot be a directory name"],
        ),
        machines(
            "empty name",
            b"{\"a\": [1, 1], \"\": [1, 1]}",
            &["cannot be a directory name"],
        ),
        machines(
            "name with NUL",
            b"{\"a\": [1, 1], \"b\\u0000\": [1, 1]}",
            &["cannot be a directory name"],
        ),
        machines(
            "name with an escape sequence",
            b"{\"a\": [1, 1], \"\\u001b[31mred\": [1, 1]}",
            &["cannot be a directory name", "\\u{1b}"],
        ),
        machines(
            "not UTF-8",
            b"{\"a\": [1, 1], \"\xff\": [1, 1]}",
            &["UTF-8"],
        ),
        machines(
            "byte order mark",
            b"\xef\xbb\xbf{\"a\": [1, 1]}",
            &["machines.json:1:"],
        ),
        machines(
            "nested 10000 deep",
            format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes(),
            &["machines.json:1:"],
        ),
    ];
    let mut all: Vec<Case> = cases.into_iter().flatten().collect();
    all.extend(
        case("missing machines file")
            .says(&["missing.json", "no such file"])
            .run_and_plan(&["--machines", "missing.json"]),
    );
    all.extend(
        case("machines file is a directory")
            .dir("m.json")
            .says(&["m.json"])
            .run_and_plan(&["--machines", "m.json"]),
    );
    check_group("machines file", &all);
}
