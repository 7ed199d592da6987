//! Symbolic links in output directories (issue 10, failure 11). jobsplit never writes through a
//! link: a temporary name planted as a link is passed over (the temporary file is created
//! exclusively, under a fresh name), an output file that is a link is refused before anything
//! is written, and the directories themselves (`OUT`, `OUT/<machine>`) may be links.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::harness::{files_under, read_json, text, Results, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

/// Three jobs, each bringing a new result column, so that results.csv is rewritten through its
/// temporary file twice; one result value holds a line break and quotes.
fn growing_study() -> Study {
    let jobs: Vec<String> = (0..3)
        .map(|i| {
            format!(r#"printf '{{"c{i}": "line1\\nline2,\"q{i}\""}}' > "$JOBSPLIT_RESULT"; echo job {i}"#)
        })
        .collect();
    Study::with(&jobs, ONE, "")
}

/// `dir/name` made a link to `target` (creating `dir`).
fn plant(dir: &Path, name: &str, target: &Path) -> PathBuf {
    let link = dir.join(name);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    symlink(target, &link).unwrap();
    link
}

/// A file outside the output directory that no run may change.
fn victim(s: &Study, name: &str) -> PathBuf {
    s.write(format!("victims/{name}"), format!("precious {name}\n"))
}

fn assert_untouched(s: &Study, names: &[&str]) {
    for name in names {
        let path = s.join(format!("victims/{name}"));
        let now = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text(&now),
            format!("precious {name}\n"),
            "{} was written through a link",
            path.display()
        );
    }
}

fn is_regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

