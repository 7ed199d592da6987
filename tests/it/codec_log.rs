//! A log.gz damaged in the middle (a bad member followed by good ones) is never cut: reopening
//! it sets the damaged tail aside beside it, byte for byte, says so, and appends to the good
//! prefix; `merge` reads the good prefix and says what was set aside.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jobsplit::testing::LogWriter;
use jobsplit::testing::Stream;

use crate::harness::{gunzip, read_log, text, Results, Study};

/// The byte offsets where each gzip member of `data` ends.
fn member_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut dec, &mut std::io::sink()).unwrap();
        rest = dec.into_inner();
        ends.push(data.len() - rest.len());
    }
    ends
}

/// Flips a byte inside member `m` (its last data byte, so its CRC no longer checks out).
fn damage(path: &Path, m: usize) -> (Vec<u8>, usize) {
    let mut data = std::fs::read(path).unwrap();
    let ends = member_ends(&data);
    assert!(ends.len() > m + 2, "{} members", ends.len());
    let start = if m == 0 { 0 } else { ends[m - 1] };
    data[ends[m] - 9] ^= 0x20;
    std::fs::write(path, &data).unwrap();
    (data, start)
}

/// The files named `log.gz.damaged-*` in `dir`.
fn set_aside(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("log.gz.damaged-")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reopening_a_damaged_log_sets_its_tail_aside_and_appends_to_the_good_prefix() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("log.gz");
    let (mut w, warning) = LogWriter::open(&path).unwrap();
    assert!(warning.is_none());
    for m in 0..10u64 {
        w.line(
            SystemTime::now(),
            Some(m),
            Stream::Out,
            &format!("line {m}"),
        )
        .unwrap();
        w.end_member().unwrap();
    }
    w.finish().unwrap();
    let (damaged, good) = damage(&path, 1);

    let (mut w, warning) = LogWriter::open(&path).unwrap();
    let warning = warning.expect("a warning");
    let aside = set_aside(t.path());
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        warning.contains("log.gz") && warning.contains("damaged"),
        "{warning}"
    );
    assert!(
        warning.contains(&aside[0].file_name().unwrap().to_string_lossy().into_owned()),
        "{warning}"
    );
    // Not one byte lost: the good prefix stays, the rest is beside it.
    assert_eq!(std::fs::read(&path).unwrap(), &damaged[..good]);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &damaged[good..]);
    w.line(SystemTime::now(), None, Stream::Event, "after")
        .unwrap();
    w.finish().unwrap();
    let back = gunzip(&path);
    assert_eq!(back.lines().count(), 2, "{back}");
    assert!(back.ends_with("\tafter\n"), "{back}");
    // Reopening again changes nothing more.
    let (_, warning) = LogWriter::open(&path).unwrap();
    assert!(warning.is_none(), "{warning:?}");
    assert_eq!(set_aside(t.path()).len(), 1);
}

const ONE: &str = r#"{"solo": [1, 1]}"#;

#[test]
fn a_rerun_keeps_every_byte_of_a_damaged_log_and_merge_says_so() {
    let jobs: Vec<String> = (0..10).map(|i| format!("echo job {i}")).collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").arg("--quiet").assert().code(0);
    let dir = s.machine_dir("solo");
    let log = dir.join("log.gz");
    let (damaged, good) = damage(&log, 2);
    // Drop the last row, so the rerun has a job to run and appends to the log.
    let results = dir.join("results.csv");
    let csv = std::fs::read(&results).unwrap();
    let last = csv[..csv.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&results, &csv[..last]).unwrap();

    let out = s.run("solo").output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let aside = set_aside(&dir);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        err.lines()
            .any(|l| l.contains("warning") && l.contains("log.gz") && l.contains("damaged")),
        "{err}"
    );
    let now = std::fs::read(&log).unwrap();
    assert_eq!(&now[..good], &damaged[..good], "the good prefix stays");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &damaged[good..]);
    // The log is whole again and ends with the rerun's lines.
    let lines = read_log(&log);
    assert!(lines.iter().any(|l| l.text.starts_with("run started")));
    assert_eq!(Results::read(&results).rows.len(), 10);

    let out = s
        .cmd()
        .args(["merge", "out", "--out", "m"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.lines().any(|l| l.contains("warning")
            && l.contains(&*aside[0].file_name().unwrap().to_string_lossy())),
        "merge names the bytes set aside: {err}"
    );
}

#[test]
fn merge_of_a_log_damaged_in_the_middle_warns_and_keeps_the_lines_before() {
    let jobs: Vec<String> = (0..10).map(|i| format!("echo job {i}")).collect();
    let s = Study::with(&jobs, ONE, "");
    s.run("solo").arg("--quiet").assert().code(0);
    let log = s.machine_dir("solo").join("log.gz");
    let before = std::fs::read(&log).unwrap();
    damage(&log, 2);
    let damaged = std::fs::read(&log).unwrap();
    assert_ne!(before, damaged);
    let out = s
        .cmd()
        .args(["merge", "out", "--out", "m"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("warning") && l.contains("solo/log.gz") && l.contains("damaged")),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        damaged,
        "merge never changes an input"
    );
    assert!(!read_log(&s.join("m/log.gz")).is_empty());
}
