//! The bash every engine's scripts share (`slurm-script`, `sge-script`): the study's
//! variables, the merge of `OUT` and its rescue rounds, and the planning of a rescue round.
//! Only the lines that submit or name the engine differ between engines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::sbatch_words::{quote, quote_path};
use crate::Result;

/// The study as every script of one engine names it.
pub(super) struct StudyShell {
    /// Shell assignments of `WORKDIR`, `JOBSPLIT`, `OUT`, `MERGED`, `CONFIG`, `JOBS`, one per
    /// line, under a comment.
    pub(super) vars: String,
    /// `--config "$CONFIG"` / `--jobs "$JOBS"` plus the run arguments, quoted.
    pub(super) input_args: String,
    /// `cd "$WORKDIR"` for the helpers the user runs, or empty.
    pub(super) cd_workdir: &'static str,
}

/// What [`study_shell`] reads: paths as the options gave them, `out` and `workdir` already
/// checked for the engine's directive lines.
pub(super) struct StudyPaths<'a> {
    pub(super) jobsplit: &'a Path,
    pub(super) workdir: Option<&'a str>,
    pub(super) out: &'a str,
    pub(super) merged: &'a Path,
    pub(super) config: Option<&'a PathBuf>,
    pub(super) jobs: Option<&'a PathBuf>,
    pub(super) run_args: &'a [String],
}

/// The variables and `jobsplit run` arguments of a study.
pub(super) fn study_shell(p: &StudyPaths<'_>) -> Result<StudyShell> {
    let mut vars = String::from("# The study (the same in every script written with this one):\n");
    let mut cd_workdir = "";
    if let Some(dir) = p.workdir {
        let _ = writeln!(vars, "WORKDIR={}", quote("--chdir", dir)?);
        cd_workdir = "cd \"$WORKDIR\"\n";
    }
    let _ = writeln!(
        vars,
        "JOBSPLIT={}",
        quote_path("jobsplit binary", p.jobsplit)?
    );
    let _ = writeln!(vars, "OUT={}", quote("--out", p.out)?);
    let _ = writeln!(vars, "MERGED={}", quote_path("--merged", p.merged)?);
    let mut input_args = String::new();
    if let Some(config) = p.config {
        let _ = writeln!(vars, "CONFIG={}", quote_path("--config", config)?);
        input_args.push_str(" --config \"$CONFIG\"");
    }
    if let Some(jobs) = p.jobs {
        let _ = writeln!(vars, "JOBS={}", quote_path("--jobs", jobs)?);
        input_args.push_str(" --jobs \"$JOBS\"");
    }
    for arg in p.run_args {
        input_args.push(' ');
        input_args.push_str(&quote("a jobsplit run argument", arg)?);
    }
    Ok(StudyShell {
        vars,
        input_args,
        cd_workdir,
    })
}

/// `OUT` as written in the scripts: no trailing slash, since the rescue rounds are
/// `"$OUT-rescue-N"`.
pub(super) fn out_without_slash(out: &str) -> String {
    match out.trim_end_matches('/') {
        "" => out.to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// The merge job's commands after the variables: `jobsplit merge` of `OUT` and every rescue
/// round into `MERGED`, then what is missing and how to rescue it (`rescue_sh`); the job
/// exits with the merge's status.
pub(super) fn merge_commands(rescue_sh: &str) -> String {
    format!(
        r#"inputs=("$OUT")
round=1
while [[ -d "$OUT-rescue-$round" ]]; do
    inputs+=("$OUT-rescue-$round")
    round=$((round + 1))
done
echo "jobsplit merge of ${{inputs[*]}} into $MERGED"
status=0
"$JOBSPLIT" merge "${{inputs[@]}}" --out "$MERGED" || status=$?
missing="$MERGED/missing.txt"
if [[ -s $missing ]]; then
    echo "jobsplit: $(grep -c -v -e '^#' -e '^$' "$missing" || true) job(s) did not end ok; they are listed in $missing"
    echo "jobsplit: to run them again as a new array, then merge again: bash {rescue_sh} [SHARDS] (beside submit.sh)"
fi
exit "$status"
"#
    )
}

/// The start of `rescue.sh` after the variables: reads `MERGED/missing.txt` (or says to wait
/// for the merge, which `watch` shows), sets `count` (missing jobs), `shards` (the
/// argument, `default` when none, at most `count`), `round` and `rescue_out`
/// (`OUT-rescue-<round>`, created).
pub(super) fn rescue_plan(default: u64, watch: &str) -> String {
    format!(
        r#"missing="$MERGED/missing.txt"
if [[ ! -f $missing ]]; then
    echo "no $missing yet: wait for the merge job to end ({watch}), then run this again" >&2
    exit 1
fi
count=$(grep -c -v -e '^#' -e '^$' "$missing" || true)
if ((count == 0)); then
    echo "nothing to rescue: $missing lists no job"
    exit 0
fi
shards=${{1:-{default}}}
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
    echo "rescue.sh: SHARDS must be a whole number of at least 1, not '$shards'" >&2
    exit 2
fi
((shards > count)) && shards=$count
round=1
while [[ -e "$OUT-rescue-$round" ]]; do round=$((round + 1)); done
rescue_out="$OUT-rescue-$round"
mkdir -p "$rescue_out"
"#
    )
}
