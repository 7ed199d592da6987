//! Words written into Grid Engine job scripts, checked: a value that would break a `#$` line
//! (or that Grid Engine reads otherwise than meant) is refused with the option it came from.

use std::path::Path;

use super::sbatch_words::{utf8, word};
use super::sge_options::SgeScriptOptions;
use super::sge_time::sge_time;
use crate::{Error, Result};

/// A Grid Engine job name: one word, none of `/ : @ \ * ?`, not starting with a digit
/// (`-hold_jid` would read it as a job id).
pub(super) fn job_name(name: &str) -> Result<()> {
    word("--job-name", name)?;
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.contains(['/', ':', '@', '*', '?']) {
        return Err(Error::usage(format!(
            "--job-name {name:?}: a Grid Engine job name cannot start with a digit or contain \
             / : @ * ?"
        )));
    }
    Ok(())
}

/// A directory as written in a `#$` line: qsub splits on spaces, expands `$JOB_ID` and the
/// like, reads `host:path`, and `-v` splits on commas.
pub(super) fn sge_path<'p>(option: &str, path: &'p Path) -> Result<&'p str> {
    let text = utf8(option, path)?;
    let bad = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '$' | ':' | ',' | '#');
    if text.is_empty() || text.chars().any(bad) {
        return Err(Error::usage(format!(
            "{option} {text:?}: a directory named in a #$ line cannot be empty or contain \
             spaces, quotes, $, :, commas, # or backslashes; choose another directory"
        )));
    }
    Ok(text)
}

/// An extra `#$` option for every job: `-l h_vmem=8G` or `#$ -l h_vmem=8G`. Not `-t` or
/// `-tc`: the merge is no array job, and Grid Engine refuses it either.
pub(super) fn extra_line(line: &str) -> Result<String> {
    let option = line.trim();
    let option = option.strip_prefix("#$").unwrap_or(option).trim();
    if !option.starts_with('-') || option.contains(['\n', '\r']) {
        return Err(Error::usage(format!(
            "extra #$ line {line:?}: expected one qsub option such as -l h_vmem=8G"
        )));
    }
    let name = option.split_whitespace().next().unwrap_or_default();
    if name == "-t" || name == "-tc" {
        return Err(Error::usage(format!(
            "extra #$ line {line:?}: the array's tasks come from --shards and how many run at \
             once from --max-running; an extra line goes to every job, the merge too"
        )));
    }
    Ok(option.to_owned())
}

/// The `#$` options of a task that runs a shard (`-tc`, `-pe`, `-l h_rt`) and the merge's
/// `-l h_rt` option (its own `--merge-time`, else the tasks').
pub(super) fn task_lines(opts: &SgeScriptOptions) -> Result<(Vec<String>, Option<String>)> {
    let mut task = Vec::new();
    match opts.max_running {
        Some(0) => return Err(Error::usage("--max-running 0: no task could run")),
        Some(n) => task.push(format!("-tc {n}")),
        None => {}
    }
    match &opts.pe {
        Some(pe) => {
            word("--pe", pe)?;
            task.push(format!("-pe {pe} {}", opts.slots));
        }
        None if opts.slots > 1 => {
            return Err(Error::usage(format!(
                "--slots {}: several slots need --pe NAME, the parallel environment that \
                 gives a task its slots on one host (`qconf -spl` lists them)",
                opts.slots
            )))
        }
        None => {}
    }
    let time = |option: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| sge_time(option, t).map(|t| format!("-l h_rt={t}")))
            .transpose()
    };
    let task_time = time("--time", &opts.study.time)?;
    let merge_time = time("--merge-time", &opts.study.merge_time)?.or_else(|| task_time.clone());
    task.extend(task_time);
    Ok((task, merge_time))
}
