//! Tests of `sge_script.rs`; `tests/gridengine/run.sh` submits the same scripts to a real
//! Grid Engine.

use super::*;

fn study() -> SgeScriptOptions {
    let mut opts = SgeScriptOptions::new(4);
    opts.study.job_name = "sweep".to_owned();
    opts.study.jobsplit = "/shared/bin/jobsplit".into();
    opts.study.config = Some("study.toml".into());
    opts.study.workdir = Some("/home/ada/sweep".into());
    opts.pe = Some("smp".to_owned());
    opts.slots = 8;
    opts.study.time = Some("4h".to_owned());
    opts.study.merge_time = Some("30m".to_owned());
    opts.queue = Some("short.q".to_owned());
    opts.max_running = Some(2);
    opts.extra_qsub = vec!["-P physics".to_owned(), "#$ -l h_vmem=2G".to_owned()];
    opts
}

#[test]
fn snapshot_full_study() {
    for (name, text) in sge_files(&study()).unwrap() {
        insta::assert_snapshot!(format!("full_{name}"), text);
    }
}

#[test]
fn snapshot_minimal_study() {
    let mut opts = SgeScriptOptions::new(1);
    opts.study.jobs = Some("jobs file.txt".into());
    opts.study.run_args = vec!["--retries".to_owned(), "2".to_owned()];
    for (name, text) in sge_files(&opts).unwrap() {
        insta::assert_snapshot!(format!("minimal_{name}"), text);
    }
}

#[test]
fn array_header_is_what_qsub_needs() {
    let files = sge_files(&study()).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "array.sge",
            "merge.sge",
            "submit.sh",
            "rescue.sge",
            "rescue.sh"
        ]
    );
    let script = &files[0].1;
    for line in [
        "#$ -N sweep\n",
        "#$ -t 1-4\n",
        "#$ -S /bin/bash\n",
        "#$ -j y\n",
        "#$ -o out/sge-$JOB_ID.$TASK_ID.out\n",
        "#$ -tc 2\n",
        "#$ -pe smp 8\n",
        "#$ -l h_rt=04:00:00\n",
        "#$ -wd /home/ada/sweep\n",
        "#$ -q short.q\n",
        "#$ -P physics\n",
        "#$ -l h_vmem=2G\n",
        "shard=$((SGE_TASK_ID - 1))\n",
        "--shard \"$shard/4\" --out \"$OUT\" --yes\n",
    ] {
        assert!(script.contains(line), "no {line:?} in\n{script}");
    }
    // qsub stops reading #$ lines at the first command.
    let lines: Vec<&str> = script.lines().collect();
    let first_command = lines
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    let last_directive = lines.iter().rposition(|l| l.starts_with("#$")).unwrap();
    assert!(last_directive < first_command);
    // The merge takes its own time limit and no parallel environment.
    let merge = &files[1].1;
    assert!(merge.contains("#$ -l h_rt=00:30:00\n"), "{merge}");
    assert!(!merge.contains("-pe "), "{merge}");
    assert!(!merge.contains("-tc "), "{merge}");
    assert!(
        files[3].1.contains("#$ -tc 2\n"),
        "the rescue round is throttled too"
    );
    assert!(files[2].1.contains("qsub -terse -hold_jid \"$array_id\""));
}

#[test]
fn defaults_run_where_qsub_runs() {
    let mut opts = SgeScriptOptions::new(3);
    opts.study.jobs = Some("jobs.txt".into());
    opts.study.time = Some("2h".to_owned());
    let files = sge_files(&opts).unwrap();
    assert!(files[0].1.contains("#$ -cwd\n"));
    assert!(!files[0].1.contains("-pe "));
    // Without --merge-time the merge takes --time.
    assert!(files[1].1.contains("#$ -l h_rt=02:00:00\n"));
}

#[test]
fn refuses_options_that_make_a_broken_script() {
    type Case = (Box<dyn Fn(&mut SgeScriptOptions)>, &'static str);
    let cases: Vec<Case> = vec![
        (Box::new(|o| o.study.shards = 0), "--shards 0"),
        (Box::new(|o| o.slots = 0), "--slots 0"),
        (
            Box::new(|o| o.pe = None),
            "--slots 8: several slots need --pe NAME",
        ),
        (
            Box::new(|o| o.study.config = None),
            "give --config FILE or --jobs FILE",
        ),
        (
            Box::new(|o| o.study.out = "my out".into()),
            "--out \"my out\": a directory named in a #$ line",
        ),
        (
            Box::new(|o| o.study.out = "out$x".into()),
            "--out \"out$x\"",
        ),
        (
            Box::new(|o| o.study.out = "host:out".into()),
            "--out \"host:out\"",
        ),
        (Box::new(|o| o.study.out = "a,b".into()), "--out \"a,b\""),
        (
            Box::new(|o| o.study.workdir = Some("/a b".into())),
            "--chdir \"/a b\"",
        ),
        (
            Box::new(|o| o.study.job_name = "7up".to_owned()),
            "cannot start with a digit",
        ),
        (
            Box::new(|o| o.study.job_name = "a/b".to_owned()),
            "--job-name \"a/b\"",
        ),
        (
            Box::new(|o| o.queue = Some("a b".to_owned())),
            "--queue \"a b\"",
        ),
        (Box::new(|o| o.pe = Some(String::new())), "--pe \"\""),
        (
            Box::new(|o| o.study.time = Some("90".to_owned())),
            "--time 90: a bare number",
        ),
        (
            Box::new(|o| o.study.merge_time = Some("1-00:00:00".to_owned())),
            "--merge-time 1-00:00:00: Grid Engine has no days form",
        ),
        (
            Box::new(|o| o.extra_qsub = vec!["P physics".to_owned()]),
            "extra #$ line \"P physics\"",
        ),
        (
            Box::new(|o| o.extra_qsub = vec!["-tc 2".to_owned()]),
            "how many run at once from --max-running",
        ),
        (Box::new(|o| o.max_running = Some(0)), "--max-running 0"),
        (
            Box::new(|o| o.study.config = Some("a\0b".into())),
            "contains a NUL byte",
        ),
    ];
    for (change, words) in cases {
        let mut opts = study();
        change(&mut opts);
        let message = sge_files(&opts).unwrap_err().to_string();
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }
}

#[test]
fn shell_values_are_quoted() {
    let mut opts = study();
    opts.study.config = Some("my study's config.toml".into());
    let files = sge_files(&opts).unwrap();
    for (name, text) in &files {
        assert!(
            text.contains("CONFIG=\"my study's config.toml\"\n"),
            "{name}: {text}"
        );
    }
}
