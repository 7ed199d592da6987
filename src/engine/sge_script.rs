//! The qsub scripts that run a study as a Grid Engine array job, merge it and rescue what
//! failed: `jobsplit sge-script`, Grid Engine's counterpart of `slurm-script`. The bash
//! they share with Slurm's is in `script_shell.rs`.

use std::fmt::Write as _;

use super::qsub_words::{extra_line, job_name, sge_path, task_lines};
use super::sbatch_words::word;
use super::script_shell::{
    merge_commands, out_without_slash, rescue_plan, study_shell, StudyPaths, StudyShell,
};
use super::sge_options::SgeScriptOptions;
use super::slurm_script::{RESCUE_SH, SUBMIT_SH};
use crate::{Error, Result};

/// The name of the array job script in [`sge_files`].
pub(crate) const SGE_ARRAY_SCRIPT: &str = "array.sge";
/// The name of the merge job script in [`sge_files`].
pub(crate) const SGE_MERGE_SCRIPT: &str = "merge.sge";
/// The name of the rescue array job script in [`sge_files`].
pub(crate) const SGE_RESCUE_SCRIPT: &str = "rescue.sge";

/// The files that run a study on Grid Engine, as `(file name, contents)` pairs for one
/// directory (the CLI's `--submit-dir`); write the `.sh` files executable (mode 0755).
///
/// - `array.sge`: the array job `-t 1-N`; task `T` runs `jobsplit run --shard T-1/N`.
/// - `merge.sge`: `jobsplit merge` of `out` and the rescue rounds' outputs, meant to run
///   after the array whatever its tasks' exit status (`-hold_jid`); it fails when jobs are
///   missing and says how to rescue them.
/// - `submit.sh`: creates `out`, submits the array, then the merge with
///   `-hold_jid <array job>`, and prints both job ids.
/// - `rescue.sge` and `rescue.sh`: after a merge that left `merged/missing.txt` non-empty,
///   `rescue.sh [M]` submits `jobsplit run --rescue merged --shard T-1/M` as a new, smaller
///   array writing to `{out}-rescue-{round}`, then the merge again.
///
/// The output is the same for the same options (no dates, no host names).
///
/// # Errors
///
/// A usage error naming the option when the options cannot make a working script: no shard,
/// no slot, several slots without a parallel environment, neither `config` nor `jobs`, a job
/// name, queue or parallel environment with spaces or quotes (or a name that starts with a
/// digit), a directory named in a `#$` line with spaces, quotes, `$`, `:`, `,`, `#` or
/// backslashes, a time [`sge_time`](crate::engine::sge_time) refuses, an extra `#$` line that is not an option, or a
/// path that is not UTF-8.
pub(crate) fn sge_files(opts: &SgeScriptOptions) -> Result<Vec<(&'static str, String)>> {
    let s = Resolved::new(opts)?;
    Ok(vec![
        (SGE_ARRAY_SCRIPT, s.array()),
        (SGE_MERGE_SCRIPT, s.merge()),
        (SUBMIT_SH, s.submit()),
        (SGE_RESCUE_SCRIPT, s.rescue_job()),
        (RESCUE_SH, s.rescue_sh()),
    ])
}

/// Options checked and turned into script text.
struct Resolved<'a> {
    opts: &'a SgeScriptOptions,
    /// `#$` options every job gets (working directory, queue, extras).
    common: Vec<String>,
    /// `#$` options of a task that runs a shard (parallel environment, time limit).
    task: Vec<String>,
    /// The merge's time limit option, if any.
    merge_time: Option<String>,
    /// `OUT` as written in a `#$` line.
    out_raw: String,
    study: StudyShell,
}

