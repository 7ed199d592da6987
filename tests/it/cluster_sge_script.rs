//! `jobsplit sge-script` and the Grid Engine, PBS Pro, Torque and LSF environments through the
//! built binary: the scripts run as Grid Engine would start them (bash, its variables), the
//! merge and a rescue round, the helpers with a fake `qsub`, and `run` placing itself from
//! each engine's variables. `tests/gridengine/run.sh` does the same on a real Grid Engine.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::cluster_scripts::bash;
use crate::harness::{assignment, files_under, text, Out, Results, Study};

/// A study of `n` jobs in `jobs.txt`; job `i` fails while the file `fail-i` exists.
fn study(n: usize) -> Study {
    crate::cluster_scripts::study(n, |i| format!("test ! -e fail-{i} && echo {i}"))
}

/// `jobsplit sge-script --jobs jobs.txt --submit-dir sge ARGS` in `s`.
fn script(s: &Study, args: &[&str]) -> Out {
    crate::cluster_scripts::script(s, "sge-script", "sge", None, args)
}

/// A fake `qsub` in `dir/bin` that logs its arguments to `dir/qsub.log`, one call a line, and
/// prints job ids 41, 42, ... as `qsub -terse` does (`41.1-4:1` for an array).
fn fake_qsub(dir: &Path) -> String {
    let log = dir.join("qsub.log");
    let body = format!(
        "echo \"$*\" >> '{log}'\nid=$((40 + $(wc -l < '{log}')))\n\
         case \" $* \" in *' -t '*) echo \"$id.1-4:1\" ;; *) echo \"$id\" ;; esac\n",
        log = log.display()
    );
    crate::cluster_scripts::fake_tool(dir, "qsub", &body)
}

#[test]
fn writes_five_scripts_and_the_printed_command_submits_the_array_then_the_merge() {
    let s = study(8);
    let o = script(&s, &["--shards", "4", "--time", "1h"]);
    assert_eq!(o.code, 0, "{o:?}");
    let mut names: Vec<String> = std::fs::read_dir(s.join("sge"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "array.sge",
            "merge.sge",
            "rescue.sge",
            "rescue.sh",
            "submit.sh"
        ]
    );
    for helper in ["submit.sh", "rescue.sh"] {
        let mode = std::fs::metadata(s.join("sge").join(helper))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{helper} is executable");
    }
    // The command the output names, run as printed by /bin/sh.
    let hint = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("submit with: "))
        .expect("a `submit with:` line");
    let path = fake_qsub(s.path());
    let sub = Command::new("sh")
        .args(["-c", hint])
        .current_dir(s.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(sub.status.success(), "{hint}: {}", text(&sub.stderr));
    let calls = std::fs::read_to_string(s.join("qsub.log")).unwrap();
    let sge = s.join("sge").canonicalize().unwrap();
    assert_eq!(
        calls,
        format!(
            "-terse {d}/array.sge\n-terse -hold_jid 41 {d}/merge.sge\n",
            d = sge.display()
        )
    );
    let printed = text(&sub.stdout);
    assert!(printed.contains("array job 41: 4 tasks"), "{printed}");
    assert!(
        printed.contains("merge job 42: after the array"),
        "{printed}"
    );
    assert!(
        s.join("out").is_dir(),
        "submit.sh creates OUT for the task logs"
    );
}

