//! Notifications: a user's command (`--notify CMD`, `[run] notify`) run on a few events of a run,
//! fed by the run's own [`Event`]s. It never blocks or breaks the run: the workers only put the
//! event on a bounded queue (a full queue drops it and counts it), one thread of its own runs
//! the commands one at a time, each under a time limit after which its process group is killed,
//! and every failure goes to a warning callback (the library never prints) and, once the run has
//! ended, into the machine's log.gz as `event` lines (`notify: ...`), so that it is on record
//! when nobody watched the terminal.
//!
//! Events (`JOBSPLIT_EVENT`): `job_failed` and `job_timed_out` (a job ended so after its last
//! attempt), `machine_finished` (the share was run to its end), `run_interrupted` (stopped early).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::events::Event;
use super::executor::Control;
use super::runner::RunSummary;
use super::supervisor::{Environ, Exit, Io, Launch, Process, Vars};
use crate::model::Status;

/// Events waiting while a command runs; more are dropped and counted.
pub(crate) const QUEUE: usize = 8;
/// How long one notify command may run before its process group is killed.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(10);

/// How often the notify thread looks at the clock while a command runs.
const TICK: Duration = Duration::from_millis(100);

/// Warnings of the notifier, sent from its thread.
pub(crate) type Warn = Box<dyn Fn(&str) + Send + Sync>;

/// Runs a notify command on a run's events. Feed it with [`Notifier::observe`] (from any
/// thread), end it with [`Notifier::finish`].
pub(crate) struct Notifier {
    tx: Option<SyncSender<Value>>,
    thread: Option<std::thread::JoinHandle<()>>,
    machine: String,
    dir: PathBuf,
    dropped: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    /// Failures with their time, for log.gz.
    failures: Failures,
}

/// Failures of the notify thread, with their time, kept for log.gz.
type Failures = Arc<Mutex<Vec<(SystemTime, String)>>>;

impl Notifier {
    /// A notifier running `command` (with `sh -c`) for machine `machine` writing `dir`;
    /// `warn` gets its failures.
    ///
    /// # Errors
    /// If its thread cannot start.
    pub(crate) fn start(
        command: &str,
        machine: &str,
        dir: PathBuf,
        warn: Warn,
    ) -> std::io::Result<Notifier> {
        let (tx, rx) = sync_channel::<Value>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let closing = Arc::new(AtomicBool::new(false));
        let failures = Failures::default();
        let (cmd, d, c, f) = (
            command.to_owned(),
            dropped.clone(),
            closing.clone(),
            failures.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("jobsplit-notify".into())
            .spawn(move || {
                let warn = |w: &str| {
                    f.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((SystemTime::now(), w.to_owned()));
                    warn(w);
                };
                deliver(&cmd, &rx, &d, &c, &warn);
            })?;
        Ok(Notifier {
            tx: Some(tx),
            thread: Some(thread),
            machine: machine.to_owned(),
            dir,
            dropped,
            closing,
            failures,
        })
    }

    /// Queues a notification if `event` is one (never waits: a full queue drops it).
    pub(crate) fn observe(&self, event: &Event<'_>) {
        let Event::JobFinished {
            index,
            attempt,
            outcome,
            duration,
            error,
            retrying: false,
        } = *event
        else {
            return;
        };
        let name = match outcome {
            Status::Failed => "job_failed",
            Status::Timeout => "job_timed_out",
            _ => return,
        };
        let mut v = self.base(name);
        v["index"] = index.into();
        v["attempt"] = attempt.into();
        v["error"] = error.unwrap_or_default().into();
        v["duration_s"] = duration.as_secs_f64().into();
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(v) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends the run's last event (`machine_finished` or `run_interrupted`) and waits for it:
    /// job events still queued are dropped, so this waits at most two time limits.
    pub(crate) fn finish(mut self, summary: &RunSummary) {
        let name = if summary.interrupted {
            "run_interrupted"
        } else {
            "machine_finished"
        };
        let mut v = self.base(name);
        let c = summary.counts;
        for (k, n) in [
            ("share", summary.share),
            ("ok", c.ok),
            ("failed", c.failed),
            ("timeout", c.timeout),
            ("interrupted", c.interrupted),
            ("skipped", c.skipped),
            ("not_started", c.not_run),
        ] {
            v[k] = n.into();
        }
        v["wall_s"] = summary.wall.as_secs_f64().into();
        self.closing.store(true, Ordering::Relaxed);
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(v);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.record();
    }

    /// Appends the failures so far to the machine's log.gz as event lines (the run has ended
    /// and closed it). A log that cannot be written loses them: they were shown as warnings.
    fn record(&self) {
        let failures =
            std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()));
        if failures.is_empty() {
            return;
        }
        let path = self.dir.join("log.gz");
        let Ok((mut log, _)) = crate::output::log::LogWriter::open(&path) else {
            return;
        };
        for (at, text) in failures {
            if log
                .line(
                    at,
                    None,
                    crate::model::Stream::Event,
                    &format!("notify: {text}"),
                )
                .is_err()
            {
                return;
            }
        }
        let _ = log.finish();
    }

