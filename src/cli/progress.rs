//! Reporters: turn the runner's events into a progress bar (terminal), a plain line every few
//! seconds (nohup, Slurm), or nothing (--quiet). The only place that knows indicatif.
//!
//! Plain lines go to any `Write` (stderr in the binary, a buffer in tests, so every line a user
//! sees is snapshot-tested); a write that fails (a closed pipe) loses the line, never the run.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::model::Status;
use crate::run::Event;

enum Display {
    Bar(ProgressBar),
    Plain,
    Quiet,
}

/// Where plain lines go.
pub(crate) type Sink = Box<dyn Write + Send>;

/// Counts from events (atomics, no lock per job but the running set) and draws them.
pub(crate) struct Reporter {
    display: Display,
    sink: Mutex<Sink>,
    total: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    running: Mutex<BTreeMap<u64, Option<f64>>>,
    start: Instant,
}

impl Reporter {
    /// The binary's reporter: a bar on a terminal, plain lines on stderr otherwise.
    pub(crate) fn stderr(quiet: bool) -> Reporter {
        if quiet || !std::io::stderr().is_terminal() {
            return Reporter::plain(quiet, Box::new(std::io::stderr()));
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {rate}{eta} {msg}",
            )
            .expect("a valid template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                if s.pos() > 0 {
                    let _ = write!(w, "{} jobs/s", rate(s.per_sec()));
                }
            })
            // No ETA before a job ended: it would say 0s.
            .with_key("eta", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                if s.pos() > 0 {
                    let _ = write!(w, ", ETA {}", eta(s.eta().as_secs()));
                }
            })
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Reporter::with(Display::Bar(bar), Box::new(std::io::stderr()))
    }

    /// A reporter writing plain lines (or, with `quiet`, only warnings) to `sink`.
    pub(crate) fn plain(quiet: bool, sink: Sink) -> Reporter {
        Reporter::with(
            if quiet {
                Display::Quiet
            } else {
                Display::Plain
            },
            sink,
        )
    }

    fn with(display: Display, sink: Sink) -> Reporter {
        Reporter {
            display,
            sink: Mutex::new(sink),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            running: Mutex::new(BTreeMap::new()),
            start: Instant::now(),
        }
    }

    /// Writes one line to the sink; a failed write (a closed pipe) drops the line.
    fn write_line(&self, line: &str) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(sink, "{line}").and_then(|()| sink.flush());
    }

    /// Prints a line above the bar (or plainly; nothing when quiet), escaped: a job's error
    /// quotes what the job wrote, which may hold escape sequences or line breaks.
    pub(crate) fn println(&self, line: &str) {
        let line = &*crate::text::escape(line);
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Plain => self.write_line(line),
            Display::Quiet => {}
        }
    }

    /// Prints a line even in quiet mode (a warning, the run's outcome).
    pub(crate) fn always(&self, line: &str) {
        // Several lines of our own (the summary): each escaped on its own.
        let escaped: Vec<_> = line.split('\n').map(crate::text::escape).collect();
        let line = &*escaped.join("\n");
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            _ => self.write_line(line),
        }
    }

    /// How many jobs run now.
    pub(crate) fn running(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Prints a warning even in quiet mode.
    pub(crate) fn warn(&self, line: &str) {
        self.always(&format!("{}: warning: {line}", super::program::name()));
    }

    pub(crate) fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::Started { share, skipped, .. } => {
                self.total.store(share - skipped, Ordering::Relaxed);
                if let Display::Bar(bar) = &self.display {
                    bar.set_length(share - skipped);
                    bar.reset_eta();
                }
            }
            Event::JobStarted { index, .. } => {
                self.running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(*index, None);
                self.refresh();
            }
            Event::JobFinished {
                index,
                attempt,
                outcome,
                error,
                retrying,
                ..
            } => {
                self.running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(index);
                if *outcome != Status::Ok {
                    self.println(&job_line(*index, *attempt, *outcome, *error, *retrying));
                }
                if !retrying {
                    self.done.fetch_add(1, Ordering::Relaxed);
                    if *outcome != Status::Ok {
                        self.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Display::Bar(bar) = &self.display {
                        bar.inc(1);
                    }
                }
                self.refresh();
            }
            Event::JobProgress { index, fraction } => {
                if let Some(f) = self
                    .running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(index)
                {
                    *f = Some(*fraction);
                }
                self.refresh();
            }
            Event::Warning(w) => self.warn(w),
        }
    }

    fn refresh(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.set_message(self.message());
        }
    }

    fn message(&self) -> String {
        format!(
            "failed {} {}",
            self.failed.load(Ordering::Relaxed),
            self.running_list()
        )
    }

    /// `running [3 4 …]`: up to four running jobs, with their progress when they report it.
    fn running_list(&self) -> String {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut shown: Vec<String> = running
            .iter()
            .take(4)
            .map(|(i, f)| match f {
                Some(f) => format!("{i} {:.0}%", f * 100.0),
                None => i.to_string(),
            })
            .collect();
        if running.len() > 4 {
            shown.push("…".into());
        }
        format!("running [{}]", shown.join(" "))
    }

    /// One plain progress line (for the non-terminal ticker).
    pub(crate) fn tick_line(&self) {
        if !matches!(self.display, Display::Plain) {
            return;
        }
        self.write_line(&progress_line(
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.start.elapsed().as_secs_f64(),
            &self.running_list(),
        ));
    }

    pub(crate) fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}

/// `1 job`, `2 jobs`: `n` and the noun, singular for exactly one.
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A rate with sensible precision (about three significant digits): `1062`, `12.3`, `1.23`,
/// `0.52`, `0.0041`.
fn rate(per_sec: f64) -> String {
    match per_sec {
        r if !r.is_finite() => "?".into(),
        r if r >= 100.0 => format!("{r:.0}"),
        r if r >= 10.0 => format!("{r:.1}"),
        r if r >= 0.01 => format!("{r:.2}"),
        r => format!("{r:.4}"),
    }
}

/// A remaining time: `42s`, `3m05s`, `64h37m`.
fn eta(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The line printed when a job attempt did not end ok.
fn job_line(
    index: u64,
    attempt: u32,
    outcome: Status,
    error: Option<&str>,
    retrying: bool,
) -> String {
    let mut line = format!("job {index} attempt {attempt} {}", outcome.as_str());
    if let Some(e) = error.filter(|e| !e.is_empty()) {
        line.push_str(": ");
        line.push_str(e);
    }
    if retrying {
        line.push_str("; will retry");
    }
    line
}

/// The plain progress line: no rate or ETA before a job ended (they would say 0 and 0s).
fn progress_line(done: u64, total: u64, failed: u64, secs: f64, running: &str) -> String {
    let mut line = format!(
        "{}: {done}/{total} done, {failed} failed",
        super::program::name()
    );
    if done > 0 && secs > 0.0 {
        let per_sec = done as f64 / secs;
        line.push_str(&format!(", {} jobs/s", rate(per_sec)));
        if done < total {
            let left = (total - done) as f64 / per_sec;
            line.push_str(&format!(", ETA {}", eta(left.ceil() as u64)));
        }
    }
    line.push_str(", ");
    line.push_str(running);
    line
}

#[cfg(test)]
mod tests {
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
}
