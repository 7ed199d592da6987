//! The full-disk variant of the crash property: the run's output directory on a small tmpfs that
//! fills up in the middle of the run (a ballast file takes the space once some rows are in) (rows of multi-line values of up to 32 KiB, results.csv
//! rewritten for new columns), so that the run fails with a clear error; then the space is freed
//! and reruns complete the share with no job lost, no duplicate ok row, no finished job run
//! again, no process left, and files Python reads whole.
//!
//! Needs `mount -t tmpfs` (root, or a user namespace that allows it): where the mount is
//! refused the test says so and passes. `JOBSPLIT_DISK_CASES` sets the number of cases (3);
//! `JOBSPLIT_CRASH_SEED=0x...` replays one.

use std::path::{Path, PathBuf};

use crate::crash_study::{env_number, CrashStudy, Figures, Rng};
use crate::harness::{text, Tmpfs};

const BASE_SEED: u64 = 0x6469_736b_6675_6c6c;

#[test]
fn a_disk_that_fills_mid_row_then_frees_loses_nothing_and_runs_nothing_twice() {
    let cases = env_number("JOBSPLIT_DISK_CASES", 3);
    let only = std::env::var("JOBSPLIT_CRASH_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    let mut total = Figures::default();
    let (mut filled, mut failures, mut notes) = (0, Vec::new(), Vec::new());
    for case in 0..cases {
        let seed = only.unwrap_or_else(|| Rng::new(BASE_SEED ^ case).next());
        let fs = match Tmpfs::mount("8m") {
            Ok(fs) => fs,
            Err(why) => {
                eprintln!(
                    "note: SKIPPED the full-disk crash property: cannot mount a tmpfs ({why})"
                );
                return;
            }
        };
        let (figures, full) = disk_case(seed, &fs, &mut failures, &mut notes);
        total.add(&figures);
        filled += usize::from(full);
        if only.is_some() {
            break;
        }
    }
    eprintln!("full-disk property: {total}; the disk filled in {filled} of them");
    for note in &notes {
        eprintln!("note: {note}");
    }
    assert!(failures.is_empty(), "{total}\n{}", failures.join("\n"));
}

/// One case: fill the tmpfs but for a few KiB to a few hundred, run, free the space, rerun.
/// Returns its figures and whether the run did fail for want of space.
fn disk_case(
    seed: u64,
    fs: &Tmpfs,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> (Figures, bool) {
    let mut rng = Rng::new(seed);
    let out = fs.path().join("out");
    // Half of the cases bring no new column, so that every row ends with its largest
    // multi-line value and the disk is most likely to fill inside it.
    let new_column = [0, 3][rng.range(0, 2) as usize];
    let mut cs = CrashStudy::new(&mut rng, Some(&out), 32 * 1024, new_column);
    // The disk fills in the middle of the run: once some rows are in, all but a few KiB of
    // what is free is taken.
    let leave = rng.range(0, 16 * 1024);
    let rows = rng.range(1, cs.jobs / 2) as usize;
    let ballast = fs.path().join("ballast");
    let mut child = cs.command().spawn().unwrap();
    let results = cs.dir().join("results.csv");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none()
        && start.elapsed() < std::time::Duration::from_secs(20)
        && crate::crash_study::ok_rows(&results).len() < rows
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let room = fs.free().saturating_sub(leave);
    // Written in pieces, so that it takes what is free even if the run takes some meanwhile.
    let mut file = std::fs::File::create(&ballast).unwrap();
    let chunk = vec![0u8; 4096];
    let mut written = 0;
    while written < room {
        match std::io::Write::write(&mut file, &chunk[..(room - written).min(4096) as usize]) {
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    drop(file);
    let first = child.wait_with_output().unwrap();
    let err = text(&first.stderr);
    let full = err.to_lowercase().contains("no space left");
    if first.status.success() {
        notes.push(format!(
            "case {seed:#x}: {leave} bytes were enough for the whole run"
        ));
    } else if first.status.code() == Some(1) && !full {
        // Only jobs met the full disk (their result files): they failed, the run did not.
        notes.push(format!(
            "case {seed:#x}: only jobs met the full disk (exit 1, jobs failed)"
        ));
    } else if !full {
        cs.violations.push(format!(
            "the run on a full disk failed without saying so: exit {:?}: {err}",
            first.status.code()
        ));
    } else if err.trim_end().lines().count() != 1 {
        notes.push(format!(
            "case {seed:#x}: the full-disk error took several lines: {err}"
        ));
    }
    if full {
        notes.push(format!(
            "case {seed:#x} ({leave} bytes free): exit {:?}, manifest {}: {}",
            first.status.code(),
            manifest_state(&cs.dir()),
            err.trim_end().lines().last().unwrap_or("")
        ));
    }
    cs.observe("the run on a full disk");
    std::fs::remove_file(&ballast).unwrap();

    let reruns = cs.finish();
    let mut figures = cs.check_done();
    figures.cases = 1;
    figures.reruns = reruns;
    notes.extend(cs.notes.iter().map(|n| format!("case {seed:#x}: {n}")));
    if !cs.violations.is_empty() {
        figures.failed_cases = 1;
        failures.push(format!(
            "case JOBSPLIT_CRASH_SEED={seed:#x} (files kept in {}; {} jobs, {leave} bytes free): {}",
            cs.keep_evidence(seed).display(),
            cs.jobs,
            cs.violations.join("; ")
        ));
    }
    (figures, full)
}

fn manifest_state(dir: &Path) -> String {
    let path: PathBuf = dir.join("manifest.json");
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map_or("unreadable".to_owned(), |m| m["state"].to_string())
}

/// Found by the property above: when a full disk cuts a row short, the other workers' rows that
/// end after it (a job's freed result file gives some space back) were appended behind the torn
/// row, which then sat in the middle of the file: every rerun refused the file ("fix or remove
/// this row") and the share could not finish. A row that fails to write is taken back whole.
#[test]
fn a_row_the_full_disk_cut_short_is_taken_back_before_the_next_one() {
    use jobsplit::testing::ResultsWriter;
    let fs = match Tmpfs::mount("256k") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("note: SKIPPED the full-disk row test: cannot mount a tmpfs ({why})");
            return;
        }
    };
    let path = fs.path().join("results.csv");
    let row = |index: u64, value: String| crate::harness::row(index, &[("v", &value)]);
    let (mut w, _) = ResultsWriter::open(&path, false).unwrap();
    w.append(&row(0, "first\nrow".into())).unwrap();
    // All but about one page taken, then a row of several pages: cut short by the full disk.
    let ballast = fs.path().join("ballast");
    let room = fs.free().saturating_sub(1024);
    let mut file = std::fs::File::create(&ballast).unwrap();
    let _ = std::io::Write::write_all(&mut file, &vec![0u8; room as usize]);
    drop(file);
    let big = "y\n".repeat(8 * 1024);
    let err = w.append(&row(1, big)).unwrap_err();
    assert!(
        err.is_disk_full() && err.kind() == jobsplit::ErrorKind::Io,
        "{err}"
    );
    // Space comes back (a job's result file removed); the next row is written whole.
    std::fs::remove_file(&ballast).unwrap();
    w.append(&row(2, "third\nrow".into())).unwrap();
    drop(w);

    let (_, existing) = ResultsWriter::open(&path, false)
        .unwrap_or_else(|e| panic!("the file is refused after a full disk: {e}"));
    assert_eq!(existing.rows, 2, "rows 0 and 2, and nothing of row 1");
    assert_eq!(existing.repaired_bytes, 0);
}

/// A full disk during the header rewrite (a row with a new column) is told as a full disk,
/// with the advice to free space and rerun, not as a bare OS error.
#[test]
fn a_full_disk_during_the_header_rewrite_says_so() {
    use jobsplit::testing::ResultsWriter;
    let fs = match Tmpfs::mount("256k") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("note: SKIPPED the full-disk header test: cannot mount a tmpfs ({why})");
            return;
        }
    };
    let path = fs.path().join("results.csv");
    let big = "x".repeat(20_000);
    let row = |index: u64, column: &str| crate::harness::row(index, &[(column, &big)]);
    let (mut w, _) = ResultsWriter::open(&path, false).unwrap();
    for i in 0..4 {
        w.append(&row(i, "a")).unwrap();
    }
    // Less room than the rewritten file needs.
    let ballast = fs.path().join("ballast");
    let room = fs.free().saturating_sub(16 * 1024);
    let mut file = std::fs::File::create(&ballast).unwrap();
    let _ = std::io::Write::write_all(&mut file, &vec![0u8; room as usize]);
    drop(file);
    let err = w.append(&row(4, "b")).unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    assert!(err.to_string().contains("free some space"), "{err}");
}