    fn base(&self, event: &str) -> Value {
        json!({
            "event": event,
            "machine": self.machine,
            "dir": self.dir,
            "time": crate::output::rfc3339(SystemTime::now()),
        })
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        // Not finished (the run failed): what failed so far is still recorded.
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.record();
    }
}

/// The notifier's thread: one command per event, in order.
fn deliver(
    command: &str,
    rx: &Receiver<Value>,
    dropped: &AtomicU64,
    closing: &AtomicBool,
    warn: &dyn Fn(&str),
) {
    let mut coalesced = 0u64;
    while let Ok(mut v) = rx.recv() {
        let is_job = v["index"].is_u64();
        if is_job && closing.load(Ordering::Relaxed) {
            coalesced += 1;
            continue;
        }
        let busy = dropped.swap(0, Ordering::Relaxed);
        if busy > 0 {
            warn(&format!(
                "notify: {busy} events not sent: the notify command was busy (queue of {QUEUE})"
            ));
        }
        let ended = std::mem::take(&mut coalesced);
        if ended > 0 {
            warn(&format!(
                "notify: {ended} job events not sent: the run ended first"
            ));
        }
        v["dropped"] = (busy + ended).into();
        if let Err(why) = run_one(command, &v) {
            warn(&format!(
                "notify command for {}: {why}",
                v["event"].as_str().unwrap_or("?")
            ));
        }
    }
    if coalesced > 0 {
        warn(&format!(
            "notify: {coalesced} job events not sent: the run ended first"
        ));
    }
}

/// Runs `command` for event `v`: JSON on stdin, fields in `JOBSPLIT_*` variables. The event is
/// written without blocking, under the command's time limit: a command that does not read its
/// stdin, or never exits, is killed with its process group once the limit is over; whatever it
/// started in its group ends when it exits.
fn run_one(command: &str, v: &Value) -> Result<(), String> {
    let mut vars = Vars::default();
    if let Value::Object(map) = v {
        for (k, val) in map {
            let text = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // A NUL cannot be in a variable; the JSON on stdin keeps it.
            vars.push(
                &format!("JOBSPLIT_{}", k.to_ascii_uppercase()),
                text.replace('\0', " "),
            );
        }
    }
    let launch = Launch {
        command,
        env: &Environ::inherit(&[]),
        vars: &vars,
        cwd: None,
    };
    let io = Io {
        stdin: true,
        output: false,
        max_out_line: None,
    };
    let mut process =
        Process::spawn(&launch, io, None).map_err(|e| format!("cannot start /bin/sh ({e})"))?;
    // A command that does not read its stdin is fine: its pipe is closed when it exits.
    process.write(format!("{v}\n").as_bytes());
    process.close_stdin_when_written();
    let control = Control::only_timeout(Some(TIME_LIMIT));
    process.wait_done(&control, TICK, &mut |_, _| {});
    match process.reap(None) {
        Exit::Code(0) => Ok(()),
        Exit::TimedOut(limit) => Err(format!(
            "still running after {}s: its process group was killed",
            limit.as_secs()
        )),
        other => Err(format!("ended with {other}")),
    }
}