#[test]
fn tasks_run_their_shards_then_merge_and_a_rescue_round_finish_the_study() {
    let s = study(12);
    let o = script(&s, &["--shards", "4"]);
    assert_eq!(o.code, 0, "{o:?}");
    let plan = assignment(&s.plan_json(&["--shard-count", "4"]));
    s.write("fail-5", "");
    std::fs::create_dir_all(s.join("out")).unwrap();
    // Tasks 1..=4 as Grid Engine starts them; task 4 never runs (its host died).
    for task in 1..=3u64 {
        let o = bash(
            &s,
            "sge/array.sge",
            &[
                ("SGE_TASK_ID", task.to_string()),
                ("JOB_ID", "7".to_owned()),
                ("NSLOTS", "1".to_owned()),
            ],
        );
        let shard = format!("shard-{}", task - 1);
        let failed = plan[&5] == shard;
        assert_eq!(o.code, i32::from(failed), "task {task}: {o:?}");
        assert!(
            o.stdout.contains(&format!(
                "jobsplit shard {}/4: Grid Engine job 7.{task}",
                task - 1
            )),
            "{}",
            o.stdout
        );
        let mut ran: Vec<u64> = s.results(&shard).rows.iter().map(|r| r.index()).collect();
        ran.sort_unstable();
        let mine: Vec<u64> = plan
            .iter()
            .filter(|(_, m)| **m == shard)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(ran, mine, "task {task} ran exactly {shard}'s jobs");
    }
    // Run by hand, the array script refuses to run outside an array.
    let o = bash(&s, "sge/array.sge", &[]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(
        o.stderr.contains("submit this script with qsub"),
        "{}",
        o.stderr
    );

    // The merge job: shard-3's jobs and job 5 are missing.
    let o = bash(&s, "sge/merge.sge", &[("JOB_ID", "8".to_owned())]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stdout.contains("bash rescue.sh [SHARDS]"), "{}", o.stdout);
    let missing = std::fs::read_to_string(s.join("merged/missing.txt")).unwrap();
    let expected = plan
        .iter()
        .filter(|(i, m)| **i == 5 || *m == "shard-3")
        .count();
    assert_eq!(
        missing
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count(),
        expected,
        "{missing}"
    );

    // rescue.sh submits a round of 2 tasks and the merge after it.
    std::fs::remove_file(s.join("fail-5")).unwrap();
    let path = fake_qsub(s.path());
    let r = Command::new("bash")
        .args([s.join("sge/rescue.sh").to_str().unwrap(), "2"])
        .current_dir(s.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r.stderr));
    let calls = std::fs::read_to_string(s.join("qsub.log")).unwrap();
    let sge = s.join("sge").canonicalize().unwrap();
    assert_eq!(
        calls,
        format!(
            "-terse -t 1-2 -o out-rescue-1/sge-$JOB_ID.$TASK_ID.out -v JOBSPLIT_RESCUE_SHARDS=2,JOBSPLIT_RESCUE_OUT=out-rescue-1 {d}/rescue.sge\n\
             -terse -hold_jid 41 {d}/merge.sge\n",
            d = sge.display()
        )
    );
    for task in 1..=2u64 {
        let o = bash(
            &s,
            "sge/rescue.sge",
            &[
                ("SGE_TASK_ID", task.to_string()),
                ("JOB_ID", "41".to_owned()),
                ("JOBSPLIT_RESCUE_SHARDS", "2".to_owned()),
                ("JOBSPLIT_RESCUE_OUT", "out-rescue-1".to_owned()),
            ],
        );
        assert_eq!(o.code, 0, "rescue task {task}: {o:?}");
    }
    let o = bash(&s, "sge/merge.sge", &[("JOB_ID", "42".to_owned())]);
    assert_eq!(o.code, 0, "{o:?}");
    let merged = Results::read(&s.join("merged/results.csv"));
    let mut ok: Vec<u64> = merged
        .rows
        .iter()
        .filter(|r| r.status() == "ok")
        .map(|r| r.index())
        .collect();
    ok.sort_unstable();
    assert_eq!(
        ok,
        (0..12).collect::<Vec<_>>(),
        "every job ok once after the rescue"
    );
}