#[test]
fn temporary_names_planted_as_links_are_never_written_through() {
    let s = growing_study();
    let dir = s.machine_dir("solo");
    for name in ["manifest.json.tmp", "status.json.tmp", "results.csv.tmp"] {
        plant(&dir, name, &victim(&s, name));
    }
    // A dangling one: following it would create a file outside the directory.
    plant(
        &dir,
        "log.gz.tmp",
        &s.join("victims/created-through-a-link"),
    );

    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_untouched(
        &s,
        &["manifest.json.tmp", "status.json.tmp", "results.csv.tmp"],
    );
    assert!(!s.join("victims/created-through-a-link").exists());
    for name in ["manifest.json", "status.json", "results.csv", "log.gz"] {
        assert!(is_regular(&dir.join(name)), "{name} is not a plain file");
    }
    assert_eq!(s.manifest("solo")["state"], "finished");
    let results = s.results("solo");
    assert_eq!(results.rows.len(), 3);
    let mut columns = results.result_columns().to_vec();
    columns.sort();
    assert_eq!(columns, ["c0", "c1", "c2"]);
    assert_eq!(results.of(1)[0].get("c1"), "line1\nline2,\"q1\"");
    // The planted links are left as they were, and no temporary file is left behind.
    for name in ["manifest.json.tmp", "status.json.tmp", "results.csv.tmp"] {
        let link = std::fs::read_link(dir.join(name)).unwrap();
        assert_eq!(link, s.join(format!("victims/{name}")));
    }
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") && !is_link(&dir.join(n)))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Each output file a run writes in place, planted as a link: refused with one line naming the
/// file and the fix, exit 2, nothing written anywhere.
#[test]
fn an_output_file_that_is_a_link_is_refused_before_anything_is_written() {
    let cases: &[(&str, bool)] = &[
        // (name, dangling)
        ("results.csv", true),
        ("results.csv", false),
        ("log.gz", false),
        ("log.gz", true),
        ("manifest.json", true),
        ("status.json", false),
        (".lock", true),
        ("logs/0.log.gz", false),
    ];
    let mut wrong = Vec::new();
    for &(name, dangling) in cases {
        let s = growing_study();
        let dir = s.machine_dir("solo");
        std::fs::create_dir_all(&dir).unwrap();
        // An empty target is what a run would happily append to.
        let target = if dangling {
            s.join("new-file")
        } else {
            s.write("victims/empty", "")
        };
        plant(&dir, name, &target);
        let before = files_under(s.path());
        let out = s
            .run("solo")
            .args(["--job-logs", "--quiet"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        let refused = out.status.code() == Some(2)
            && err.trim_end().lines().count() == 1
            && err.contains(&format!("solo/{name} is a symbolic link"))
            && err.contains("replace it");
        let untouched = files_under(s.path()) == before;
        if !refused || !untouched {
            wrong.push(format!(
                "{name} (dangling: {dangling}): exit {:?}, nothing written: {untouched}: {err}",
                out.status.code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A machine directory's later run: a results.csv made a link to the real file elsewhere (say,
/// by a user tidying up) is refused too, and the file it points at is left as it is.
#[test]
fn a_results_link_to_a_real_results_file_is_refused() {
    let s = growing_study();
    s.run("solo").arg("--quiet").assert().code(0);
    let dir = s.machine_dir("solo");
    let real = s.join("elsewhere.csv");
    std::fs::rename(dir.join("results.csv"), &real).unwrap();
    // Make the rerun have something to do: drop the last row.
    let data = std::fs::read(&real).unwrap();
    let cut = data[..data.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&real, &data[..cut]).unwrap();
    symlink(&real, dir.join("results.csv")).unwrap();
    let before = files_under(s.path());
    let out = s.run("solo").arg("--quiet").output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("results.csv is a symbolic link"), "{err}");
    assert_eq!(files_under(s.path()), before);
}

/// merge's temporary files in `--out` planted as links (and a final name that is a link, which
/// is replaced, never written through).
#[test]
fn merge_never_writes_through_links_in_its_out_dir() {
    let s = growing_study();
    s.run("solo").arg("--quiet").assert().code(0);
    // A gzip input too, so that merge decompresses it into a temporary file in --out.
    let gz_input = s.join("gz/solo");
    std::fs::create_dir_all(&gz_input).unwrap();
    let src = s.machine_dir("solo");
    for name in ["manifest.json", "log.gz"] {
        std::fs::copy(src.join(name), gz_input.join(name)).unwrap();
    }
    let csv = std::fs::read(src.join("results.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    std::fs::write(gz_input.join("results.csv.gz"), gz.finish().unwrap()).unwrap();

    for (inputs, tag) in [(vec!["out/solo"], "plain"), (vec!["gz/solo"], "gz")] {
        let merged = s.join(format!("merged-{tag}"));
        let names = [
            "results.csv.tmp",
            "log.gz.tmp",
            "missing.txt.tmp",
            "summary.json.tmp",
            ".input-0.results.csv.tmp",
            "results.csv",
        ];
        for name in names {
            let v = victim(&s, &format!("{tag}-{name}"));
            plant(&merged, name, &v);
        }
        let out = s
            .cmd()
            .arg("merge")
            .args(&inputs)
            .arg("--out")
            .arg(&merged)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{tag}: {}", text(&out.stderr));
        let victims: Vec<String> = names.iter().map(|n| format!("{tag}-{n}")).collect();
        let victims: Vec<&str> = victims.iter().map(String::as_str).collect();
        assert_untouched(&s, &victims);
        for name in ["results.csv", "log.gz", "missing.txt", "summary.json"] {
            assert!(is_regular(&merged.join(name)), "{tag}: {name}");
        }
        let summary = read_json(&merged.join("summary.json"));
        assert_eq!(summary["ok"], 3, "{tag}");
        let rows = Results::read(&merged.join("results.csv"));
        assert_eq!(rows.rows.len(), 3, "{tag}");
    }
}

/// A symlinked OUT (scratch space on a cluster) or OUT/<machine> is a directory like any other:
/// the run writes into the directory it points at, and a rerun resumes there.
#[test]
fn out_and_machine_dirs_may_be_links_to_directories() {
    let s = growing_study();
    std::fs::create_dir_all(s.join("scratch/solo-real")).unwrap();
    symlink(s.join("scratch"), s.out()).unwrap();
    s.run("solo").arg("--quiet").assert().code(0);
    assert_eq!(
        Results::read(&s.join("scratch/solo/results.csv"))
            .rows
            .len(),
        3
    );

    let t = growing_study();
    std::fs::create_dir_all(t.join("scratch/solo-real")).unwrap();
    std::fs::create_dir_all(t.out()).unwrap();
    symlink(t.join("scratch/solo-real"), t.machine_dir("solo")).unwrap();
    t.run("solo").arg("--quiet").assert().code(0);
    let out = t.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = Results::read(&t.join("scratch/solo-real/results.csv"));
    assert_eq!(results.rows.len(), 3, "the rerun ran nothing again");
    assert_eq!(
        read_json(&t.join("scratch/solo-real/manifest.json"))["counts"]["skipped"],
        3
    );
}
