//! Job lists (lines, CSV, JSONL) and command templates, given to `run` and `plan`.

use super::{case, check_group, Case};

/// A job list case (`jobs.txt` replaced, or another file named by the flags).
fn jobs(label: &str, file: &str, text: &[u8], extra: &[&str], needles: &[&str]) -> [Case; 2] {
    let mut args = vec!["--jobs", file];
    args.extend_from_slice(extra);
    case(label)
        .file(file, text)
        .says(needles)
        .run_and_plan(&args)
}

#[test]
fn job_lists_lines() {
    let cases: Vec<[Case; 2]> = vec![
        jobs("empty", "j.txt", b"", &[], &["j.txt", "no jobs"]),
        jobs(
            "only comments and blanks",
            "j.txt",
            b"# a\n\n   \n\t# b\n",
            &[],
            &["j.txt", "no jobs"],
        ),
        jobs(
            "not UTF-8 on line 2",
            "j.txt",
            b"echo ok\necho \xff\xfe\n",
            &[],
            &["j.txt:2:", "UTF-8"],
        ),
        jobs(
            "UTF-16 with its mark",
            "j.txt",
            b"\xff\xfee\x00c\x00h\x00o\x00\n\x00",
            &[],
            &["j.txt:1:", "UTF-8"],
        ),
        jobs(
            "Latin-1 on line 3",
            "j.txt",
            b"a\nb\ncaf\xe9\n",
            &[],
            &["j.txt:3:", "UTF-8"],
        ),
        jobs(
            "NUL in line 2",
            "j.txt",
            b"echo 1\necho \x002\necho 3\n",
            &[],
            &["j.txt:2:", "NUL"],
        ),
        jobs(
            "NUL in a line `{}` puts in",
            "j.txt",
            b"a\n\nb\x00\n",
            &["--cmd", "echo {}"],
            &["j.txt:3:", "NUL"],
        ),
        jobs(
            "NUL at the end of the file",
            "j.txt",
            b"echo 1\necho 2\x00",
            &[],
            &["j.txt:2:", "NUL"],
        ),
        jobs(
            "byte order mark",
            "j.txt",
            b"\xef\xbb\xbfecho 1\necho 2\n",
            &[],
            &["j.txt:1:", "byte order mark", "sed"],
        ),
        jobs(
            "byte order mark before a comment",
            "j.txt",
            b"\xef\xbb\xbf# c\necho 2\n",
            &[],
            &["j.txt:1:", "byte order mark"],
        ),
        jobs(
            "a field on a line",
            "j.txt",
            b"echo 1\n",
            &["--cmd", "echo {a}"],
            &["j.txt", "{a}"],
        ),
        jobs(
            "unclosed brace",
            "j.txt",
            b"echo 1\n",
            &["--cmd", "echo {"],
            &["--cmd", "never closed"],
        ),
        jobs(
            "stray closing brace",
            "j.txt",
            b"echo 1\n",
            &["--cmd", "echo }"],
            &["--cmd", "closes nothing"],
        ),
        jobs(
            "brace in a placeholder",
            "j.txt",
            b"echo 1\n",
            &["--cmd", "echo {a{b}}"],
            &["--cmd", "inside a placeholder"],
        ),
        jobs(
            "unknown format",
            "j.txt",
            b"echo 1\n",
            &["--format", "xml"],
            &["--format", "lines, csv or jsonl"],
        ),
    ];
    let mut all: Vec<Case> = cases.into_iter().flatten().collect();
    all.extend(
        case("missing job list")
            .says(&["nope.txt", "no such file"])
            .run_and_plan(&["--jobs", "nope.txt"]),
    );
    all.extend(
        case("job list is a directory")
            .dir("d.txt")
            .says(&["d.txt"])
            .run_and_plan(&["--jobs", "d.txt"]),
    );
    all.extend(
        case("no job list at all")
            .file("jobs.txt", b"")
            .args(&[])
            .says(&["jobs.txt"])
            .run_and_plan(&[]),
    );
    check_group("job lists (lines)", &all);
}

