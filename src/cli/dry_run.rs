//! `run --dry-run` and `plan --commands MACHINE`: the shell commands a machine would run, in the
//! order it starts them, one per line on stdout, exactly as `/bin/sh -c` gets them; nothing is
//! written.
//!
//! `{%}` shows the slot a job takes when every job takes the same time (job k of the list in
//! slot k mod threads + 1); a real run gives each job the slot that is free.

use std::io::{self, Write};

use anyhow::Result;

use crate::output::results::{Decision, Existing};
use crate::run::Resume;
use crate::{Error, Work};

/// Writes the commands of `jobs` (job indices in start order) run on `threads` threads.
pub(crate) fn write_commands(
    work: &Work,
    jobs: impl Iterator<Item = u64>,
    threads: usize,
    out: &mut impl Write,
) -> Result<()> {
    let threads = threads.max(1) as u64;
    for (k, index) in (0u64..).zip(jobs) {
        let command = work.command_in_slot(index, k % threads + 1)?;
        // A value with a line break (quoted, so the shell keeps it) would read as two commands.
        if command.contains('\n') {
            return Err(Error::usage(format!(
                "job {index}: its command holds a line break, which a one-per-line listing cannot show; see it with `jobsplit plan --json` and the job list"
            ))
            .into());
        }
        out.write_all(command.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Prints the commands `run` would start now: the share in order, less the jobs already ok in
/// the output directory (unless the run starts fresh), on the threads the run would use.
pub(crate) fn run(s: &super::run_settings::RunSettings) -> Result<()> {
    if s.worker.is_some() {
        return Err(Error::usage(
            "--dry-run shows shell commands, and a worker runs these jobs: see the jobs with `jobsplit plan --json`",
        )
        .into());
    }
    let share = s.plan.share(s.machine);
    let results = s.opts.dir.join("results.csv");
    let existing = match s.opts.resume {
        Resume::Fresh => Existing::default(),
        Resume::Same | Resume::KeepDone if results.is_file() => Existing::read(&results)?,
        Resume::Same | Resume::KeepDone => Existing::default(),
    };
    let keyer = s.work.keyer();
    // As the run decides (the one resume decision of the results codec).
    let pending = share.iter().copied().filter(|&i| {
        existing.skips_nothing() || {
            let key = keyer.key(i, &s.work.jobs().job_bytes(i)).id();
            existing.decide(&key, s.opts.rerun.contains(i)) == Decision::Run
        }
    });
    let threads = s.opts.threads.clamp(1, share.len().max(1));
    let mut out = io::BufWriter::new(io::stdout().lock());
    write_commands(&s.work, pending, threads, &mut out)?;
    out.flush()?;
    Ok(())
}
