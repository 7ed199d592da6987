use std::io::Read as _;
use std::path::Path;

use super::*;
use crate::model::Stream;
use crate::output::log::read_lines;
use crate::output::log::MEMBER_LIMIT;
use std::time::SystemTime;

fn sink(path: &Path) -> LogSink {
    let (log, _) = LogWriter::open(path).unwrap();
    LogSink::start(log).unwrap()
}

fn read(path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let warning = read_lines(path, |l| {
        lines.push(l.to_owned());
        Ok(())
    })
    .unwrap();
    assert!(warning.is_none(), "{warning:?}");
    lines
}

/// The uncompressed size of each gzip member of `path`.
fn member_sizes(path: &Path) -> Vec<usize> {
    let data = std::fs::read(path).unwrap();
    let mut rest = data.as_slice();
    let mut sizes = Vec::new();
    while !rest.is_empty() {
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        let mut out = Vec::new();
        dec.read_to_end(&mut out).unwrap();
        sizes.push(out.len());
        rest = dec.into_inner();
    }
    sizes
}

#[test]
fn lanes_writing_at_once_come_out_whole_and_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let sink = sink(&path);
    let lanes = 4u64;
    let per_lane = 60_000u64;
    std::thread::scope(|s| {
        for l in 0..lanes {
            let lane = sink.lane();
            s.spawn(move || {
                for i in 0..per_lane {
                    lane.line(Some(l), Stream::Out, &format!("lane {l} line {i}"))
                        .unwrap();
                    // Now and then a job ends: its lines must then be in the file.
                    if i % 20_000 == 19_999 {
                        lane.flush().unwrap();
                    }
                }
            });
        }
    });
    sink.lane().line(None, Stream::Event, "end").unwrap();
    sink.finish().unwrap();
    let lines = read(&path);
    assert_eq!(lines.len() as u64, lanes * per_lane + 1);
    let mut next = vec![0u64; lanes as usize];
    let mut switches = 0;
    let mut last_lane = None;
    for pair in lines.windows(2) {
        assert!(
            pair[0][..27] <= pair[1][..27],
            "out of order:\n{}\n{}",
            pair[0],
            pair[1]
        );
    }
    for line in &lines[..lines.len() - 1] {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        let l: u64 = f[1].parse().unwrap();
        assert_eq!(
            f[3],
            format!("lane {l} line {}", next[l as usize]),
            "a lane's order"
        );
        next[l as usize] += 1;
        if last_lane.is_some_and(|p| p != l) {
            switches += 1;
        }
        last_lane = Some(l);
    }
    assert!(lines.last().unwrap().ends_with("\t-\tevent\tend"));
    assert!(switches > 0, "the lanes never interleaved");
    // Whole members, none larger than the limit plus one line.
    for size in member_sizes(&path) {
        assert!(size <= MEMBER_LIMIT + 100, "a member of {size} bytes");
    }
}

#[test]
fn a_flush_puts_every_line_so_far_in_the_file_as_whole_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let sink = sink(&path);
    let (a, b) = (sink.lane(), sink.lane());
    a.line(Some(1), Stream::Out, "one").unwrap();
    b.line(Some(2), Stream::Err, "two\nlines").unwrap();
    a.flush().unwrap();
    // Read while the sink is still open: both lines are there, in whole members.
    let lines = read(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with("\t1\tout\tone"), "{lines:?}");
    assert!(lines[1].ends_with("\t2\terr\ttwo lines"), "{lines:?}");
    assert_eq!(member_sizes(&path).len(), 1);
    drop((a, b));
    sink.finish().unwrap();
}

#[test]
fn members_end_by_themselves_while_a_lane_keeps_adding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let sink = sink(&path);
    let lane = sink.lane();
    lane.line(Some(7), Stream::Out, "first").unwrap();
    // No flush: the thread ends the member within its tick. (The limit only bounds a hang.)
    let started = Instant::now();
    while read(&path).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no member after a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    lane.line(Some(7), Stream::Out, "second").unwrap();
    while read(&path).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lane);
    sink.finish().unwrap();
}

#[test]
fn lines_read_together_share_their_time_and_a_new_batch_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let sink = sink(&path);
    let lane = sink.lane();
    for i in 0..1000 {
        lane.line(Some(0), Stream::Out, &i.to_string()).unwrap();
    }
    lane.flush().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    lane.line(Some(0), Stream::Out, "later").unwrap();
    drop(lane);
    sink.finish().unwrap();
    let lines = read(&path);
    let stamps: std::collections::BTreeSet<&str> = lines.iter().map(|l| &l[..27]).collect();
    // 1,000 lines take far less than 100 us each: a few distinct times at most, unless the
    // machine stalls the thread; never one per line.
    assert!(stamps.len() < 500, "{} distinct times", stamps.len());
    assert!(lines[1000][..27] > lines[999][..27], "{lines:?}");
}

#[test]
fn a_failed_write_is_reported_to_every_lane_and_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let (log, _) = LogWriter::open(&path).unwrap();
    let sink = LogSink::start(log).unwrap();
    let lane = sink.lane();
    sink.shared
        .fail(Error::io(&path, io::Error::from_raw_os_error(libc::ENOSPC)));
    let e = lane.line(Some(0), Stream::Out, "x").unwrap_err();
    assert!(e.is_disk_full(), "{e}");
    assert!(lane.flush().unwrap_err().is_disk_full());
    assert!(sink.check().unwrap_err().is_disk_full());
    assert!(sink.finish().unwrap_err().is_disk_full());
}

#[test]
fn a_line_after_a_write_is_never_stamped_before_the_lines_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let sink = sink(&path);
    let (a, b) = (sink.lane(), sink.lane());
    for _ in 0..200 {
        a.line(Some(1), Stream::Out, "a").unwrap();
        // b's line one microsecond later at least, so that its time is after a's.
        let t = SystemTime::now();
        while SystemTime::now().duration_since(t).unwrap_or_default() < Duration::from_micros(2) {}
        b.line(Some(2), Stream::Out, "b").unwrap();
        b.flush().unwrap();
        // a's burst began before b's line; its next line must not take that time again.
        a.line(Some(1), Stream::Out, "a again").unwrap();
    }
    drop((a, b));
    sink.finish().unwrap();
    let lines = read(&path);
    assert_eq!(lines.len(), 600);
    for pair in lines.windows(2) {
        assert!(
            pair[0][..27] <= pair[1][..27],
            "out of order:\n{}\n{}",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn a_job_log_gets_the_lanes_lines_with_the_same_times_in_whole_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    let job_path = dir.path().join("3.log.gz");
    let sink = sink(&path);
    let lane = sink.lane();
    lane.line(Some(2), Stream::Out, "before").unwrap();
    let (job_log, _) = LogWriter::open(&job_path).unwrap();
    lane.attach(job_log);
    for i in 0..100_000 {
        lane.line(Some(3), Stream::Out, &format!("line {i} of job 3"))
            .unwrap();
    }
    lane.detach().unwrap();
    lane.line(Some(4), Stream::Out, "after").unwrap();
    drop(lane);
    sink.finish().unwrap();
    let all = read(&path);
    let job = read(&job_path);
    assert_eq!(all.len(), 100_002);
    assert_eq!(job[..], all[1..100_001]);
    let sizes = member_sizes(&job_path);
    assert!(sizes.len() >= 2, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s <= MEMBER_LIMIT + 100), "{sizes:?}");
}
