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

use crate::model::tally::AtomicTally;
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
    tally: AtomicTally,
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
            tally: AtomicTally::default(),
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
                // A stealing run skips the finished jobs of every block it held, stolen ones
                // too: more than its own share.
                let total = share.saturating_sub(*skipped);
                self.total.store(total, Ordering::Relaxed);
                if let Display::Bar(bar) = &self.display {
                    bar.set_length(total);
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
                    self.tally.add(*outcome);
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
            self.tally.snapshot().failed_or_timeout(),
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
        let tally = self.tally.snapshot();
        self.write_line(&progress_line(
            // Every job this run ended (the bar's position), interrupted ones too.
            tally.with_status(),
            self.total.load(Ordering::Relaxed),
            tally.failed_or_timeout(),
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
    // A stealing run may end more jobs than its share (it steals), or have none (a helper).
    let mut line = if done > total {
        format!("{}: {done} done, {failed} failed", super::program::name())
    } else {
        format!(
            "{}: {done}/{total} done, {failed} failed",
            super::program::name()
        )
    };
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

/// A byte count for people: `512 B`, `4.2 kB`, `1.3 MB`, `2.0 GB` (powers of 1000).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
