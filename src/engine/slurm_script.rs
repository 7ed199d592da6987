//! The sbatch scripts that run a study as a Slurm job array, merge it and rescue what failed.

use std::fmt::Write as _;

use super::sbatch_words::{extra_line, sbatch_path, word};
use super::script_shell::{
    merge_commands, out_without_slash, rescue_plan, study_shell, StudyPaths, StudyShell,
};
use super::slurm_options::SlurmScriptOptions;
use super::slurm_time;
use crate::{Error, Result};

/// The name of the array script in [`slurm_files`].
pub(crate) const ARRAY_SCRIPT: &str = "array.sbatch";
/// The name of the merge script in [`slurm_files`].
pub(crate) const MERGE_SCRIPT: &str = "merge.sbatch";
/// The name of the rescue array script in [`slurm_files`].
pub(crate) const RESCUE_SCRIPT: &str = "rescue.sbatch";
/// The name of the submit helper in [`slurm_files`].
pub(crate) const SUBMIT_SH: &str = "submit.sh";
/// The name of the rescue helper in [`slurm_files`].
pub(crate) const RESCUE_SH: &str = "rescue.sh";

/// The files that run a study on Slurm, as `(file name, contents)` pairs for one directory
/// (the CLI's `--submit-dir`); write the `.sh` files executable (mode 0755).
///
/// - `array.sbatch`: the job array, task `I` runs `jobsplit run --shard I/N`.
/// - `merge.sbatch`: `jobsplit merge` of `out` (and of the rescue rounds' outputs), meant to
///   run after the array whatever its tasks' fate (`--dependency=afterany`); it fails when
///   jobs are missing and says how to rescue them.
/// - `submit.sh`: creates `out`, submits the array, then the merge with
///   `--dependency=afterany:$ARRAY_JOB_ID`, and prints both job ids.
/// - `rescue.sbatch` and `rescue.sh`: after a merge that left `merged/missing.txt`
///   non-empty, `rescue.sh [M]` submits `jobsplit run --rescue merged --shard I/M` as a new,
///   smaller array writing to `{out}-rescue-{round}`, then the merge again.
///
/// The output is the same for the same options (no dates, no host names).
///
/// # Errors
///
/// A usage error naming the option when the options cannot make a working script: no shard,
/// no CPU, neither `config` nor `jobs`, a job name, partition or time with spaces or
/// quotes, a directory named in an `#SBATCH` line with spaces, quotes, `%` or backslashes,
/// an extra `#SBATCH` line that is not an option, or a path that is not UTF-8.
pub(crate) fn slurm_files(opts: &SlurmScriptOptions) -> Result<Vec<(&'static str, String)>> {
    let s = Resolved::new(opts)?;
    Ok(vec![
        (ARRAY_SCRIPT, s.array()),
        (MERGE_SCRIPT, s.merge()),
        (SUBMIT_SH, s.submit()),
        (RESCUE_SCRIPT, s.rescue_sbatch()),
        (RESCUE_SH, s.rescue_sh()),
    ])
}

/// The job array script alone (`array.sbatch` of [`slurm_files`]).
///
/// # Errors
///
/// As [`slurm_files`].
#[cfg(test)]
pub(crate) fn slurm_script(opts: &SlurmScriptOptions) -> Result<String> {
    Ok(Resolved::new(opts)?.array())
}

/// The merge script alone (`merge.sbatch` of [`slurm_files`]).
///
/// # Errors
///
/// As [`slurm_files`].
#[cfg(test)]
pub(crate) fn merge_script(opts: &SlurmScriptOptions) -> Result<String> {
    Ok(Resolved::new(opts)?.merge())
}

