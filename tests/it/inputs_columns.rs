//! Inputs beside results (docs/output-format.md, *Inputs beside results*): every row of
//! results.csv, per host and merged, carries the job's inputs (`input_<field>` for a CSV or JSONL
//! field, `input` for a line) and the command as run (`command`), right after the fixed columns
//! and before the results, whose fields can never take those names.

use std::collections::BTreeMap;

use jobsplit::testing::ColumnKind;

use crate::harness::{read_csv, Results, Study};

const TWO: &str = r#"{"a": [1, 1], "b": [1, 1]}"#;
const ONE: &str = r#"{"solo": [1, 1]}"#;

/// A study over `file` (its name says its format) with command template `command`.
fn study(file: &str, contents: &str, command: &str, machines: &str) -> Study {
    let s = Study::new();
    s.write(file, contents);
    s.write("machines.json", machines);
    s.write(
        "jobsplit.toml",
        format!(
            "machines = \"machines.json\"\n[jobs]\nfile = \"{file}\"\ncommand = '''{command}'''\n"
        ),
    );
    s
}

fn merged(s: &Study, inputs: &[&str]) -> Results {
    let mut args = vec!["merge"];
    args.extend(inputs);
    args.extend(["--out", "merged"]);
    let o = s.output(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    Results::read(&s.join("merged/results.csv"))
}

/// Rewrites the results.csv at `path` as an earlier version wrote it: without the input and
/// command columns.
fn as_before_inputs(path: &std::path::Path) {
    let (header, rows) = read_csv(path);
    let keep: Vec<&String> = header
        .iter()
        .enumerate()
        .filter(|(i, c)| *i < 9 || ColumnKind::of(c) == ColumnKind::Result)
        .map(|(_, c)| c)
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&keep).unwrap();
    for row in &rows {
        w.write_record(keep.iter().map(|c| row[*c].as_str()))
            .unwrap();
    }
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
}

fn by_index(r: &Results) -> BTreeMap<u64, BTreeMap<String, String>> {
    r.rows
        .iter()
        .map(|row| (row.index(), row.stable()))
        .collect()
}

#[test]
fn a_csv_list_puts_its_fields_and_the_command_between_the_fixed_columns_and_the_results() {
    // Values a CSV must quote, a field named like a result and results named like inputs.
    let list = "alpha,note,command\n1,\"a,b\",x\n2,\"line1\nline2 \"\"q\"\"\",y\n3,,z\n";
    let command = r#"printf '{{"loss": %s, "command": "mine", "input_alpha": 9, "input": 8}}' {alpha} > "$JOBSPLIT_RESULT""#;
    let s = study("jobs.csv", list, command, ONE);
    s.run("solo").assert().code(0);
    let r = s.results("solo");
    assert_eq!(
        &r.headers[9..],
        [
            "input_alpha",
            "input_note",
            "input_command",
            "command",
            "loss",
            "result_command",
            "result_input_alpha",
            "result_input",
        ],
        "inputs, then the command, then results"
    );
    let notes = ["a,b", "line1\nline2 \"q\"", ""];
    for row in &r.rows {
        let i = row.index();
        assert_eq!(row.get("input_alpha"), (i + 1).to_string());
        assert_eq!(row.get("input_note"), notes[i as usize]);
        assert_eq!(row.get("input_command"), ["x", "y", "z"][i as usize]);
        let as_run = command
            .replace("{alpha}", &(i + 1).to_string())
            .replace("{{", "{")
            .replace("}}", "}");
        assert_eq!(row.get("command"), as_run);
        assert_eq!(row.get("loss"), (i + 1).to_string());
        assert_eq!(row.get("result_command"), "mine");
        assert_eq!(row.get("result_input_alpha"), "9");
        assert_eq!(row.get("result_input"), "8");
    }
    // A rerun resumes the file as it is.
    s.run("solo").assert().code(0);
    assert_eq!(s.results("solo"), r);
}

