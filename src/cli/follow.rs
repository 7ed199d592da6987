//! `jobsplit run --follow`: once this machine's share is done, wait for jobs appended to the job
//! list and run its shares of each new epoch (docs/split-v1.md section 7), until Ctrl-C or
//! SIGTERM.

use std::time::Duration;

use anyhow::Result;
use signal_hook::iterator::Signals;

use super::run_settings::RunSettings;
use crate::input::GrowthWatch;

/// How often a follower looks at the job list (one `stat`, and a read only when it changed).
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Refuses `--follow` where there is no job list file to follow.
pub(crate) fn check(settings: &RunSettings, program: bool) -> Result<()> {
    let stdin = settings.growth.is_none();
    if program || stdin {
        return Err(crate::Error::usage(if program {
            "--follow follows a job list file, and this program supplies its own jobs"
        } else {
            "--follow follows a job list file, and this one is read from standard input: pass --jobs FILE"
        })
        .into());
    }
    Ok(())
}

/// SIGINT and SIGTERM caught for the whole of a following run, beside the handlers each round
/// of running sets: a signal between rounds (while the list is read, a summary written) is
/// never lost, and ends the run.
pub(crate) struct Follower {
    signals: Signals,
    stopped: bool,
}

impl Follower {
    /// Catches SIGINT and SIGTERM from now on.
    ///
    /// # Errors
    /// If the signals cannot be caught.
    pub(crate) fn start() -> Result<Follower> {
        Ok(Follower {
            signals: super::signals::catch()?,
            stopped: false,
        })
    }

    /// True once SIGINT or SIGTERM arrived.
    pub(crate) fn stopped(&mut self) -> bool {
        self.stopped |= self.signals.pending().next().is_some();
        self.stopped
    }
}

/// Waits until the job list holds finished jobs that the run's plan does not (appended, or an
/// epoch another run recorded): `true`; or until SIGINT or SIGTERM: `false`.
pub(crate) fn wait_for_growth(settings: &RunSettings, follower: &mut Follower) -> bool {
    let path = settings.work.jobs().path();
    let format = settings.work.jobs().format();
    let (planned_jobs, planned_epochs) = (settings.plan.jobs(), settings.plan.epochs().len());
    let mut watch = GrowthWatch::new();
    loop {
        if follower.stopped() {
            return false;
        }
        if watch.grew(path, format, planned_jobs, planned_epochs) {
            return true;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}
