//! What a program that supplies its own jobs (a `Splitter`) gives the command line in place of
//! a job list file and shell commands.

use super::Program;
use crate::input::JobList;
use crate::run::{RunSummary, Runner};

/// Jobs a program supplies itself (a `Splitter`), instead of a job list file and shell commands.
pub(crate) trait JobSource: Sync {
    /// The job list (the items as canonical JSON lines).
    fn job_list(&self) -> crate::Result<JobList>;
    /// Runs the share with the program's own executor.
    fn run(&self, runner: &Runner<'_>) -> crate::Result<RunSummary>;
    /// How the program presents itself on its command line.
    fn program(&self) -> Program;
}
