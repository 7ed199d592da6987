//! Output directories given to `run` (its own), `merge`, `status` and `run --rescue`.

use super::{case, check_group, Case};

const MANIFEST: &str = "out/a/manifest.json";
const SUMMARY: &str = "merged/summary.json";

fn merge(label: &str) -> Case {
    case(label).with_output()
}

fn merge_args(c: Case, needles: &[&str]) -> Case {
    c.args(&["merge", "out", "--out", "m2"]).says(needles)
}

fn status_args(c: Case, needles: &[&str]) -> Case {
    c.args(&["status", "out"]).says(needles)
}

fn set(path: &'static str, value: serde_json::Value) -> impl FnOnce(&mut serde_json::Value) {
    move |v| v[path] = value
}

/// `run` refusing its output directory (before its headline: the refusal is the one line).
#[test]
fn run_output_dir() {
    let cases = vec![
        // With -q: Runner::check does not look at OUT itself, so the headline comes first (see
        // output_dir_states_pending).
        case("out is a file")
            .file("out", b"x")
            .run(&["-q"])
            .says(&["out"]),
        case("out/a is a file")
            .file("out/a", b"x")
            .run(&[])
            .says(&["out/a"]),
        case("another plan's output")
            .with_output()
            .run(&["--seed", "other"])
            .says(&["out/a", "--fresh"]),
        case("another work's output with --keep-done and --expect-digest")
            .with_output()
            .run(&["--seed", "other", "--expect-digest", "0000"])
            .says(&["--expect-digest"]),
        case("--out names a file")
            .file("o", b"x")
            .run(&["-q", "--out", "o"])
            .says(&["o"]),
    ];
    check_group("run output dir", &cases);
}

#[test]
fn merge_inputs() {
    let cases = vec![
        merge_args(case("missing input"), &["out", "not a directory"]),
        merge_args(
            case("input is a file").file("out", b"x"),
            &["out", "not a directory"],
        ),
        merge_args(
            case("no manifest").dir("out/a"),
            &["out", "no manifest.json"],
        ),
        merge_args(
            merge("manifest not JSON").file(MANIFEST, b"{"),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest empty").file(MANIFEST, b""),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest an array").file(MANIFEST, b"[]"),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest not UTF-8").file(MANIFEST, b"{\"a\": \"\xff\"}"),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest without work_digest").edit_json(MANIFEST, |v| {
                v.as_object_mut().unwrap().remove("work_digest");
            }),
            &["manifest.json", "work_digest"],
        ),
        merge_args(
            merge("manifest jobs_total a string")
                .edit_json(MANIFEST, set("jobs_total", "3".into())),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest jobs_total -1").edit_json(MANIFEST, set("jobs_total", (-1).into())),
            &["manifest.json"],
        ),
        merge_args(
            merge("manifest jobs_total 1e15 (both)")
                .edit_json(MANIFEST, set("jobs_total", 1_000_000_000_000_000u64.into()))
                .edit_json(
                    "out/b/manifest.json",
                    set("jobs_total", 1_000_000_000_000_000u64.into()),
                ),
            &["jobs_total"],
        ),
        merge_args(
            merge("manifest jobs_total 2^64-1 (both)")
                .edit_json(MANIFEST, set("jobs_total", u64::MAX.into()))
                .edit_json("out/b/manifest.json", set("jobs_total", u64::MAX.into())),
            &["jobs_total"],
        ),
        merge_args(
            merge("manifests of two works")
                .edit_json(MANIFEST, set("work_digest", "ab".repeat(32).into())),
            &["out/", "work", "one study"],
        ),
        merge_args(
            merge("a manifest digest not hex (not ASCII)").edit_json(
                MANIFEST,
                set("work_digest", format!("a{}", "é".repeat(40)).into()),
            ),
            &[
                "out/a/manifest.json",
                "`work_digest` is not 64 lowercase hex digits",
            ],
        ),
        merge_args(merge("the same machine twice").args(&[]), &[])
            .args(&["merge", "out", "out/a", "--out", "m2"])
            .says(&["a"]),
        merge_args(merge("--out is an input"), &[])
            .args(&["merge", "out", "--out", "out/a"])
            .says(&["out/a"]),
        merge_args(merge("--out is a file").file("m2", b"x"), &["m2"]),
        merge_args(merge("--write-machines exists").file("w.json", b"{}"), &[])
            .args(&["merge", "out", "--out", "m2", "--write-machines", "w.json"])
            .says(&["w.json", "exists"]),
        merge(" no inputs")
            .args(&["merge", "--out", "m2"])
            .says(&["DIR"]),
    ];
    check_group("merge inputs", &cases);
}