/// Options checked and turned into script text: `#SBATCH` values raw, shell values quoted.
struct Resolved<'a> {
    opts: &'a SlurmScriptOptions,
    /// `#SBATCH` lines every job gets (partition, chdir, extras).
    common: Vec<String>,
    /// `OUT` as written in an `#SBATCH` line.
    out_raw: String,
    /// Shell assignments for the paths, one per line.
    vars: String,
    /// `--config "$CONFIG"` / `--jobs "$JOBS"` plus the run arguments, quoted.
    input_args: String,
    /// `cd "$WORKDIR"` line for the helpers, or empty.
    cd_workdir: &'static str,
    /// The array's and rescue's `--time`, in Slurm's form.
    time: Option<String>,
    /// The merge's `--time`, in Slurm's form.
    merge_time: Option<String>,
    /// Seconds of `--signal=B:TERM@`, if any.
    signal: Option<u64>,
}

impl<'a> Resolved<'a> {
    fn new(opts: &'a SlurmScriptOptions) -> Result<Resolved<'a>> {
        if opts.study.shards == 0 {
            return Err(Error::usage("--shards 0: a study needs at least 1 shard"));
        }
        if opts.cpus_per_task == 0 {
            return Err(Error::usage(
                "--cpus-per-task 0: each task needs at least 1 CPU",
            ));
        }
        if opts.study.config.is_none() && opts.study.jobs.is_none() {
            return Err(Error::usage(
                "the Slurm scripts need the study: give --config FILE or --jobs FILE",
            ));
        }
        word("--job-name", &opts.study.job_name)?;
        let mut common = Vec::new();
        if let Some(p) = &opts.partition {
            word("--partition", p)?;
            common.push(format!("--partition={p}"));
        }
        let workdir = match &opts.study.workdir {
            Some(dir) => {
                let raw = sbatch_path("--chdir", dir)?;
                common.push(format!("--chdir={raw}"));
                Some(raw)
            }
            None => None,
        };
        for line in &opts.extra_sbatch {
            common.push(extra_line(line)?);
        }
        let out_raw = out_without_slash(sbatch_path("--out", &opts.study.out)?);
        let StudyShell {
            vars,
            input_args,
            cd_workdir,
        } = study_shell(&StudyPaths {
            jobsplit: &opts.study.jobsplit,
            workdir,
            out: &out_raw,
            merged: &opts.study.merged,
            config: opts.study.config.as_ref(),
            jobs: opts.study.jobs.as_ref(),
            run_args: &opts.study.run_args,
        })?;
        let time = opts
            .study
            .time
            .as_deref()
            .map(|t| slurm_time::parse("--time", t))
            .transpose()?;
        let merge_time = opts
            .study
            .merge_time
            .as_deref()
            .map(|t| slurm_time::parse("--merge-time", t))
            .transpose()?;
        let signal = slurm_time::signal_seconds(opts.stop_before, time.as_ref())?;
        Ok(Resolved {
            opts,
            common,
            out_raw,
            vars,
            input_args,
            cd_workdir,
            time: time.map(|t| t.text),
            merge_time: merge_time.map(|t| t.text),
            signal,
        })
    }

    /// The `#SBATCH` options of a task that runs a shard (the array and the rescue).
    fn task_lines(&self) -> Vec<String> {
        // A requeued task appends to its log: the earlier attempt's lines stay.
        let mut lines = vec!["--open-mode=append".to_owned()];
        if let Some(seconds) = self.signal {
            lines.push(format!("--signal=B:TERM@{seconds}"));
        }
        if self.opts.requeue {
            lines.push("--requeue".to_owned());
        }
        lines
    }

    /// The `#SBATCH` block of a job.
    fn header(&self, lines: &[String], time: Option<&String>) -> String {
        let mut text = String::new();
        for line in lines {
            let _ = writeln!(text, "#SBATCH {line}");
        }
        if let Some(t) = time {
            let _ = writeln!(text, "#SBATCH --time={t}");
        }
        for line in &self.common {
            let _ = writeln!(text, "#SBATCH {line}");
        }
        text
    }

    fn array(&self) -> String {
        let o = self.opts;
        let n = o.study.shards;
        let header = self.header(
            &[
                format!("--job-name={}", o.study.job_name),
                format!("--array=0-{}", n - 1),
                "--ntasks=1".to_owned(),
                format!("--cpus-per-task={}", o.cpus_per_task),
                format!("--output={}/slurm-%A_%a.out", self.out_raw),
            ]
            .into_iter()
            .chain(self.task_lines())
            .collect::<Vec<_>>(),
            self.time.as_ref(),
        );
        format!(
            r#"#!/bin/bash
# {name}: a jobsplit study as a Slurm job array of {n} tasks. Written by `jobsplit slurm-script`.
#
# Task I runs shard I/{n}: every task computes the same plan, {n} equal machines shard-0 ..
# shard-{last}, and runs the share of shard-I into OUT/shard-I/. Submit with submit.sh
# (the array, then the merge after it). To run one shard again, e.g. shard {last} after a
# node failure: sbatch --array={last} array.sbatch (its finished jobs are kept).
# Slurm does not create the --output directory: create OUT first (submit.sh does).
# A requeued task appends to its log (--open-mode=append). With --signal=B:TERM@S, Slurm
# sends SIGTERM to the batch shell S seconds before the time limit: `exec` below makes
# jobsplit that shell, so it stops its jobs, records them and exits before the SIGKILL.
{header}
set -euo pipefail
{vars}: "${{SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}}"
echo "jobsplit shard $SLURM_ARRAY_TASK_ID/{n}: Slurm job ${{SLURM_ARRAY_JOB_ID}}_$SLURM_ARRAY_TASK_ID on $(hostname), ${{SLURM_CPUS_PER_TASK:-1}} CPUs, attempt $((${{SLURM_RESTART_COUNT:-0}} + 1))"
exec "$JOBSPLIT" run{input} --shard "$SLURM_ARRAY_TASK_ID/{n}" --out "$OUT" --yes
"#,
            name = o.study.job_name,
            last = n - 1,
            vars = self.vars,
            input = self.input_args,
        )
    }

    fn merge(&self) -> String {
        let o = self.opts;
        let header = self.header(
            &[
                format!("--job-name={}-merge", o.study.job_name),
                "--ntasks=1".to_owned(),
                "--cpus-per-task=1".to_owned(),
                format!("--output={}/slurm-merge-%j.out", self.out_raw),
            ],
            self.merge_time.as_ref().or(self.time.as_ref()),
        );
        format!(
            r#"#!/bin/bash
# {name}: merge the shards' outputs. Written by `jobsplit slurm-script`.
#
# submit.sh and rescue.sh submit this with --dependency=afterany:<array job>, so it runs
# once every array task has ended, whether it succeeded, failed, timed out or was
# cancelled: a partial study is still merged, and MERGED/missing.txt lists what to rescue.
# It merges OUT and every rescue round OUT-rescue-1, OUT-rescue-2, ... into MERGED.
{header}
set -euo pipefail
{vars}{commands}"#,
            name = o.study.job_name,
            vars = self.vars,
            commands = merge_commands(RESCUE_SH),
        )
    }

    fn submit(&self) -> String {
        let o = self.opts;
        format!(
            r#"#!/usr/bin/env bash
# {name}: submit the {n}-task job array, then the merge, which Slurm starts once every
# array task has ended (--dependency=afterany). Written by `jobsplit slurm-script`.
# Prints both job ids.
set -euo pipefail
scripts=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
{vars}{cd}mkdir -p "$OUT" # Slurm cannot create the directory of --output itself
array_id=$(sbatch --parsable "$scripts/{array}")
array_id=${{array_id%%;*}} # "id;cluster" on a federation
merge_id=$(sbatch --parsable --dependency="afterany:$array_id" "$scripts/{merge}")
merge_id=${{merge_id%%;*}}
echo "array job $array_id: {n} tasks writing $OUT/shard-0 .. $OUT/shard-{last} (logs $OUT/slurm-${{array_id}}_*.out)"
echo "merge job $merge_id: after the array, into $MERGED"
echo "watch with: squeue -j $array_id,$merge_id    cancel with: scancel $array_id $merge_id"
echo "if $MERGED/missing.txt then lists jobs: bash $scripts/{rescue_sh} [SHARDS]"
"#,
            name = o.study.job_name,
            n = o.study.shards,
            last = o.study.shards - 1,
            vars = self.vars,
            cd = self.cd_workdir,
            array = ARRAY_SCRIPT,
            merge = MERGE_SCRIPT,
            rescue_sh = RESCUE_SH,
        )
    }

    fn rescue_sbatch(&self) -> String {
        let o = self.opts;
        let header = self.header(
            &[
                format!("--job-name={}-rescue", o.study.job_name),
                "--ntasks=1".to_owned(),
                format!("--cpus-per-task={}", o.cpus_per_task),
            ]
            .into_iter()
            .chain(self.task_lines())
            .collect::<Vec<_>>(),
            self.time.as_ref(),
        );
        format!(
            r#"#!/bin/bash
# {name}: run again the jobs the last merge left in MERGED/missing.txt, as a new array.
# Written by `jobsplit slurm-script`. Submit it through rescue.sh, which gives --array,
# --output and the variables JOBSPLIT_RESCUE_SHARDS and JOBSPLIT_RESCUE_OUT.
{header}
set -euo pipefail
{vars}: "${{SLURM_ARRAY_TASK_ID:?submit this script with rescue.sh: it is a job array}}"
: "${{JOBSPLIT_RESCUE_SHARDS:?submit this script with rescue.sh}}"
: "${{JOBSPLIT_RESCUE_OUT:?submit this script with rescue.sh}}"
echo "jobsplit rescue shard $SLURM_ARRAY_TASK_ID/$JOBSPLIT_RESCUE_SHARDS: Slurm job ${{SLURM_ARRAY_JOB_ID}}_$SLURM_ARRAY_TASK_ID on $(hostname), attempt $((${{SLURM_RESTART_COUNT:-0}} + 1))"
exec "$JOBSPLIT" run{input} --rescue "$MERGED" --shard "$SLURM_ARRAY_TASK_ID/$JOBSPLIT_RESCUE_SHARDS" --out "$JOBSPLIT_RESCUE_OUT" --yes
"#,
            name = o.study.job_name,
            vars = self.vars,
            input = self.input_args,
        )
    }

    fn rescue_sh(&self) -> String {
        let o = self.opts;
        format!(
            r#"#!/usr/bin/env bash
# {name}: after a merge that left jobs in MERGED/missing.txt, run them again as a new,
# smaller job array writing to OUT-rescue-<round>, then merge everything again.
# Written by `jobsplit slurm-script`.
#   usage: rescue.sh [SHARDS]    (default {n}, never more than the missing jobs)
set -euo pipefail
scripts=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
{vars}{cd}{plan}array_id=$(sbatch --parsable --array="0-$((shards - 1))" --output="$rescue_out/slurm-%A_%a.out" \
    --export="ALL,JOBSPLIT_RESCUE_SHARDS=$shards,JOBSPLIT_RESCUE_OUT=$rescue_out" "$scripts/{rescue}")
array_id=${{array_id%%;*}}
merge_id=$(sbatch --parsable --dependency="afterany:$array_id" "$scripts/{merge}")
merge_id=${{merge_id%%;*}}
echo "rescue round $round: array job $array_id runs $count job(s) in $shards task(s) into $rescue_out"
echo "merge job $merge_id: after it, merges $OUT and every rescue round into $MERGED"
"#,
            name = o.study.job_name,
            n = o.study.shards,
            vars = self.vars,
            cd = self.cd_workdir,
            plan = rescue_plan(o.study.shards, "squeue"),
            rescue = RESCUE_SCRIPT,
            merge = MERGE_SCRIPT,
        )
    }
}

#[cfg(test)]
#[path = "slurm_script_tests.rs"]
mod tests;
