//! The human table of `status`: one row per host, its running jobs, stealing hosts' claims
//! and the totals.

use std::time::SystemTime;

use super::status::{MachineStatus, StatusReport};
use crate::output::manifest::RunningJob;

impl StatusReport {
    /// The human table. Names and values from the hosts' files are escaped
    /// (control characters written as `\u{1b}`): a machine name cannot move the cursor or split a row.
    pub fn render_table(&self) -> String {
        use crate::text::escape;
        let width = self
            .machines
            .iter()
            .map(|m| escape(&m.machine).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(7, crate::text::MAX_COLUMN);
        let mut out = format!(
            "{:<width$}  {:>8}  {:>13}  {:>6}  {:>9}  {:>8}  {:>8}  {:<12}  {}\n",
            "machine", "plan", "done", "failed", "cancelled", "jobs/s", "ETA", "state", "updated"
        );
        for m in &self.machines {
            out += &format!(
                "{:<width$}  {:>8}  {:>13}  {:>6}  {:>9}  {:>8.2}  {:>8}  {:<12}  {}\n",
                escape(&m.machine),
                escape(crate::text::short(&m.plan_digest)),
                format!("{}/{}", m.progress.done, m.share),
                m.progress.failed,
                m.progress.cancelled,
                m.rate_per_s,
                m.eta_s.map_or("-".into(), |s| format!("{s:.0}s")),
                if m.stale {
                    format!("{} (stale?)", m.state)
                } else {
                    m.state.to_string()
                },
                if m.updated_at.is_empty() {
                    "-".to_owned()
                } else {
                    escape(&m.updated_at).into_owned()
                }
            );
            if !m.running.is_empty() {
                out += &running_line(&m.running, width);
            }
        }
        out += &steal_lines(&self.machines);
        out += &format!(
            "total: {}/{} done ({} ok, {} failed, {} cancelled, {} running) of {} jobs in the work\n",
            self.progress.done,
            self.planned,
            self.progress.ok,
            self.progress.failed,
            self.progress.cancelled,
            self.running,
            self.jobs_total
        );
        for line in &self.behind {
            out += &format!("{}\n", escape(line));
        }
        out
    }
}

/// One line per stealing host: the jobs of the blocks it holds, how many it stole, whether it
/// steals now (its own share fully claimed). Empty for a static study.
fn steal_lines(machines: &[MachineStatus]) -> String {
    let mut out = String::new();
    for m in machines {
        let Some(st) = &m.steal else {
            continue;
        };
        out += &format!(
            "steal: {} claimed {} done {} stolen {}{}\n",
            crate::text::escape(&m.machine),
            st.claimed,
            m.progress.done,
            st.stolen,
            if st.stealing { " (stealing)" } else { "" }
        );
    }
    out
}

/// Running jobs shown per host; more are counted.
const RUNNING_SHOWN: usize = 8;

/// `  running: 17 (attempt 2, 12s), 4 (3s), …` under a host's row.
fn running_line(jobs: &[RunningJob], width: usize) -> String {
    let now = SystemTime::now();
    let shown: Vec<String> = jobs
        .iter()
        .take(RUNNING_SHOWN)
        .map(|j| {
            let age = crate::output::parse_rfc3339(&j.started_at)
                .and_then(|t| now.duration_since(t).ok())
                .map_or("?".to_owned(), |d| format!("{}s", d.as_secs()));
            match j.attempt {
                1 => format!("{} ({age})", j.index),
                a => format!("{} (attempt {a}, {age})", j.index),
            }
        })
        .collect();
    let more = match jobs.len().saturating_sub(RUNNING_SHOWN) {
        0 => String::new(),
        n => format!(", {n} more"),
    };
    format!("{:<width$}  running: {}{more}\n", "", shown.join(", "))
}