#[test]
fn status_inputs() {
    let cases = vec![
        status_args(case("missing input"), &["out", "not a directory"]),
        status_args(
            case("input is a file").file("out", b"x"),
            &["out", "not a directory"],
        ),
        status_args(
            case("no manifest").dir("out/a"),
            &["out", "no manifest.json"],
        ),
        status_args(
            merge("manifest not JSON").file(MANIFEST, b"{"),
            &["manifest.json"],
        ),
        status_args(
            merge("manifest empty").file(MANIFEST, b""),
            &["manifest.json"],
        ),
        status_args(
            merge("manifest a number").file(MANIFEST, b"7"),
            &["manifest.json"],
        ),
        status_args(
            merge("manifest without machine").edit_json(MANIFEST, |v| {
                v.as_object_mut().unwrap().remove("machine");
            }),
            &["manifest.json", "machine"],
        ),
        status_args(
            merge("manifest share a float").edit_json(MANIFEST, set("share", 1.5.into())),
            &["manifest.json"],
        ),
        status_args(
            merge("manifest counts null")
                .edit_json(MANIFEST, set("counts", serde_json::Value::Null)),
            &["manifest.json"],
        ),
        merge("no inputs").args(&["status"]).says(&["DIR"]),
    ];
    check_group("status inputs", &cases);
}

fn rescue(c: Case, needles: &[&str]) -> Case {
    c.run(&["--rescue", "merged"]).says(needles)
}

#[test]
fn rescue_inputs() {
    let cases = vec![
        rescue(case("missing merge output"), &["merged"]),
        rescue(merge("no summary.json").remove(SUMMARY), &["summary.json"]),
        rescue(
            merge("summary not JSON").file(SUMMARY, b"{"),
            &["summary.json"],
        ),
        rescue(
            merge("summary of another work")
                .edit_json(SUMMARY, set("work_digest", "ab".repeat(32).into())),
            &["merged", "abababab", "same job list"],
        ),
        rescue(
            merge("summary digest not ASCII").edit_json(
                SUMMARY,
                set("work_digest", format!("a{}", "é".repeat(40)).into()),
            ),
            &["merged", "same job list"],
        ),
        rescue(
            merge("summary digest with an escape sequence")
                .edit_json(SUMMARY, set("work_digest", "\u{1b}[2J".into())),
            &["merged", "\\u{1b}"],
        ),
        rescue(
            merge("summary jobs_total a string").edit_json(SUMMARY, set("jobs_total", "3".into())),
            &["summary.json"],
        ),
        rescue(
            merge("results.csv missing").remove("merged/results.csv"),
            &["results.csv"],
        ),
        rescue(
            merge("results.csv index out of range")
                .edit("merged/results.csv", |t| t.replacen("\n0,", "\n99,", 1)),
            &["results.csv:2:"],
        ),
        rescue(
            merge("results.csv index not a number")
                .edit("merged/results.csv", |t| t.replacen("\n0,", "\nx,", 1)),
            &["results.csv:2:"],
        ),
    ];
    check_group("rescue inputs", &cases);
}

/// Output directories that issue 10's failures 4, 6 and 11 were about (fixed by the lead and
/// other helpers): a damaged or foreign file, a symbolic link, a name no directory can have.
#[test]
fn output_dir_states() {
    let cases = vec![
        case("log.gz that is not gzip")
            .with_output()
            .file("out/a/log.gz", b"not gzip")
            .run(&[])
            .says(&["log.gz"]),
        case("a foreign results.csv")
            .with_output()
            .file("out/a/results.csv", b"x,y\n1,2\n")
            .run(&[])
            .says(&["results.csv"]),
        case("a corrupt manifest")
            .with_output()
            .file(MANIFEST, b"{")
            .run(&[])
            .says(&["manifest.json"]),
        case("OUT/a/tmp is a file")
            .file("out/a/tmp", b"x")
            .run(&[])
            .says(&["tmp"]),
        case("a 300-character machine name")
            .file(
                "machines.json",
                format!("{{\"{}\": [1, 1]}}", "m".repeat(300)),
            )
            .args(&["run", "--yes", "--machine", &"m".repeat(300)])
            .says(&["300 bytes", "at most 255", "machines file"]),
        case("results.csv a symlink")
            .with_output()
            .symlink("out/a/results.csv", "../../victim")
            .file("victim", b"mine\n")
            .run(&[])
            .says(&["results.csv", "symbolic link"]),
        case("log.gz a symlink")
            .with_output()
            .symlink("out/a/log.gz", "../../victim")
            .file("victim", b"mine\n")
            .run(&[])
            .says(&["log.gz", "symbolic link"]),
        status_args(
            merge("failure 4: manifest.json is a directory, the machine is skipped")
                .remove(MANIFEST)
                .dir(MANIFEST),
            &["manifest.json"],
        ),
        case("dangling results.csv link")
            .symlink("out/a/results.csv", "../../nowhere")
            .run(&[])
            .says(&["results.csv", "symbolic link"]),
    ];
    check_group("output dir states", &cases);
}

/// `--out` naming a file, with the headline on: the one error line is all a refused run says.
#[test]
fn out_is_a_file() {
    let cases = vec![case("out is a file, headline on")
        .file("out", b"x")
        .run(&[])
        .says(&["out", "not a directory"])];
    check_group("out is a file", &cases);
}
