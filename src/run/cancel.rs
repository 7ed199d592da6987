//! Cancelling a run, in steps: the first request stops starting jobs and asks the running ones
//! to stop (SIGTERM, then the grace period); the second kills them at once. Set from a signal
//! handler or another thread (atomics only); read by the scheduler and the executors.

use std::sync::atomic::{AtomicU8, Ordering};

/// How far a run has been asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Not cancelled.
    Running,
    /// Start no job; ask the running ones to stop, giving them the grace period.
    Stopping,
    /// Start no job; end the running ones now.
    Killing,
}

impl Level {
    fn from_u8(n: u8) -> Level {
        match n {
            0 => Level::Running,
            1 => Level::Stopping,
            _ => Level::Killing,
        }
    }
}

/// A run's cancellation state, shared by reference between whoever cancels and the run.
#[derive(Debug, Default)]
pub struct Cancel {
    level: AtomicU8,
}

impl Cancel {
    /// Not cancelled.
    pub const fn new() -> Cancel {
        Cancel {
            level: AtomicU8::new(0),
        }
    }

    /// The current level.
    pub fn level(&self) -> Level {
        Level::from_u8(self.level.load(Ordering::SeqCst))
    }

    /// True once stopping or killing.
    pub fn is_cancelled(&self) -> bool {
        self.level() >= Level::Stopping
    }

    /// Raises the level to at least `level` (it never goes down) and returns the new level.
    pub fn raise(&self, level: Level) -> Level {
        let old = self.level.fetch_max(level as u8, Ordering::SeqCst);
        Level::from_u8(old.max(level as u8))
    }

    /// Asks the running jobs to stop (the first Ctrl-C).
    pub fn stop(&self) {
        self.raise(Level::Stopping);
    }

    /// Ends the running jobs now (the second Ctrl-C).
    pub fn kill(&self) {
        self.raise(Level::Killing);
    }

    /// One step up (Running -> Stopping -> Killing), returning the new level.
    pub fn escalate(&self) -> Level {
        let old = self
            .level
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some((n + 1).min(2)))
            .unwrap_or(2);
        Level::from_u8((old + 1).min(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_only_go_up() {
        let c = Cancel::new();
        assert_eq!(c.level(), Level::Running);
        c.kill();
        c.stop();
        assert_eq!(c.level(), Level::Killing);
        assert!(c.is_cancelled());
    }
}
