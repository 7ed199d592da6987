//! `jobsplit slurm-script` through the built binary: `--time` in the forms users bring,
//! the warnings about too many shards, and the lines that make a time limit or a requeue
//! lose nothing (`--open-mode=append`, `--signal`, `--requeue`). `tests/slurm/run.sh` feeds
//! the same scripts to a real Slurm.

use std::path::Path;

use crate::harness::{files_under, Out, Results, Study};

/// A study of `n` jobs in `jobs.txt`.
fn study(n: usize) -> Study {
    crate::cluster_scripts::study(n, |i| format!("echo {i}"))
}

/// `jobsplit slurm-script --jobs jobs.txt --submit-dir slurm ARGS` in `s`, with `PATH` set
/// to `path`.
fn script(s: &Study, path: &str, args: &[&str]) -> Out {
    crate::cluster_scripts::script(s, "slurm-script", "slurm", Some(path), args)
}

/// The `PATH` with no `scontrol`: no cluster to ask.
const NO_SLURM: &str = "/nonexistent";

fn array(s: &Study) -> String {
    std::fs::read_to_string(s.join("slurm/array.sbatch")).unwrap()
}

fn sbatch_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("#SBATCH ")).collect()
}

#[test]
fn time_with_a_unit_becomes_slurms_form() {
    let s = study(10);
    let o = script(
        &s,
        NO_SLURM,
        &["--shards", "4", "--time", "1h", "--merge-time", "90m"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        array(&s).contains("#SBATCH --time=01:00:00\n"),
        "{}",
        array(&s)
    );
    let merge = std::fs::read_to_string(s.join("slurm/merge.sbatch")).unwrap();
    assert!(merge.contains("#SBATCH --time=01:30:00\n"), "{merge}");
    for (given, written) in [
        ("2h30m", "02:30:00"),
        ("45s", "00:00:45"),
        ("1d", "1-00:00:00"),
        ("2-12:00", "2-12:00"),
        ("30:00", "30:00"),
    ] {
        let o = script(&s, NO_SLURM, &["--shards", "4", "--time", given]);
        assert_eq!(o.code, 0, "{given}: {o:?}");
        let line = format!("#SBATCH --time={written}\n");
        assert!(array(&s).contains(&line), "{given}: {}", array(&s));
    }
}

#[test]
fn a_time_slurm_would_misread_is_refused_in_one_line_and_nothing_is_written() {
    for (args, words) in [
        (&["--time", "90"][..], "--time 90: a bare number"),
        (
            &["--time", "4 hours later"][..],
            "--time \"4 hours later\" is not a time",
        ),
        (
            &["--merge-time", "1x"][..],
            "--merge-time \"1x\" is not a time",
        ),
        (&["--time", "0s"][..], "--time 0s: a zero time limit"),
    ] {
        let s = study(10);
        let before = files_under(s.path());
        let o = script(&s, NO_SLURM, &[&["--shards", "4"][..], args].concat());
        assert_eq!(o.code, 2, "{args:?}: {o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(words), "{args:?}: {}", o.stderr);
        assert_eq!(files_under(s.path()), before, "{args:?} wrote something");
    }
    let s = study(10);
    let o = script(&s, NO_SLURM, &["--shards", "4", "--time", "90"]);
    assert!(o.stderr.contains("write 90m or 01:30:00"), "{}", o.stderr);
}

#[test]
fn warns_when_shards_exceed_the_jobs() {
    let s = study(10);
    let o = script(&s, NO_SLURM, &["--shards", "5000"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr
            .contains("jobsplit: warning: 5000 shards for 10 jobs"),
        "{}",
        o.stderr
    );
    assert!(array(&s).contains("#SBATCH --array=0-4999\n"));
    let o = script(&s, NO_SLURM, &["--shards", "10"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "{o:?}");
}

/// A fake `scontrol` in `dir/bin` that prints a config with `MaxArraySize = max`.
fn fake_scontrol(dir: &Path, max: u64) -> String {
    let body = format!(
        "[ \"$1 $2\" = 'show config' ] || exit 1\n\
         echo 'Configuration data as of 2026-01-01T00:00:00'\n\
         echo 'MaxArraySize            = {max}'\n\
         echo 'MaxJobCount             = 10000'\n"
    );
    crate::cluster_scripts::fake_tool(dir, "scontrol", &body)
}

#[test]
fn warns_when_shards_exceed_the_clusters_max_array_size() {
    let s = study(5000);
    let path = fake_scontrol(s.path(), 1001);
    let o = script(&s, &path, &["--shards", "2000"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr.contains("jobsplit: warning: 2000 shards") && o.stderr.contains("MaxArraySize"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("1001"), "{}", o.stderr);
    // Array ids run to MaxArraySize - 1: 1001 shards fit, and no warning.
    let o = script(&s, &path, &["--shards", "1001"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "{o:?}");
    // Without scontrol there is nothing to ask, and nothing to say.
    let o = script(&s, NO_SLURM, &["--shards", "2000"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "{o:?}");
}

#[test]
fn a_requeued_or_time_limited_task_keeps_its_log_and_stops_gracefully() {
    let s = study(10);
    let o = script(&s, NO_SLURM, &["--shards", "4", "--time", "1h"]);
    assert_eq!(o.code, 0, "{o:?}");
    let text = array(&s);
    let lines = sbatch_lines(&text);
    assert!(lines.contains(&"#SBATCH --open-mode=append"), "{text}");
    // B: signals the batch shell, which `exec` made jobsplit itself.
    assert!(lines.contains(&"#SBATCH --signal=B:TERM@120"), "{text}");
    assert!(text.contains("\nexec \"$JOBSPLIT\" run"), "{text}");
    assert!(!lines.contains(&"#SBATCH --requeue"), "{text}");

    let o = script(
        &s,
        NO_SLURM,
        &[
            "--shards",
            "4",
            "--time",
            "1h",
            "--requeue",
            "--stop-before",
            "5m",
        ],
    );
    assert_eq!(o.code, 0, "{o:?}");
    let text = array(&s);
    let lines = sbatch_lines(&text);
    assert!(lines.contains(&"#SBATCH --requeue"), "{text}");
    assert!(lines.contains(&"#SBATCH --signal=B:TERM@300"), "{text}");
    let rescue = std::fs::read_to_string(s.join("slurm/rescue.sbatch")).unwrap();
    for line in [
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "#SBATCH --signal=B:TERM@300",
    ] {
        assert!(
            sbatch_lines(&rescue).contains(&line),
            "{line} not in {rescue}"
        );
    }

    let o = script(&s, NO_SLURM, &["--shards", "4", "--stop-before", "0"]);
    assert_eq!(o.code, 0, "{o:?}");
    let text = array(&s);
    assert!(!text.contains("#SBATCH --signal"), "{text}");
    // A time limit shorter than twice the default: half of it.
    let o = script(&s, NO_SLURM, &["--shards", "4", "--time", "2m"]);
    assert_eq!(o.code, 0, "{o:?}");
    let text = array(&s);
    assert!(
        sbatch_lines(&text).contains(&"#SBATCH --signal=B:TERM@60"),
        "{text}"
    );

    let o = script(
        &s,
        NO_SLURM,
        &["--shards", "4", "--time", "2m", "--stop-before", "5m"],
    );
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--stop-before 5m"), "{}", o.stderr);
}

#[test]
fn steal_tasks_take_the_shares_of_tasks_not_started_and_a_late_task_ends_at_once() {
    let s = study(24);
    let o = script(
        &s,
        NO_SLURM,
        &["--shards", "3", "--steal", "--steal-block", "2"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = array(&s);
    assert!(
        text.contains(" --steal --steal-block 2 --shard "),
        "the tasks run --steal: {text}"
    );
    // The array's tasks run as Slurm would start them, one at a time: the first steals the
    // shares of the tasks not started yet, the later ones find everything claimed.
    std::fs::create_dir_all(s.join("out")).unwrap();
    for task in ["0", "2", "1"] {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", task.to_owned()),
            ("SLURM_ARRAY_JOB_ID", "7".to_owned()),
        ];
        let out = crate::cluster_scripts::bash(&s, "slurm/array.sbatch", &vars);
        assert_eq!(out.code, 0, "task {task}: {out:?}");
    }
    let rows = Results::read(&s.join("out/shard-0/results.csv")).rows;
    assert_eq!(rows.len(), 24, "task 0 ran every job, its own and stolen");
    for late in ["shard-1", "shard-2"] {
        let path = s.join("out").join(late).join("results.csv");
        assert!(
            !path.exists() || Results::read(&path).rows.is_empty(),
            "{late} started after everything was claimed and ran nothing"
        );
    }
    let m = s.output(&["merge", "out", "--out", "merged"]);
    assert_eq!(m.code, 0, "{}{}", m.stdout, m.stderr);
    assert!(m.stdout.contains("proved by claims"), "{}", m.stdout);
}

#[test]
fn steal_block_without_steal_is_refused() {
    let s = study(4);
    let o = script(&s, NO_SLURM, &["--shards", "2", "--steal-block", "2"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(!s.join("slurm").exists(), "nothing written");
}

/// A fake `sbatch` in `dir/bin` that logs its arguments to `dir/sbatch.log` and prints job ids
/// 41, 42, ... as `sbatch --parsable` does.
fn fake_sbatch(dir: &Path) -> String {
    let log = dir.join("sbatch.log");
    let body = format!(
        "echo \"$*\" >> '{log}'\necho $((40 + $(wc -l < '{log}')))\n",
        log = log.display()
    );
    crate::cluster_scripts::fake_tool(dir, "sbatch", &body)
}

/// The command `slurm-script` prints to submit used to be `sh slurm/submit.sh`, which dash
/// (Debian's and Ubuntu's /bin/sh) stops at `set -o pipefail`: the printed command is run
/// as printed, by /bin/sh.
#[test]
fn the_printed_submit_command_works_as_printed() {
    let s = study(8);
    let o = script(&s, NO_SLURM, &["--shards", "4"]);
    assert_eq!(o.code, 0, "{o:?}");
    let hint = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("submit with: "))
        .expect("a `submit with:` line");
    let path = fake_sbatch(s.path());
    let sub = std::process::Command::new("sh")
        .args(["-c", hint])
        .current_dir(s.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sub.stderr);
    assert!(sub.status.success(), "{hint}: {stderr}");
    let calls = std::fs::read_to_string(s.join("sbatch.log")).unwrap();
    assert_eq!(calls.lines().count(), 2, "the array and the merge: {calls}");
    assert!(
        calls
            .lines()
            .nth(1)
            .unwrap()
            .contains("--dependency=afterany:41"),
        "{calls}"
    );
}
