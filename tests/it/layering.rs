//! The house's floors: every module of `src/` imports only from its own floor or below, so a
//! file format never reaches up into the runner, nor the runner into the CLI. The check reads
//! every `crate::` path in the sources (comments left out) against [`FLOORS`]; a new upward
//! arrow fails here with the file and line that drew it.

use std::path::{Path, PathBuf};

/// The floors, lowest first. A module may import from its own floor and any floor below.
/// `input` and `plan` share a floor: the plan digests the machines file's `Machine`, and an
/// epoch list is chained with the plan's list digest.
const FLOORS: &[&[&str]] = &[
    &["error", "text", "paths", "sys", "model"],
    &["engine"],
    &["input", "plan"],
    &["work"],
    &["output"],
    &["run"],
    &["merge"],
    &["remote", "report"],
    &["cli", "splitter"],
    // Not floors of the house: what tests/it reaches, and the examples of private items run
    // as unit tests. They may import from every floor.
    &["testing", "examples_tests"],
];

/// Names `lib.rs` re-exports at the crate root, by the module that defines them.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("Error", "error"),
    ("Result", "error"),
    ("ErrorKind", "error"),
    ("Work", "work"),
    ("Splitter", "splitter"),
    ("map", "run"),
    ("map_with", "run"),
    ("JobContext", "run"),
    ("JobError", "run"),
    ("JobRng", "run"),
    ("MapOptions", "run"),
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// The top-level module a `crate::` path names (`crate::output::claim::X` -> `output`;
/// `crate::Error` -> `error`), and for `crate::{A, b::C}` each of them.
fn targets(rest: &str) -> Vec<String> {
    let names: Vec<&str> = match rest.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect(),
        None => vec![rest],
    };
    names
        .into_iter()
        .filter_map(|n| {
            let head: String = n
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if head.is_empty() {
                return None;
            }
            let module = ROOT_NAMES
                .iter()
                .find(|(name, _)| *name == head)
                .map_or(head.as_str(), |(_, m)| m);
            Some(module.to_owned())
        })
        .collect()
}

/// The upward imports of one file of module `module`: `path:line: module -> target`.
fn upward(module: &str, path: &str, text: &str) -> Vec<String> {
    let Some(mine) = floor(module) else {
        return vec![format!(
            "{path}: module `{module}` is on no floor of FLOORS"
        )];
    };
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("crate::") {
            if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            for target in targets(&code[at + "crate::".len()..]) {
                if target == module {
                    continue;
                }
                match floor(&target) {
                    Some(f) if f <= mine => {}
                    Some(_) => found.push(format!("{path}:{}: {module} -> {target}", n + 1)),
                    None => found.push(format!(
                        "{path}:{}: {module} -> `{target}`, on no floor of FLOORS",
                        n + 1
                    )),
                }
            }
        }
    }
    found
}

pub(super) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_floor_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if top == "lib" || top == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        found.extend(upward(top, &rel, &text));
    }
    assert!(
        found.is_empty(),
        "imports from a floor above:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import_in_every_spelling() {
    let text = "use crate::run::steal::claim::ClaimRecord;\n\
                // crate::cli in a comment is fine\n\
                let x = crate::merge::f();\n\
                use crate::{Error, Work};\n\
                use crate::output::manifest::Manifest;\n";
    assert_eq!(
        upward("output", "output/x.rs", text),
        [
            "output/x.rs:1: output -> run",
            "output/x.rs:3: output -> merge",
        ]
    );
    assert_eq!(
        upward("input", "input/x.rs", "use crate::{Error, Work};"),
        ["input/x.rs:1: input -> work"]
    );
    assert!(upward("cli", "cli/x.rs", text).is_empty());
}
