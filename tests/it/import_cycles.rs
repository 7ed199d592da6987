//! No import circle between the files of `src/`: when file X names file Y (a `use` or a path
//! through `crate::`, `super::`, `self::` or a child module), Y must not name X, directly or
//! through other files. A name re-exported (`pub use`) counts as the file that defines it, so
//! `use super::Host` names `ship.rs`, not the `mod.rs` that re-exports it; a module's root
//! (`lib.rs`, a `mod.rs`) only forwards what it re-exports, while any other file that re-exports
//! a name names its file. Tests (`#[cfg(test)]`, inline or in a file) are left out: `use
//! super::*` in a file's own `mod tests` names the file itself. [`layering`](super::layering)
//! keeps the floors apart; this keeps the files of one floor from leaning on each other in a
//! ring.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use super::source_paths::{absolute, named, Named};

/// Folders whose files are parts of one module and may name each other, and why.
const ONE_MODULE: &[(&str, &str)] = &[(
    "output/log_thread/",
    "one type, the state the workers, the log's thread and the sink share (`Shared`, private \
     to the module), holds the writer's and the lanes' parts and is worked on in all three files",
)];

/// The files of `src/` (their module paths, `lib.rs` the empty one) and the paths each names.
struct Crate {
    files: Vec<(String, Vec<String>)>,
    modules: BTreeSet<Vec<String>>,
    named: Vec<Vec<Named>>,
}

impl Crate {
    fn new(sources: &[(String, String)]) -> Crate {
        let files: Vec<(String, Vec<String>)> = sources
            .iter()
            .map(|(rel, _)| {
                let mut module: Vec<String> = rel
                    .trim_end_matches(".rs")
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                    module.pop();
                }
                (rel.clone(), module)
            })
            .collect();
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.1.clone()).collect();
        let is_module = |m: &[String]| modules.contains(m);
        let (mut named, tests): (Vec<Vec<Named>>, Vec<Vec<String>>) = sources
            .iter()
            .zip(&files)
            .map(|((_, text), (_, module))| named(module, text, &is_module))
            .unzip();
        // A file of tests (`#[cfg(test)] mod tests;`) is no part of the library.
        let tests: Vec<Vec<String>> = files
            .iter()
            .zip(&tests)
            .flat_map(|((_, m), names)| {
                names
                    .iter()
                    .map(|n| [m.as_slice(), std::slice::from_ref(n)].concat())
            })
            .collect();
        for ((_, module), named) in files.iter().zip(&mut named) {
            if tests.iter().any(|t| module.starts_with(t)) {
                named.clear();
            }
        }
        Crate {
            files,
            modules,
            named,
        }
    }

    fn is_module(&self, m: &[String]) -> bool {
        self.modules.contains(m)
    }

    /// The file that defines what the absolute path `abs` names, through re-exports.
    fn file_of(&self, abs: &[String]) -> Option<usize> {
        let mut abs = abs.to_vec();
        for _ in 0..16 {
            let (file, len) = self
                .files
                .iter()
                .enumerate()
                .filter(|(_, f)| abs.starts_with(&f.1))
                .map(|(n, f)| (n, f.1.len()))
                .max_by_key(|f| f.1)?;
            let Some(name) = abs.get(len) else {
                return Some(file);
            };
            let Some(through) = self.named[file]
                .iter()
                .find(|n| n.export.as_ref() == Some(name))
            else {
                return Some(file);
            };
            let target = absolute(&through.path, &through.here, &|m| self.is_module(m))?;
            abs = target
                .into_iter()
                .chain(abs[len + 1..].iter().cloned())
                .collect();
        }
        None
    }

    /// True when files `a` and `b` are parts of one module of [`ONE_MODULE`].
    fn one_module(&self, a: usize, b: usize) -> bool {
        ONE_MODULE
            .iter()
            .any(|(dir, _)| self.files[a].0.starts_with(dir) && self.files[b].0.starts_with(dir))
    }

    /// Each file's arrows to other files: target file -> the first line that names it.
    fn arrows(&self) -> Vec<BTreeMap<usize, usize>> {
        let is_module = |m: &[String]| self.is_module(m);
        self.named
            .iter()
            .enumerate()
            .map(|(from, names)| {
                let mut to = BTreeMap::new();
                // A module's root (lib.rs, mod.rs) forwards what it re-exports; any other
                // file that re-exports a name may use it too.
                let root = self.modules.iter().any(|m| {
                    m.len() > self.files[from].1.len() && m.starts_with(&self.files[from].1)
                });
                for n in names.iter().filter(|n| n.export.is_none() || !root) {
                    let target =
                        absolute(&n.path, &n.here, &is_module).and_then(|a| self.file_of(&a));
                    if let Some(t) = target.filter(|t| *t != from && !self.one_module(from, *t)) {
                        to.entry(t).or_insert(n.line);
                    }
                }
                to
            })
            .collect()
    }

    /// Each circle, one per group of files that reach each other, as its arrows
    /// `a.rs:LINE -> b.rs`, shortest through the group's first file, and every file of the group.
    fn circles(&self) -> Vec<(String, Vec<&str>)> {
        let arrows = self.arrows();
        let reach = |from: usize| -> BTreeSet<usize> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from];
            while let Some(f) = todo.pop() {
                for &t in arrows[f].keys() {
                    if seen.insert(t) {
                        todo.push(t);
                    }
                }
            }
            seen
        };
        let reached: Vec<BTreeSet<usize>> = (0..arrows.len()).map(reach).collect();
        let mut done = BTreeSet::new();
        let mut out = Vec::new();
        for start in 0..arrows.len() {
            if done.contains(&start) || !reached[start].contains(&start) {
                continue;
            }
            let group: BTreeSet<usize> = reached[start]
                .iter()
                .copied()
                .filter(|f| reached[*f].contains(&start))
                .collect();
            done.extend(group.iter().copied());
            // The shortest way round from `start`, by breadth first within the group.
            let mut back: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = VecDeque::from([start]);
            'search: while let Some(f) = queue.pop_front() {
                for &t in arrows[f].keys().filter(|t| group.contains(t)) {
                    if t == start {
                        back.insert(start, f);
                        break 'search;
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = back.entry(t) {
                        e.insert(f);
                        queue.push_back(t);
                    }
                }
            }
            let mut ring = vec![start];
            let mut f = back[&start];
            while f != start {
                ring.push(f);
                f = back[&f];
            }
            ring.push(start);
            ring.reverse();
            let steps: Vec<String> = ring
                .windows(2)
                .map(|w| {
                    format!(
                        "{}:{} -> {}",
                        self.files[w[0]].0, arrows[w[0]][&w[1]], self.files[w[1]].0
                    )
                })
                .collect();
            let group = group.iter().map(|f| self.files[*f].0.as_str()).collect();
            out.push((steps.join(", "), group));
        }
        out
    }
}

