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

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .expect("a valid template")
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
                    let what = if *retrying { "will retry" } else { "" };
                    self.println(&format!(
                        "job {index} attempt {attempt} {}: {} {what}",
                        outcome.as_str(),
                        error.unwrap_or("")
                    ));
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
        format!(
            "failed {} running [{}]",
            self.failed.load(Ordering::Relaxed),
            shown.join(" ")
        )
    }

    /// One plain progress line (for the non-terminal ticker).
    pub(crate) fn tick_line(&self) {
        if !matches!(self.display, Display::Plain) {
            return;
        }
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let secs = self.start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let eta = if rate > 0.0 {
            format!("{:.0}s", total.saturating_sub(done) as f64 / rate)
        } else {
            "?".into()
        };
        self.write_line(&format!(
            "{}: {done}/{total} done, {} failed, {rate:.1} jobs/s, ETA {eta}, {}",
            super::program::name(),
            self.failed.load(Ordering::Relaxed),
            self.message()
        ));
    }

    pub(crate) fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
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
        job 7 attempt 1 failed: exit code 3 will retry
        job 7 attempt 1 timeout: timed out after 2.0s 
        jobsplit: warning: results.csv: cut 12 bytes
        ");
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
