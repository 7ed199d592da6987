//! Tests of `progress.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// A sink the test reads back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that is a closed pipe.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

fn feed(r: &Reporter) {
    r.on_event(&Event::Started {
        machine: "ws1",
        share: 3,
        skipped: 0,
        threads: 2,
    });
    for (index, outcome, error, retrying) in [
        (4, Status::Ok, None, false),
        (7, Status::Failed, Some("exit code 3"), true),
        (7, Status::Timeout, Some("timed out after 2.0s"), false),
    ] {
        r.on_event(&Event::JobStarted { index, attempt: 1 });
        r.on_event(&Event::JobFinished {
            index,
            attempt: 1,
            outcome,
            duration: Duration::from_millis(5),
            error,
            retrying,
        });
    }
    r.on_event(&Event::Warning("results.csv: cut 12 bytes"));
}

#[test]
fn plain_lines() {
    let buf = Buffer::default();
    let r = Reporter::plain(false, Box::new(buf.clone()));
    feed(&r);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    insta::assert_snapshot!(text, @r"
    job 7 attempt 1 failed: exit code 3; will retry
    job 7 attempt 1 timeout: timed out after 2.0s
    jobsplit: warning: results.csv: cut 12 bytes
    ");
}

#[test]
fn job_lines() {
    let lines = [
        job_line(3, 1, Status::Failed, Some("exit code 7"), true),
        job_line(3, 2, Status::Failed, Some("exit code 7"), false),
        job_line(5, 1, Status::Timeout, Some("timed out after 2.0s"), false),
        job_line(6, 1, Status::Interrupted, None, false),
        job_line(8, 1, Status::Failed, Some(""), true),
    ];
    insta::assert_snapshot!(lines.join("\n"), @r"
    job 3 attempt 1 failed: exit code 7; will retry
    job 3 attempt 2 failed: exit code 7
    job 5 attempt 1 timeout: timed out after 2.0s
    job 6 attempt 1 interrupted
    job 8 attempt 1 failed; will retry
    ");
}

#[test]
fn progress_lines() {
    let lines = [
        // Before a job ended: no rate, no ETA (it would say 0s).
        progress_line(0, 3, 0, 0.0, "running []"),
        progress_line(0, 3, 0, 4.0, "running [0 1 2]"),
        progress_line(1, 3, 1, 2.0, "running [1 50% 2]"),
        progress_line(
            12_000,
            20_000,
            0,
            11.3,
            "running [12000 12001 12002 12003 …]",
        ),
        progress_line(31, 40, 2, 3.0, "running [31]"),
        progress_line(3, 1000, 0, 700.0, "running [3]"),
        progress_line(3, 3, 0, 5.0, "running []"),
    ];
    insta::assert_snapshot!(lines.join("\n"), @r"
    jobsplit: 0/3 done, 0 failed, running []
    jobsplit: 0/3 done, 0 failed, running [0 1 2]
    jobsplit: 1/3 done, 1 failed, 0.50 jobs/s, ETA 4s, running [1 50% 2]
    jobsplit: 12000/20000 done, 0 failed, 1062 jobs/s, ETA 8s, running [12000 12001 12002 12003 …]
    jobsplit: 31/40 done, 2 failed, 10.3 jobs/s, ETA 1s, running [31]
    jobsplit: 3/1000 done, 0 failed, 0.0043 jobs/s, ETA 64h37m, running [3]
    jobsplit: 3/3 done, 0 failed, 0.60 jobs/s, running []
    ");
}

#[test]
fn the_bar_message_says_failed_once() {
    let r = Reporter::plain(false, Box::new(Buffer::default()));
    feed(&r);
    r.on_event(&Event::JobStarted {
        index: 9,
        attempt: 1,
    });
    insta::assert_snapshot!(r.message(), @"failed 1 running [9]");
}

#[test]
fn rates() {
    let shown: Vec<String> = [1062.1263, 123.456, 12.345, 1.2345, 0.52, 0.0041, f64::NAN]
        .into_iter()
        .map(rate)
        .collect();
    insta::assert_snapshot!(shown.join(" "), @"1062 123 12.3 1.23 0.52 0.0041 ?");
}

#[test]
fn etas() {
    let shown: Vec<String> = [0, 59, 60, 185, 3599, 3600, 232_634]
        .into_iter()
        .map(eta)
        .collect();
    insta::assert_snapshot!(shown.join(" "), @"0s 59s 1m00s 3m05s 59m59s 1h00m 64h37m");
}

#[test]
fn counts() {
    let shown = [
        count(0u64, "job", "jobs"),
        count(1u64, "job", "jobs"),
        count(2u64, "thread", "threads"),
    ];
    insta::assert_snapshot!(shown.join(", "), @"0 jobs, 1 job, 2 threads");
}

#[test]
fn quiet_keeps_only_warnings() {
    let buf = Buffer::default();
    let r = Reporter::plain(true, Box::new(buf.clone()));
    feed(&r);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text, "jobsplit: warning: results.csv: cut 12 bytes\n");
}

#[test]
fn a_closed_sink_loses_lines_not_the_run() {
    let r = Reporter::plain(false, Box::new(Closed));
    feed(&r);
    r.tick_line();
    r.always("the end");
}

#[test]
fn bytes_read_as_people_say_them() {
    assert_eq!(super::bytes(0), "0 B");
    assert_eq!(super::bytes(999), "999 B");
    assert_eq!(super::bytes(4_200), "4.2 kB");
    assert_eq!(super::bytes(999_999), "1.0 MB");
    assert_eq!(super::bytes(1_300_000), "1.3 MB");
    assert_eq!(super::bytes(2_000_000_000), "2.0 GB");
}
