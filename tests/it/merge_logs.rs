//! log.gz: a file cut anywhere reads as a prefix of its lines and is repaired on reopen; merged
//! logs are in time order.

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jobsplit::testing::Manifest;
use jobsplit::testing::ResultsWriter;
use jobsplit::testing::Stream;
use jobsplit::testing::Tally;
use jobsplit::testing::{merge, MergeOptions};
use jobsplit::testing::{LogReader, LogWriter};
use proptest::prelude::*;

fn at(us: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_micros(us)
}

fn lines_of(path: &Path) -> (Vec<Vec<u8>>, Option<String>) {
    let mut r = LogReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(l) = r.next_line() {
        out.push(l.to_vec());
    }
    (out, r.warning().map(str::to_owned))
}

/// Writes members of the given line counts; long lines make some members compressed ones.
fn write_members(path: &Path, members: &[(usize, usize)]) -> Vec<Vec<u8>> {
    let (mut w, _) = LogWriter::open(path).unwrap();
    let mut expected = Vec::new();
    let mut t = 0;
    for (m, &(count, width)) in members.iter().enumerate() {
        for i in 0..count {
            t += 7;
            let text = format!("m{m} l{i} \t\r {}", "x".repeat(width + i % 13));
            w.line(at(t), Some(m as u64), Stream::Err, &text).unwrap();
            expected.push(
                format!("{}\t{m}\terr\t{text}", jobsplit::testing::rfc3339(at(t))).into_bytes(),
            );
        }
        w.end_member().unwrap();
    }
    w.finish().unwrap();
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_log_cut_anywhere_reads_as_a_prefix_and_reopens_whole(
        members in prop::collection::vec((1usize..40, prop_oneof![Just(5usize), Just(900)]), 1..6),
        cut_at in 0.0f64..1.0,
        garbage in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.gz");
        let expected = write_members(&path, &members);
        let full = std::fs::read(&path).unwrap();
        let (all, warning) = lines_of(&path);
        prop_assert_eq!(&all, &expected);
        prop_assert!(warning.is_none());

        // Cut (maybe with junk after the cut, as a power loss may leave).
        let cut = (full.len() as f64 * cut_at) as usize;
        let mut damaged = full[..cut].to_vec();
        damaged.extend_from_slice(&garbage);
        std::fs::write(&path, &damaged).unwrap();
        let (got, _) = lines_of(&path);
        prop_assert!(expected.starts_with(&got), "not a prefix at cut {}", cut);

        // Reopening sets the torn tail aside (never a byte lost): zcat reads the whole file
        // again, and appending continues after the last whole member.
        match LogWriter::open(&path) {
            Ok((mut w, set_aside)) => {
                let kept = std::fs::read(&path).unwrap();
                let aside: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.to_string_lossy().contains("log.gz.damaged-"))
                    .collect();
                prop_assert_eq!(set_aside.is_some(), kept.len() < damaged.len());
                prop_assert_eq!(aside.len(), usize::from(set_aside.is_some()));
                let mut all = kept.clone();
                for p in &aside {
                    all.extend(std::fs::read(p).unwrap());
                }
                prop_assert_eq!(&all, &damaged);
                w.line(at(1 << 40), None, Stream::Event, "after").unwrap();
                w.finish().unwrap();
                let mut text = Vec::new();
                let bytes = std::fs::read(&path).unwrap();
                prop_assert!(flate2::read::MultiGzDecoder::new(bytes.as_slice())
                    .read_to_end(&mut text)
                    .is_ok());
                let (again, warning) = lines_of(&path);
                prop_assert!(warning.is_none());
                prop_assert!(again.last().unwrap().ends_with(b"\tevent\tafter"));
                prop_assert!(expected.starts_with(&again[..again.len() - 1]));
            }
            // Only a file that does not even start like gzip is refused (never truncated).
            Err(e) => {
                prop_assert!(cut < 2, "cut at {}: {}", cut, e);
                prop_assert_eq!(std::fs::read(&path).unwrap(), damaged);
            }
        }
    }
}

#[test]
fn a_file_that_is_not_gzip_reads_as_nothing_with_a_warning_and_is_never_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    std::fs::write(&path, "plain text\n").unwrap();
    let (got, warning) = lines_of(&path);
    assert!(got.is_empty());
    assert!(warning.is_some());
    let e = LogWriter::open(&path).unwrap_err();
    assert_eq!(e.kind(), jobsplit::ErrorKind::Damaged, "{e}");
    assert!(e.to_string().contains("not a gzip file"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"plain text\n");
}

fn machine(root: &Path, name: &str, times: &[u64]) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    ResultsWriter::open(&dir.join("results.csv"), false).unwrap();
    let (mut w, _) = LogWriter::open(&dir.join("log.gz")).unwrap();
    for (i, &t) in times.iter().enumerate() {
        w.line(at(t), Some(i as u64), Stream::Out, &format!("{name} {t}"))
            .unwrap();
        if i % 3 == 0 {
            w.end_member().unwrap();
        }
    }
    w.finish().unwrap();
    Manifest {
        algorithm: "split-v1".into(),
        work_digest: "a".repeat(64),
        plan_digest: "b".repeat(64),
        machine: name.into(),
        weight: 1.0,
        cores: 1,
        threads: 1,
        share: 0,
        jobs_total: 10,
        excluded: 0,
        version: "test".into(),
        hostname: name.into(),
        started_at: jobsplit::testing::rfc3339(at(0)),
        ended_at: None,
        state: jobsplit::testing::RunState::Running,
        counts: Tally::default(),
        busy_s: 0.0,
        shard: None,
        first_key: None,
        balance: None,
        planned: Vec::new(),
        payload: None,
        epochs: Vec::new(),
    }
    .write_atomic(&dir)
    .unwrap();
    dir
}

#[test]
fn merged_logs_are_in_time_order_and_keep_a_cut_input_readable_part() {
    let t = tempfile::tempdir().unwrap();
    let a_times: Vec<u64> = (0..500).map(|i| i * 3).collect();
    let b_times: Vec<u64> = (0..400).map(|i| i * 5 + 1).collect();
    let c_times: Vec<u64> = (0..300).map(|i| i * 2 + 2).collect();
    let a = machine(t.path(), "a", &a_times);
    let b = machine(t.path(), "b", &b_times);
    let c = machine(t.path(), "c", &c_times);
    // c's log is cut in its last member.
    let data = std::fs::read(c.join("log.gz")).unwrap();
    std::fs::write(c.join("log.gz"), &data[..data.len() - 4]).unwrap();
    let (c_kept, _) = lines_of(&c.join("log.gz"));
    let out = t.path().join("merged");
    let report = merge(
        &[a, b, c],
        &MergeOptions {
            out: out.clone(),
            write_machines: None,
            collect_files: true,
        },
    )
    .unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("c/log.gz")),
        "{:?}",
        report.warnings
    );
    let (merged, warning) = lines_of(&out.join("log.gz"));
    assert!(warning.is_none());
    assert_eq!(merged.len(), 500 + 400 + c_kept.len());
    assert_eq!(report.log_lines, merged.len() as u64);
    let stamps: Vec<&[u8]> = merged.iter().map(|l| &l[..27]).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "not in time order");
}
