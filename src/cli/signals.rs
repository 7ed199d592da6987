//! Ctrl-C and SIGTERM during a run escalate: the first stops starting jobs and asks the running
//! ones to stop (SIGTERM, then the grace period), and says so; the second ends them at once; a
//! third (for library jobs, which cannot be killed) exits without waiting for them.
//!
//! The handlers only wake a thread (signal-hook's self-pipe); that thread raises the run's
//! [`Cancel`] level and prints one line. A signal before `register` has its default effect
//! (nothing has started then).

use std::thread::Scope;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use super::exit;
use crate::run::{Cancel, Level};

/// SIGINT and SIGTERM, caught from now on.
pub(crate) struct Caught {
    signals: Signals,
}

/// Catches SIGINT and SIGTERM.
pub(crate) fn register() -> std::io::Result<Caught> {
    Ok(Caught { signals: catch()? })
}

/// SIGINT and SIGTERM caught from now on, and the jobs started from now on told so (they put
/// both back to their default).
pub(crate) fn catch() -> std::io::Result<Signals> {
    let signals = Signals::new([SIGINT, SIGTERM])?;
    crate::sys::signal_handlers_changed();
    Ok(signals)
}

/// What the run is, for the lines the user sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunKind {
    /// Time between SIGTERM and SIGKILL.
    pub(crate) grace: Duration,
    /// Library jobs (threads) rather than processes.
    pub(crate) library: bool,
}

impl Caught {
    /// Watches for signals on a thread of `scope` until the returned [`Watching`] is dropped
    /// (also by a panic unwinding past it, which the scope would otherwise wait on forever):
    /// each raises `cancel` one level and calls `say` with the line to show; `running` says how
    /// many jobs run.
    pub(crate) fn watch<'scope, 'env>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        cancel: &'env Cancel,
        kind: RunKind,
        running: impl Fn() -> usize + Send + 'env,
        say: impl Fn(&str) + Send + 'env,
    ) -> Watching {
        let handle = self.signals.handle();
        let mut signals = self.signals;
        scope.spawn(move || {
            for _ in signals.forever() {
                let before = cancel.level();
                let now = cancel.escalate();
                if before == Level::Killing {
                    say("exiting now without waiting for the running jobs; run the same command again to resume");
                    std::process::exit(exit::INTERRUPTED.into());
                }
                say(&line(now, running(), kind));
            }
        });
        Watching(handle)
    }
}

/// The signal watcher of a run: dropping it ends the watching thread.
pub(crate) struct Watching(Handle);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The line shown when the run reaches `level` with `running` jobs.
fn line(level: Level, running: usize, kind: RunKind) -> String {
    let jobs = match running {
        1 => "1 job".to_owned(),
        n => format!("{n} jobs"),
    };
    match (level, kind.library) {
        (Level::Stopping, false) => format!(
            "stopping: {jobs} running, they get {} s to end (Ctrl-C again to kill them now)",
            kind.grace.as_secs_f64()
        ),
        (Level::Stopping, true) => format!(
            "stopping: {jobs} running; ctx.is_cancelled() is now true and each is recorded when it returns (Ctrl-C again to stop waiting)"
        ),
        (_, false) => format!("killing {jobs} now"),
        (_, true) => format!(
            "a thread cannot be killed: still waiting for {jobs} to return (Ctrl-C again to exit now)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_name_the_jobs_and_the_grace() {
        let command = RunKind {
            grace: Duration::from_millis(2500),
            library: false,
        };
        assert_eq!(
            line(Level::Stopping, 2, command),
            "stopping: 2 jobs running, they get 2.5 s to end (Ctrl-C again to kill them now)"
        );
        assert_eq!(line(Level::Killing, 1, command), "killing 1 job now");
    }
}