impl<'a> Resolved<'a> {
    fn new(opts: &'a SgeScriptOptions) -> Result<Resolved<'a>> {
        if opts.study.shards == 0 {
            return Err(Error::usage("--shards 0: a study needs at least 1 shard"));
        }
        if opts.slots == 0 {
            return Err(Error::usage("--slots 0: each task needs at least 1 slot"));
        }
        if opts.study.config.is_none() && opts.study.jobs.is_none() {
            return Err(Error::usage(
                "the Grid Engine scripts need the study: give --config FILE or --jobs FILE",
            ));
        }
        job_name(&opts.study.job_name)?;
        let (task, merge_time) = task_lines(opts)?;
        let mut common = Vec::new();
        let workdir = match &opts.study.workdir {
            Some(dir) => {
                let raw = sge_path("--chdir", dir)?;
                common.push(format!("-wd {raw}"));
                Some(raw)
            }
            None => {
                common.push("-cwd".to_owned());
                None
            }
        };
        if let Some(q) = &opts.queue {
            word("--queue", q)?;
            common.push(format!("-q {q}"));
        }
        for line in &opts.extra_qsub {
            common.push(extra_line(line)?);
        }
        let out_raw = out_without_slash(sge_path("--out", &opts.study.out)?);
        let study = study_shell(&StudyPaths {
            jobsplit: &opts.study.jobsplit,
            workdir,
            out: &out_raw,
            merged: &opts.study.merged,
            config: opts.study.config.as_ref(),
            jobs: opts.study.jobs.as_ref(),
            run_args: &opts.study.run_args,
        })?;
        Ok(Resolved {
            opts,
            common,
            task,
            merge_time,
            out_raw,
            study,
        })
    }

    /// The `#$` block of a job: its own options, then `extra` (task or merge), then the
    /// common ones.
    fn header(&self, own: &[String], extra: &[String]) -> String {
        let mut text = String::new();
        for line in own.iter().chain(extra).chain(&self.common) {
            let _ = writeln!(text, "#$ {line}");
        }
        text
    }

    fn array(&self) -> String {
        let (o, n) = (self.opts, self.opts.study.shards);
        let header = self.header(
            &[
                format!("-N {}", o.study.job_name),
                format!("-t 1-{n}"),
                "-S /bin/bash".to_owned(),
                "-j y".to_owned(),
                format!("-o {}/sge-$JOB_ID.$TASK_ID.out", self.out_raw),
            ],
            &self.task,
        );
        format!(
            r#"#!/bin/bash
# {name}: a jobsplit study as a Grid Engine array job of {n} tasks. Written by
# `jobsplit sge-script`.
#
# Grid Engine numbers tasks from 1: task T runs shard T-1 of {n}. Every task computes the
# same plan, {n} equal machines shard-0 .. shard-{last}, and runs the share of its shard into
# OUT/shard-<T-1>/. Submit with submit.sh (the array, then the merge after it). To run one
# shard again, e.g. shard {last} after a host failure: qsub -t {n} array.sge (its finished
# jobs are kept). Grid Engine does not create the directory of -o: create OUT first
# (submit.sh does), or the tasks wait in state Eqw.
{header}
set -euo pipefail
{vars}if ! [[ ${{SGE_TASK_ID:-}} =~ ^[0-9]+$ ]]; then
    echo "submit this script with qsub: it is an array job (qsub -t 1-{n})" >&2
    exit 2
fi
shard=$((SGE_TASK_ID - 1))
echo "jobsplit shard $shard/{n}: Grid Engine job $JOB_ID.$SGE_TASK_ID on $(hostname), ${{NSLOTS:-1}} slot(s)"
exec "$JOBSPLIT" run{input} --shard "$shard/{n}" --out "$OUT" --yes
"#,
            name = o.study.job_name,
            last = n - 1,
            vars = self.study.vars,
            input = self.study.input_args,
        )
    }

    fn merge(&self) -> String {
        let o = self.opts;
        let header = self.header(
            &[
                format!("-N {}-merge", o.study.job_name),
                "-S /bin/bash".to_owned(),
                "-j y".to_owned(),
                format!("-o {}/sge-merge-$JOB_ID.out", self.out_raw),
            ],
            self.merge_time.as_slice(),
        );
        format!(
            r#"#!/bin/bash
# {name}: merge the shards' outputs. Written by `jobsplit sge-script`.
#
# submit.sh and rescue.sh submit this with -hold_jid <array job>, so it runs once every task
# of the array has ended, whatever its exit status: a partial study is still merged, and
# MERGED/missing.txt lists what to rescue. It merges OUT and every rescue round
# OUT-rescue-1, OUT-rescue-2, ... into MERGED.
{header}
set -euo pipefail
{vars}{commands}"#,
            name = o.study.job_name,
            vars = self.study.vars,
            commands = merge_commands(RESCUE_SH),
        )
    }

    fn submit(&self) -> String {
        let (o, n) = (self.opts, self.opts.study.shards);
        format!(
            r#"#!/usr/bin/env bash
# {name}: submit the {n}-task array job, then the merge, which Grid Engine starts once every
# task of the array has ended (-hold_jid). Written by `jobsplit sge-script`.
# Prints both job ids.
set -euo pipefail
scripts=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
{vars}{cd}mkdir -p "$OUT" # Grid Engine cannot create the directory of -o itself
array_id=$(qsub -terse "$scripts/{array}")
array_id=${{array_id%%.*}} # "id.1-{n}:1" for an array job
merge_id=$(qsub -terse -hold_jid "$array_id" "$scripts/{merge}")
echo "array job $array_id: {n} tasks writing $OUT/shard-0 .. $OUT/shard-{last} (logs $OUT/sge-$array_id.*.out)"
echo "merge job $merge_id: after the array, into $MERGED"
echo "watch with: qstat    cancel with: qdel $array_id $merge_id"
echo "if $MERGED/missing.txt then lists jobs: bash $scripts/{rescue_sh} [SHARDS]"
"#,
            name = o.study.job_name,
            last = n - 1,
            vars = self.study.vars,
            cd = self.study.cd_workdir,
            array = SGE_ARRAY_SCRIPT,
            merge = SGE_MERGE_SCRIPT,
            rescue_sh = RESCUE_SH,
        )
    }

    fn rescue_job(&self) -> String {
        let header = self.header(
            &[
                format!("-N {}-rescue", self.opts.study.job_name),
                "-S /bin/bash".to_owned(),
                "-j y".to_owned(),
            ],
            &self.task,
        );
        format!(
            r#"#!/bin/bash
# {name}: run again the jobs the last merge left in MERGED/missing.txt, as a new array job.
# Written by `jobsplit sge-script`. Submit it through rescue.sh, which gives -t, -o and the
# variables JOBSPLIT_RESCUE_SHARDS and JOBSPLIT_RESCUE_OUT.
{header}
set -euo pipefail
{vars}if ! [[ ${{SGE_TASK_ID:-}} =~ ^[0-9]+$ ]]; then
    echo "submit this script with rescue.sh: it is an array job" >&2
    exit 2
fi
: "${{JOBSPLIT_RESCUE_SHARDS:?submit this script with rescue.sh}}"
: "${{JOBSPLIT_RESCUE_OUT:?submit this script with rescue.sh}}"
shard=$((SGE_TASK_ID - 1))
echo "jobsplit rescue shard $shard/$JOBSPLIT_RESCUE_SHARDS: Grid Engine job $JOB_ID.$SGE_TASK_ID on $(hostname)"
exec "$JOBSPLIT" run{input} --rescue "$MERGED" --shard "$shard/$JOBSPLIT_RESCUE_SHARDS" --out "$JOBSPLIT_RESCUE_OUT" --yes
"#,
            name = self.opts.study.job_name,
            vars = self.study.vars,
            input = self.study.input_args,
        )
    }

    fn rescue_sh(&self) -> String {
        let o = self.opts;
        format!(
            r#"#!/usr/bin/env bash
# {name}: after a merge that left jobs in MERGED/missing.txt, run them again as a new,
# smaller array job writing to OUT-rescue-<round>, then merge everything again.
# Written by `jobsplit sge-script`.
#   usage: rescue.sh [SHARDS]    (default {n}, never more than the missing jobs)
set -euo pipefail
scripts=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
{vars}{cd}{plan}array_id=$(qsub -terse -t "1-$shards" -o "$rescue_out/"'sge-$JOB_ID.$TASK_ID.out' \
    -v "JOBSPLIT_RESCUE_SHARDS=$shards,JOBSPLIT_RESCUE_OUT=$rescue_out" "$scripts/{rescue}")
array_id=${{array_id%%.*}}
merge_id=$(qsub -terse -hold_jid "$array_id" "$scripts/{merge}")
echo "rescue round $round: array job $array_id runs $count job(s) in $shards task(s) into $rescue_out"
echo "merge job $merge_id: after it, merges $OUT and every rescue round into $MERGED"
"#,
            name = o.study.job_name,
            n = o.study.shards,
            vars = self.study.vars,
            cd = self.study.cd_workdir,
            plan = rescue_plan(o.study.shards, "qstat"),
            rescue = SGE_RESCUE_SCRIPT,
            merge = SGE_MERGE_SCRIPT,
        )
    }
}

#[cfg(test)]
#[path = "sge_script_tests.rs"]
mod tests;