#[test]
fn job_lists_csv() {
    let cmd: &[&str] = &["--cmd", "echo {a}"];
    let cases: Vec<[Case; 2]> = vec![
        jobs(
            "wrong field count",
            "j.csv",
            b"a,b\n1,2\n3,4,5\n",
            cmd,
            &["j.csv:3:", "3 fields", "header has 2"],
        ),
        jobs(
            "too few fields",
            "j.csv",
            b"a,b\n1\n",
            cmd,
            &["j.csv:2:", "1 fields"],
        ),
        jobs("header only", "j.csv", b"a,b\n", cmd, &["j.csv", "no jobs"]),
        jobs("empty file", "j.csv", b"", cmd, &["j.csv", "no jobs"]),
        jobs(
            "unnamed column",
            "j.csv",
            b"a,,c\n1,2,3\n",
            cmd,
            &["j.csv:1:", "column 2", "no name"],
        ),
        jobs(
            "duplicate column",
            "j.csv",
            b"a,a\n1,2\n",
            cmd,
            &["j.csv:1:", "`a` twice"],
        ),
        jobs(
            "not UTF-8",
            "j.csv",
            b"a\nx\n\xff\n",
            cmd,
            &["j.csv:3:", "UTF-8"],
        ),
        jobs(
            "NUL in a value",
            "j.csv",
            b"a\nx\ny\x00z\n",
            cmd,
            &["j.csv:3:", "NUL"],
        ),
        jobs(
            "NUL in a quoted value",
            "j.csv",
            b"a\n\"x\x00\"\n",
            cmd,
            &["j.csv:2:", "NUL"],
        ),
        jobs(
            "template names a missing column",
            "j.csv",
            b"a,b\n1,2\n",
            &["--cmd", "echo {c}"],
            &["j.csv:1:", "{c}", "no column `c`"],
        ),
    ];
    let mut all: Vec<Case> = cases.into_iter().flatten().collect();
    all.push(
        case("records without a template [run]")
            .file("j.csv", b"a,b\n1,2\n")
            .run(&["--jobs", "j.csv"])
            .says(&["j.csv", "command template", "--cmd"]),
    );
    all.push(
        case("lines read as CSV without a template [run]")
            .run(&["--format", "csv"])
            .says(&["jobs.txt", "command template"]),
    );
    check_group("job lists (csv)", &all);
}

#[test]
fn job_lists_jsonl() {
    let cmd: &[&str] = &["--cmd", "echo {a}"];
    let deep = format!("{}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<[Case; 2]> = vec![
        jobs(
            "syntax error",
            "j.jsonl",
            b"{\"a\": 1}\n{\"a\": }\n",
            cmd,
            &["j.jsonl:2:", "not valid JSON"],
        ),
        jobs(
            "two values on a line",
            "j.jsonl",
            b"{\"a\": 1} {\"a\": 2}\n",
            cmd,
            &["j.jsonl:1:", "one JSON value per line"],
        ),
        jobs(
            "only blank lines",
            "j.jsonl",
            b"\n  \n\t\n",
            cmd,
            &["j.jsonl", "no jobs"],
        ),
        jobs(
            "not UTF-8",
            "j.jsonl",
            b"{\"a\": \"\xff\"}\n",
            cmd,
            &["j.jsonl:1:"],
        ),
        jobs(
            "escaped NUL in a value",
            "j.jsonl",
            b"{\"a\": 1}\n{\"a\": \"x\\u0000y\"}\n",
            cmd,
            &["j.jsonl:2:", "NUL"],
        ),
        jobs(
            "escaped NUL in the second field named",
            "j.jsonl",
            b"{\"a\": 1, \"b\": \"\\u0000\"}\n",
            &["--cmd", "echo {a} {b}"],
            &["j.jsonl:1:", "`b`", "NUL"],
        ),
        jobs(
            "raw NUL byte",
            "j.jsonl",
            b"{\"a\": \"x\x00\"}\n",
            cmd,
            &["j.jsonl:1:"],
        ),
        jobs(
            "byte order mark",
            "j.jsonl",
            b"\xef\xbb\xbf{\"a\": 1}\n",
            cmd,
            &["j.jsonl:1:", "byte order mark"],
        ),
        jobs(
            "lone surrogate",
            "j.jsonl",
            b"{\"a\": \"\\ud800\"}\n",
            cmd,
            &["j.jsonl:1:", "not valid JSON"],
        ),
        jobs(
            "number out of range",
            "j.jsonl",
            b"{\"a\": 1e400}\n",
            cmd,
            &["j.jsonl:1:", "not valid JSON"],
        ),
        jobs(
            "nested 10000 deep",
            "j.jsonl",
            deep.as_bytes(),
            &["--cmd", "echo {}"],
            &["j.jsonl:1:", "not valid JSON"],
        ),
        jobs(
            "template names a missing field",
            "j.jsonl",
            b"{\"a\": 1}\n{\"b\": 2}\n",
            cmd,
            &["j.jsonl:2:", "no field `a`"],
        ),
        jobs(
            "a field of a non-object",
            "j.jsonl",
            b"[1, 2]\n",
            cmd,
            &["j.jsonl:1:", "`a`"],
        ),
    ];
    let mut all: Vec<Case> = cases.into_iter().flatten().collect();
    all.push(
        case("records without a template [run]")
            .file("j.jsonl", b"{\"a\": 1}\n")
            .run(&["--jobs", "j.jsonl"])
            .says(&["j.jsonl", "command template"]),
    );
    check_group("job lists (jsonl)", &all);
}
