//! A results.csv row torn by a crash or a full disk, wherever the cut falls (also right after a
//! line break inside a quoted multi-line value): the row is dropped, never taken as complete,
//! and nothing before it is lost or run again.

use std::collections::BTreeSet;
use std::path::Path;

use jobsplit::testing::{ResultsReader, ResultsWriter};

use crate::harness::{row, text, Results, Study};

/// A results.csv of rows with multi-line values (some ending in a line break, some holding
/// quotes and commas), and the file length after each row.
fn multi_line_file(path: &Path) -> (Vec<u8>, Vec<usize>) {
    let values = [
        ("a\nb", "x"),
        ("\n", "\"q\",\n"),
        ("plain", "two\n\nbreaks\n"),
        ("c\r\nd", ""),
        ("last\n", "one"),
    ];
    let (mut w, _) = ResultsWriter::open(path, false).unwrap();
    let mut ends = vec![0];
    for (i, (v, w2)) in values.iter().enumerate() {
        w.append(&row(i as u64, &[("v", v), ("w", w2)])).unwrap();
        ends.push(std::fs::metadata(path).unwrap().len() as usize);
    }
    let full = std::fs::read(path).unwrap();
    // The header as it ended, grown by the rows' columns.
    ends[0] = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    (full, ends)
}

#[test]
fn reopening_a_file_cut_anywhere_keeps_exactly_the_rows_before_the_cut() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (full, ends) = multi_line_file(&path);
    let whole = Results::parse(&full).unwrap();
    for cut in ends[0]..=full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let kept = ends.iter().filter(|&&e| e <= cut).count() - 1;
        let good_end = ends[kept];
        let (mut w, existing) =
            ResultsWriter::open(&path, false).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(existing.rows, kept as u64, "cut at {cut}");
        assert_eq!(existing.ok_keys.len(), kept, "cut at {cut}");
        assert_eq!(
            existing.repaired_bytes,
            (cut - good_end) as u64,
            "cut at {cut}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            &full[..good_end],
            "cut at {cut}"
        );
        // The next row lands after the kept ones, never inside a value.
        w.append(&row(9, &[("v", "after")])).unwrap();
        drop(w);
        let back = Results::read(&path);
        assert_eq!(back.rows.len(), kept + 1, "cut at {cut}");
        assert_eq!(back.rows[..kept], whole.rows[..kept], "cut at {cut}");
        assert_eq!(back.rows[kept].get("v"), "after", "cut at {cut}");
    }
}

#[test]
fn the_reader_drops_only_a_torn_last_row_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    let (full, ends) = multi_line_file(&path);
    for cut in ends[0]..=full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let kept = ends.iter().filter(|&&e| e <= cut).count() - 1;
        let mut r = ResultsReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(row) = r.next_row().unwrap_or_else(|e| panic!("cut at {cut}: {e}")) {
            assert_eq!(row.index, n, "cut at {cut}");
            n += 1;
        }
        assert_eq!(n, kept as u64, "cut at {cut}");
        let torn = cut != ends[kept];
        assert_eq!(
            r.warnings().iter().any(|w| w.contains("cut short")),
            torn,
            "cut at {cut}: {:?}",
            r.warnings()
        );
    }
}

const ONE: &str = r#"{"solo": [1, 2]}"#;

/// Jobs writing multi-line result values, each noting in `ran.txt` that it ran.
fn study(n: usize) -> Study {
    let s = Study::new();
    let ran = s.join("ran.txt");
    let jobs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"echo {i} >> '{}'; printf '%s' '{{"n": {i}, "v": "a\nb{i}"}}' > "$JOBSPLIT_RESULT""#,
                ran.display()
            )
        })
        .collect();
    s.setup(&jobs, ONE, "");
    s
}