/// The sources of `src/` but the binary's (`src/bin/` imports the library by name), paths
/// relative to `src/`.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    super::layering::rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&f).unwrap();
            (rel, text)
        })
        .filter(|(rel, _)| !rel.starts_with("bin/"))
        .collect()
}

#[test]
fn no_file_of_src_imports_in_a_circle() {
    let sources = sources();
    let found = Crate::new(&sources);
    let circles: Vec<String> = found
        .circles()
        .into_iter()
        .map(|(ring, group)| format!("{ring} (the circle meets: {})", group.join(" ")))
        .collect();
    assert!(
        circles.is_empty(),
        "files that import each other in a circle (move what both need to a file both import):\n{}",
        circles.join("\n")
    );
}

fn fake(files: &[(&str, &str)]) -> Vec<String> {
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    let found = Crate::new(&sources);
    found.circles().into_iter().map(|(ring, _)| ring).collect()
}

#[test]
fn the_check_sees_a_circle_in_every_spelling() {
    let lib = ("lib.rs", "mod a;\npub use a::Thing;\n");
    let a_mod = ("a/mod.rs", "mod x;\nmod y;\npub use x::Thing;\n");
    // Through `super::`, a group and an expression path.
    assert_eq!(
        fake(&[
            lib,
            a_mod,
            ("a/x.rs", "use super::{y::f, z};\npub struct Thing;"),
            ("a/y.rs", "fn g() { super::x::Thing; }")
        ]),
        ["a/x.rs:1 -> a/y.rs, a/y.rs:1 -> a/x.rs"]
    );
    // Through a re-export at the root and one in a parent module, three files round.
    assert_eq!(
        fake(&[
            lib,
            a_mod,
            ("a/x.rs", "pub struct Thing;\nfn f() { crate::b::g(); }"),
            ("a/y.rs", "use crate::Thing;"),
            (
                "b.rs",
                "// crate::a::x in a comment\nconst S: &str = \"crate::a::x\";\nuse crate::a::y;"
            ),
        ]),
        ["a/x.rs:2 -> b.rs, b.rs:3 -> a/y.rs, a/y.rs:1 -> a/x.rs"]
    );
    // Through a name an ordinary file re-exports (and so may use), as pull.rs once named
    // collect.rs's re-export of inventory.rs's VERIFIED while inventory.rs called pull.rs.
    let ring = fake(&[
        ("lib.rs", "mod r;"),
        ("r/mod.rs", "mod c;\nmod i;\nmod p;"),
        ("r/p.rs", "pub fn f() {}\nfn g() { super::c::V; }"),
        ("r/c.rs", "pub(crate) use super::i::V;"),
        ("r/i.rs", "pub const V: u8 = 0;\nfn h() { super::p::f(); }"),
    ]);
    assert_eq!(ring, ["r/p.rs:2 -> r/i.rs, r/i.rs:2 -> r/p.rs"]);
    // A file's own tests, a re-export the parent only forwards, `self`, and tests (inline or
    // in a file of their own) that name what names their file are no circle.
    assert!(fake(&[
        lib,
        a_mod,
        (
            "a/x.rs",
            "pub struct Thing;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    \
             use crate::a::{self, Thing};\n}"
        ),
        (
            "a/y.rs",
            "use super::Thing;\nuse self::inner::Z;\nmod inner { pub struct Z; }\n\
             #[cfg(test)]\nmod tests;"
        ),
        ("a/y/tests.rs", "use crate::a::x::Thing;"),
        (
            "b.rs",
            "use crate::a::y;\n#[cfg(test)]\nmod tests {\n    use crate::a::x::Thing;\n}"
        ),
    ])
    .is_empty());
}
