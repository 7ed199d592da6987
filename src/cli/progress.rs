//! Reporters: turn the runner's events into a progress bar (terminal), a plain line every few
//! seconds (nohup, Slurm), or nothing (--quiet). The only place that knows indicatif.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
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

/// Counts from events (atomics, no lock per job but the running set) and draws them.
pub(crate) struct Reporter {
    display: Display,
    total: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    running: Mutex<BTreeMap<u64, Option<f64>>>,
    start: Instant,
}

impl Reporter {
    pub(crate) fn new(quiet: bool) -> Reporter {
        let display = if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Display::Bar(bar)
        } else {
            Display::Plain
        };
        Reporter {
            display,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            running: Mutex::new(BTreeMap::new()),
            start: Instant::now(),
        }
    }

    /// Prints a line above the bar (or plainly).
    pub(crate) fn println(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Plain => eprintln!("{line}"),
            Display::Quiet => {}
        }
    }

    /// Prints a warning even in quiet mode.
    pub(crate) fn warn(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(format!("warning: {line}")),
            _ => eprintln!("jobsplit: warning: {line}"),
        }
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
        eprintln!(
            "jobsplit: {done}/{total} done, {} failed, {rate:.1} jobs/s, ETA {eta}, {}",
            self.failed.load(Ordering::Relaxed),
            self.message()
        );
    }

    pub(crate) fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}