fn ran(s: &Study) -> BTreeSet<u64> {
    std::fs::read_to_string(s.join("ran.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn a_row_cut_inside_a_multi_line_value_is_redone_and_nothing_else() {
    let s = study(12);
    s.run("solo").arg("--quiet").assert().code(0);
    s.cmd()
        .args(["merge", "out", "--out", "whole"])
        .assert()
        .code(0);
    let path = s.machine_dir("solo").join("results.csv");
    let full = std::fs::read(&path).unwrap();
    let before = Results::read(&path);
    // Cut right after the line break inside the 6th row's value, as a crash would leave it.
    let header_end = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut row_start = header_end;
    for _ in 0..5 {
        let mut quoted = false;
        let mut i = row_start;
        loop {
            match full[i] {
                b'"' => quoted = !quoted,
                b'\n' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        row_start = i + 1;
    }
    let cut = row_start + full[row_start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(full[cut - 2], b'a', "the cut falls inside the value");
    std::fs::write(&path, &full[..cut]).unwrap();
    std::fs::remove_file(s.join("ran.txt")).unwrap();

    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let redone: BTreeSet<u64> = before.rows[5..].iter().map(|r| r.index()).collect();
    assert_eq!(
        ran(&s),
        redone,
        "exactly the torn row's job and those after it run again"
    );
    let err = text(&out.stderr);
    assert!(err.contains("torn") && err.contains("results.csv"), "{err}");

    // A third run finds every job ok.
    std::fs::remove_file(s.join("ran.txt")).unwrap();
    s.run("solo").arg("--quiet").assert().code(0);
    assert!(ran(&s).is_empty(), "ran again: {:?}", ran(&s));
    let after = Results::read(&path);
    assert_eq!(after.rows.len(), 12);
    assert_eq!(after.rows[..5], before.rows[..5]);

    s.cmd()
        .args(["merge", "out", "--out", "m"])
        .assert()
        .code(0);
    let stable = |dir: &str| -> Vec<_> {
        Results::read(&s.join(dir).join("results.csv"))
            .rows
            .iter()
            .map(|r| r.stable())
            .collect()
    };
    assert_eq!(stable("m"), stable("whole"));
}

#[test]
fn merge_drops_a_row_cut_inside_a_multi_line_value_with_a_warning() {
    let s = study(6);
    s.run("solo").arg("--quiet").assert().code(0);
    let path = s.machine_dir("solo").join("results.csv");
    let full = std::fs::read(&path).unwrap();
    // The last row, cut right after the line break inside its value.
    let cut = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let row_start = full[..cut - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    assert!(
        full[..cut].ends_with(b"\"a\n"),
        "the cut falls inside the value"
    );
    std::fs::write(&path, &full[..cut]).unwrap();
    let torn_index: u64 = text(&full[row_start..])
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let out = s
        .cmd()
        .args(["merge", "out", "--out", "m"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cut short"), "{err}");
    let merged = Results::read(&s.join("m/results.csv"));
    assert_eq!(merged.rows.len(), 5);
    assert!(merged.rows.iter().all(|r| r.get("v").starts_with("a\nb")));
    assert_eq!(
        std::fs::read_to_string(s.join("m/missing.txt")).unwrap(),
        format!("{torn_index}\n")
    );
}

/// A results.csv whose header a kill cut short as the file was created (crash_property's
/// seed 0x9341e48e6456e227: every rerun was refused, "not a jobsplit results file") holds no
/// row: reopening it writes the header again, at every cut.
#[test]
fn a_header_cut_as_the_file_was_created_is_written_again() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("results.csv");
    drop(ResultsWriter::open(&path, false).unwrap());
    let header = std::fs::read(&path).unwrap();
    for cut in 0..header.len() {
        std::fs::write(&path, &header[..cut]).unwrap();
        let (mut w, existing) =
            ResultsWriter::open(&path, false).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(existing.rows, 0, "cut at {cut}");
        assert_eq!(existing.repaired_bytes, 0, "cut at {cut}");
        assert_eq!(std::fs::read(&path).unwrap(), header, "cut at {cut}");
        w.append(&row(0, &[("v", "after")])).unwrap();
    }
}

/// The same through the binary: a rerun of a share whose results.csv is a torn header runs
/// every job and exits 0.
#[test]
fn a_rerun_after_a_kill_that_tore_the_header_runs_the_share() {
    let s = Study::with(
        &["true".to_owned(), "true".to_owned(), "true".to_owned()],
        r#"{"solo": [1, 2]}"#,
        "",
    );
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let path = s.out().join("solo/results.csv");
    std::fs::write(&path, "index,key,mach").unwrap();
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let indices: BTreeSet<u64> = s.results("solo").rows.iter().map(|r| r.index()).collect();
    assert_eq!(indices, BTreeSet::from([0, 1, 2]));
}