#[test]
fn jsonl_fields_keep_their_order_nested_values_are_canonical_json_and_other_values_are_input() {
    let list = concat!(
        r#"{"n": 1, "cfg": {"z": [1.5, true], "a": null}, "name": "x"}"#,
        "\n",
        r#"{"name": "y", "extra": "only here"}"#,
        "\n",
        r#"{"n": 3, "name": null}"#,
        "\n",
    );
    let s = study("jobs.jsonl", list, "echo {name}", ONE);
    s.run("solo").args(["--threads", "1"]).assert().code(0);
    let r = s.results("solo");
    // In the order first seen: the plan's order decides which record comes first.
    let mut inputs = r.columns_of(ColumnKind::Input);
    inputs.sort();
    assert_eq!(
        inputs,
        ["input_cfg", "input_extra", "input_n", "input_name"]
    );
    assert_eq!(r.columns_of(ColumnKind::Command), ["command"]);
    assert!(r.result_columns().is_empty());
    let rows = by_index(&r);
    assert_eq!(rows[&0]["input_cfg"], r#"{"a":null,"z":[1.5,true]}"#);
    assert_eq!(rows[&0]["input_n"], "1");
    assert_eq!(
        rows[&0]["input_extra"], "",
        "a field a record lacks is empty"
    );
    assert_eq!(rows[&1]["input_extra"], "only here");
    assert_eq!(rows[&1]["input_n"], "");
    assert_eq!(rows[&2]["input_name"], "", "null is empty");
    assert_eq!(rows[&1]["command"], "echo y");

    // A JSON value that is not an object is the one `input` column.
    let s = study("jobs.jsonl", "[1, 2]\n\"text\"\n", "echo {}", ONE);
    s.run("solo").assert().code(0);
    let r = s.results("solo");
    assert_eq!(r.columns_of(ColumnKind::Input), ["input"]);
    let rows = by_index(&r);
    assert_eq!(rows[&0]["input"], "[1,2]");
    assert_eq!(rows[&1]["input"], "text");
}

#[test]
fn a_lines_list_gives_the_line_as_input_and_the_command_as_run() {
    let s = study("jobs.txt", "a b\nc\n", "echo {} {%}", ONE);
    s.run("solo").args(["--threads", "1"]).assert().code(0);
    let r = s.results("solo");
    assert_eq!(&r.headers[9..], ["input", "command"]);
    let rows = by_index(&r);
    assert_eq!(rows[&0]["input"], "a b");
    // `{%}` is the slot the job ran in: the command as run, not the template.
    assert_eq!(
        rows[&0]["command"], "echo 'a b' 1",
        "the line quoted as the template does"
    );
    assert_eq!(rows[&1]["command"], "echo c 1");
}

/// A results.csv written before inputs were recorded (fixed and result columns only) is
/// resumed: the header grows with the inputs placed before the results, and the old rows keep
/// their results in their columns with empty inputs.
#[test]
fn a_results_file_from_before_grows_its_inputs_in_front_of_its_results() {
    let gate = "gate";
    let command = format!(
        r#"test {{x}} = 1 || test -e {gate} || exit 3; printf '{{{{"y": %s}}}}' {{x}} > "$JOBSPLIT_RESULT""#
    );
    let s = study("jobs.csv", "x\n1\n2\n", &command, ONE);
    s.run("solo").assert().code(1);
    let path = s.machine_dir("solo").join("results.csv");
    // Rewrite it as a file of an earlier version: no input columns, no command.
    as_before_inputs(&path);

    s.write(gate, "");
    s.run("solo").assert().code(0);
    let r = s.results("solo");
    assert_eq!(&r.headers[9..], ["input_x", "command", "y"]);
    let old = r.rows.iter().find(|row| row.index() == 0).unwrap();
    assert_eq!(
        old.get("y"),
        "1",
        "the old row's result stays in its column"
    );
    assert_eq!(old.get("input_x"), "", "the old row had no inputs recorded");
    let rerun = r.rows.iter().rfind(|row| row.index() == 1).unwrap();
    assert_eq!(rerun.status(), "ok");
    assert_eq!(rerun.get("input_x"), "2");
    assert_eq!(rerun.get("y"), "2");
}

#[test]
fn merge_joins_hosts_by_column_name_with_inputs_first_even_when_one_host_is_from_before() {
    let list = "p,q\n1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n";
    let command = r#"printf '{{"r": "%s%s"}}' {p} {q} > "$JOBSPLIT_RESULT""#;
    let s = study("jobs.csv", list, command, TWO);
    s.run("a").assert().code(0);
    s.run("b").assert().code(0);
    // Host b wrote its file before inputs were recorded: result column only.
    let path = s.machine_dir("b").join("results.csv");
    as_before_inputs(&path);

    let r = merged(&s, &["out"]);
    assert_eq!(&r.headers[9..], ["input_p", "input_q", "command", "r"]);
    assert_eq!(r.rows.len(), 6);
    for row in &r.rows {
        let (p, q) = (row.index() + 1, (b'a' + row.index() as u8) as char);
        assert_eq!(row.get("r"), format!("{p}{q}"));
        if row.get("machine") == "a" {
            assert_eq!(row.get("input_p"), p.to_string());
            assert_eq!(row.get("input_q"), q.to_string());
            assert!(row.get("command").starts_with("printf"));
        } else {
            assert_eq!(row.get("input_p"), "");
        }
    }
}

/// Worker studies record the inputs (their jobs are records) but no command: the worker was
/// given the record, not a command line.
#[test]
fn worker_rows_carry_inputs_and_no_command() {
    let s = Study::new();
    s.write(
        "w.py",
        r#"import json, sys
print(json.dumps({"hello": "jobsplit-worker", "version": 1}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps({"index": job["index"], "ok": True, "result": {"double": job["record"]["x"] * 2}}), flush=True)
"#,
    );
    s.write("jobs.jsonl", "{\"x\": 1}\n{\"x\": 5}\n");
    s.write("machines.json", ONE);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[jobs]\nfile = \"jobs.jsonl\"\nworker = \"python3 -u w.py\"\n",
    );
    let out = s.run("solo").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::harness::text(&out.stderr)
    );
    let r = s.results("solo");
    assert_eq!(&r.headers[9..], ["input_x", "double"]);
    let rows = by_index(&r);
    assert_eq!(rows[&1]["input_x"], "5");
    assert_eq!(rows[&1]["double"], "10");
}