#[test]
fn a_time_grid_engine_or_slurm_would_misread_is_refused_in_one_line_and_nothing_is_written() {
    for (args, words) in [
        (
            &["--time", "90"][..],
            "--time 90: a bare number is seconds to Grid Engine",
        ),
        (
            &["--time", "1-12:00:00"][..],
            "Grid Engine has no days form",
        ),
        (
            &["--merge-time", "1x"][..],
            "--merge-time \"1x\" is not a time",
        ),
        (
            &["--slots", "4"][..],
            "--slots 4: several slots need --pe NAME",
        ),
        (&["--job-name", "1st"][..], "cannot start with a digit"),
        (
            &["--out", "my out"][..],
            "--out \"my out\": a directory named in a #$ line",
        ),
    ] {
        let s = study(10);
        let before = files_under(s.path());
        let o = script(&s, &[&["--shards", "4"][..], args].concat());
        assert_eq!(o.code, 2, "{args:?}: {o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(words), "{args:?}: {}", o.stderr);
        assert_eq!(files_under(s.path()), before, "{args:?} wrote something");
    }
}

#[test]
fn warns_when_shards_exceed_the_jobs() {
    let s = study(3);
    let o = script(&s, &["--shards", "5"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr.contains("jobsplit: warning: 5 shards for 3 jobs"),
        "{}",
        o.stderr
    );
}

/// `jobsplit run --jobs jobs.txt --out out --yes` in `s` with the engine variables `vars`.
fn run_in(s: &Study, vars: &[(&str, &str)]) -> Out {
    let mut cmd = s.cmd();
    cmd.args([
        "run", "--jobs", "jobs.txt", "--out", "out", "--yes", "--quiet",
    ]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Out::of(cmd.output().unwrap())
}

#[test]
fn run_finds_its_shard_in_each_engines_variables() {
    let s = study(12);
    let plan = assignment(&s.plan_json(&["--shard-count", "4"]));
    let cases: [(&str, &[(&str, &str)]); 5] = [
        (
            "shard-0",
            &[
                ("SGE_TASK_ID", "1"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "4"),
                ("SGE_TASK_STEPSIZE", "1"),
            ],
        ),
        (
            "shard-1",
            &[
                ("SGE_TASK_ID", "4"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "10"),
                ("SGE_TASK_STEPSIZE", "3"),
            ],
        ),
        (
            "shard-2",
            &[
                ("LSB_JOBINDEX", "3"),
                ("LSB_JOBNAME", "study[1-4]"),
                ("LSB_JOBINDEX_END", "4"),
            ],
        ),
        (
            "shard-3",
            &[("PBS_ARRAY_INDEX", "3"), ("JOBSPLIT_SHARD_COUNT", "4")],
        ),
        (
            "shard-3",
            &[("PBS_ARRAYID", "3"), ("JOBSPLIT_SHARD_COUNT", "4")],
        ),
    ];
    for (shard, vars) in cases {
        std::fs::remove_dir_all(s.join("out")).ok();
        let o = run_in(&s, vars);
        assert_eq!(o.code, 0, "{vars:?}: {o:?}");
        let dirs: Vec<String> = std::fs::read_dir(s.join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(dirs, [shard], "{vars:?}");
        let mut ran: Vec<u64> = s.results(shard).rows.iter().map(|r| r.index()).collect();
        ran.sort_unstable();
        let mine: Vec<u64> = plan
            .iter()
            .filter(|(_, m)| *m == shard)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(ran, mine, "{vars:?}");
    }
    // Outside an array Grid Engine and LSF set their variables too: no shard then, the
    // machines file decides.
    std::fs::remove_dir_all(s.join("out")).ok();
    s.write("machines.json", r#"{"ws": {"weight": 1, "cores": 1}}"#);
    let o = run_in(
        &s,
        &[
            ("SGE_TASK_ID", "undefined"),
            ("SGE_TASK_FIRST", "undefined"),
            ("LSB_JOBINDEX", "0"),
            ("JOBSPLIT_MACHINE", "ws"),
        ],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(s.results("ws").rows.len(), 12);
}

#[test]
fn an_engine_environment_run_cannot_place_is_refused_in_one_line_and_nothing_is_written() {
    let s = study(12);
    for (vars, words) in [
        (
            &[("PBS_ARRAY_INDEX", "2")][..],
            "PBS_ARRAY_INDEX=2 is set (a PBS Pro array subjob) but the shard count is unknown",
        ),
        (
            &[("PBS_ARRAYID", "4"), ("JOBSPLIT_SHARD_COUNT", "4")][..],
            "submit the array as qsub -t 0-3",
        ),
        (
            &[
                ("SGE_TASK_ID", "2"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "9"),
                ("SGE_TASK_STEPSIZE", "3"),
            ][..],
            "not the first id plus a multiple of the step",
        ),
        (
            &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "study[1-2,5]")][..],
            "[1-2,5] has several parts",
        ),
    ] {
        let before = files_under(s.path());
        let o = run_in(&s, vars);
        assert_eq!(o.code, 2, "{vars:?}: {o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{vars:?}: {}", o.stderr);
        assert!(o.stderr.contains(words), "{vars:?}: {}", o.stderr);
        assert_eq!(files_under(s.path()), before, "{vars:?} wrote something");
    }
}
