//! The stop ladder of a [`Process`]: SIGTERM and the grace period, SIGKILL, the look for
//! holders of its output, the drain, each moved on by a deadline (see [`Phase`]).

use std::time::{Duration, Instant};

use super::pipe::Pipe;
use super::{Exit, Phase, Process, DRAIN, SETTLE};
use crate::run::executor::Control;
use crate::sys::{self, Signal};

impl Process<'_> {
    /// Asks it to stop for `why`: SIGTERM to its group and its marked processes; SIGKILL follows
    /// after the grace period.
    pub(crate) fn stop(&mut self, why: Exit) {
        if self.stopped.is_some() || matches!(self.phase, Phase::Killed { .. }) {
            return;
        }
        self.stopped = Some(why);
        self.signal(Signal::Term);
        if self.phase == Phase::Running {
            self.phase = Phase::Stopping {
                since: Instant::now(),
            };
        }
    }

    /// Ends it now (SIGKILL to its group and its marked processes), for `why` if jobsplit stops
    /// it; its pipes are read for at most [`DRAIN`] more.
    pub(crate) fn kill(&mut self, why: Option<Exit>) {
        if let Some(why) = why {
            self.stopped.get_or_insert(why);
        }
        if matches!(self.phase, Phase::Killed { .. }) {
            return;
        }
        self.signal(Signal::Kill);
        let until = match self.phase {
            Phase::Draining { until } => until,
            _ => Instant::now() + DRAIN,
        };
        self.phase = Phase::Killed { until };
    }

    /// Lets it end by itself until `until` (reading its output), then kills it.
    pub(crate) fn drain_until(&mut self, until: Instant) {
        if self.phase == Phase::Running {
            self.phase = Phase::Draining { until };
        }
    }

    fn signal(&self, sig: Signal) {
        sys::signal_group(self.pgid, sig);
        if let Some(m) = &self.marked {
            m.signal(sig);
        }
    }

    /// Moves the ladder on: the run's cancellation and the time limit under `control`, the
    /// grace period, the look for holders of its output, the end of the drain.
    pub(super) fn enforce(&mut self, control: &Control<'_>, now: Instant) {
        if control.killing() {
            self.kill(Some(Exit::Stopped(control.stop())));
        }
        if self.stopped.is_none() {
            if control.cancelled() {
                self.stop(Exit::Stopped(control.stop()));
            } else if let Some(t) = control.timeout.filter(|&t| now - self.started >= t) {
                self.stop(Exit::TimedOut(t));
            }
        }
        if let Phase::Stopping { since } = self.phase {
            if now - since >= control.grace {
                self.kill(None);
            }
        }
        let open = self.pipes.iter().any(Pipe::is_open);
        if self.settle.is_some_and(|at| now >= at) {
            self.settle = None;
            if let (true, Some(m)) = (open, &self.marked) {
                m.signal(Signal::Kill);
            }
        }
        match self.phase {
            Phase::Draining { until } if now >= until && !self.exited => self.kill(None),
            Phase::Draining { until } | Phase::Killed { until } if now >= until => {
                self.pipes.iter_mut().for_each(|p| p.close(&mut |_, _| {}));
            }
            _ => {}
        }
    }

    /// The longest this wait may take: `tick`, or less to meet the next deadline.
    pub(super) fn wait_for(&self, control: &Control<'_>, tick: Duration, now: Instant) -> Duration {
        let mut wait = tick;
        let mut until = |at: Instant| wait = wait.min(at.saturating_duration_since(now));
        match self.phase {
            Phase::Running => {
                if let Some(t) = control.timeout.filter(|_| self.stopped.is_none()) {
                    until(self.started + t);
                }
            }
            Phase::Stopping { since } => until(since + control.grace),
            Phase::Killed { until: at } | Phase::Draining { until: at } => until(at),
        }
        if let Some(at) = self.settle {
            until(at);
        }
        wait
    }

    /// It has just exited: whatever it left running is part of it, so its group is ended now
    /// (one being stopped keeps the rest of its grace period to clean up), and its marked
    /// processes too if its output stays open.
    pub(super) fn exited_now(&mut self) {
        self.exited = true;
        let open = self.pipes.iter().any(Pipe::is_open);
        if open && matches!(self.phase, Phase::Running | Phase::Draining { .. }) {
            sys::signal_group(self.pgid, Signal::Kill);
            let now = Instant::now();
            self.settle = Some(now + SETTLE);
            if self.phase == Phase::Running {
                self.phase = Phase::Draining {
                    until: now + SETTLE + DRAIN,
                };
            }
        }
    }
}
