//! The jobs running right now, for status.json: kept by watching the run's own events (an
//! attempt started, an attempt ended), so the scheduler's hot path gains one uncontended lock
//! per attempt start and end and nothing else.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::events::Event;
use crate::output::manifest::RunningJob;

/// The attempts started and not yet ended, by job index.
#[derive(Debug, Default)]
pub(crate) struct Running {
    jobs: Mutex<BTreeMap<u64, (u32, SystemTime)>>,
}

impl Running {
    /// Notes `event` if it starts or ends an attempt.
    pub(crate) fn observe(&self, event: &Event<'_>) {
        match *event {
            Event::JobStarted { index, attempt } => {
                self.lock().insert(index, (attempt, SystemTime::now()));
            }
            Event::JobFinished { index, .. } => {
                self.lock().remove(&index);
            }
            _ => {}
        }
    }

    /// The running attempts, by index.
    pub(crate) fn snapshot(&self) -> Vec<RunningJob> {
        self.lock()
            .iter()
            .map(|(&index, &(attempt, started))| RunningJob {
                index,
                attempt,
                started_at: crate::output::rfc3339(started),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (u32, SystemTime)>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use std::time::Duration;

    #[test]
    fn an_attempt_is_running_from_its_start_to_its_end() {
        let r = Running::default();
        r.observe(&Event::JobStarted {
            index: 7,
            attempt: 1,
        });
        r.observe(&Event::JobStarted {
            index: 3,
            attempt: 2,
        });
        let s = r.snapshot();
        assert_eq!(
            s.iter().map(|j| (j.index, j.attempt)).collect::<Vec<_>>(),
            [(3, 2), (7, 1)]
        );
        r.observe(&Event::JobFinished {
            index: 7,
            attempt: 1,
            outcome: Status::Ok,
            duration: Duration::ZERO,
            error: None,
            retrying: false,
        });
        assert_eq!(r.snapshot().len(), 1);
    }
}
