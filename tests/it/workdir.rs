//! `[run] workdir = "job"` and `run --workdir job|launch`: each command job runs in its own
//! fresh `OUT/<machine>/jobs/<index>/`, and finds the study through `$JOBSPLIT_LAUNCH_DIR`.

use crate::harness::{text, Study};

const ONE: &str = r#"{"solo": [1, 1]}"#;

fn canonical(p: &std::path::Path) -> String {
    std::fs::canonicalize(p)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim_end()
        .to_owned()
}

#[test]
fn each_job_runs_in_its_own_directory_and_finds_the_study_through_launch_dir() {
    let job = r#"pwd > here.txt; echo "$JOBSPLIT_LAUNCH_DIR" > launch.txt; cat "$JOBSPLIT_LAUNCH_DIR/input.txt" > copy.txt"#;
    let s = Study::with(
        &[job.to_owned(), job.to_owned()],
        ONE,
        "[run]\nworkdir = \"job\"\n",
    );
    s.write("input.txt", "from the study\n");
    s.run("solo").assert().code(0);
    for i in 0..2 {
        let dir = s.machine_dir("solo").join(format!("jobs/{i}"));
        assert_eq!(read(&dir.join("here.txt")), canonical(&dir));
        assert_eq!(read(&dir.join("launch.txt")), canonical(s.path()));
        assert_eq!(read(&dir.join("copy.txt")), "from the study");
    }
    assert!(
        !s.join("here.txt").exists(),
        "nothing lands in the launch directory"
    );

    // The default stays the launch directory; the variable is set there too.
    let s = Study::with(&[job.to_owned()], ONE, "");
    s.write("input.txt", "x\n");
    s.run("solo").assert().code(0);
    assert_eq!(read(&s.join("here.txt")), canonical(s.path()));
    assert_eq!(read(&s.join("launch.txt")), canonical(s.path()));
    assert!(!s.machine_dir("solo").join("jobs/0").exists());
}

#[test]
fn the_flag_beats_the_config_either_way() {
    let s = Study::with(
        &["pwd > here.txt".to_owned()],
        ONE,
        "[run]\nworkdir = \"job\"\n",
    );
    s.run("solo").args(["--workdir", "launch"]).assert().code(0);
    assert_eq!(read(&s.join("here.txt")), canonical(s.path()));

    let s = Study::with(&["pwd > here.txt".to_owned()], ONE, "");
    s.run("solo").args(["--workdir", "job"]).assert().code(0);
    let dir = s.machine_dir("solo").join("jobs/0");
    assert_eq!(read(&dir.join("here.txt")), canonical(&dir));

    let o = s.output(&["run", "--machine", "solo", "--yes", "--workdir", "here"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("use launch"), "{}", o.stderr);
}

/// A retry starts in an empty directory: the failed attempt's files are gone.
#[test]
fn every_attempt_gets_a_fresh_directory() {
    let job = r#"ls -A > seen.txt; touch left-by-$JOBSPLIT_ATTEMPT; test "$JOBSPLIT_ATTEMPT" = 2"#;
    let s = Study::with(&[job.to_owned()], ONE, "[run]\nworkdir = \"job\"\n");
    s.run("solo").args(["--retries", "1"]).assert().code(0);
    let dir = s.machine_dir("solo").join("jobs/0");
    assert_eq!(
        read(&dir.join("seen.txt")),
        "seen.txt",
        "attempt 1's files were gone"
    );
    assert!(dir.join("left-by-2").exists());
    assert!(!dir.join("left-by-1").exists());
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2);
}

/// A `jobs/<index>` that is a symbolic link (planted, or left by a job) is replaced, never
/// followed: what it points at is left alone.
#[test]
fn a_job_directory_that_is_a_link_is_not_followed() {
    let gate = "gate";
    let job = format!("test -e \"$JOBSPLIT_LAUNCH_DIR/{gate}\" && touch mine");
    let s = Study::with(&[job], ONE, "[run]\nworkdir = \"job\"\n");
    s.run("solo").assert().code(1);
    let outside = s.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("precious"), "keep").unwrap();
    let dir = s.machine_dir("solo").join("jobs/0");
    std::fs::remove_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&outside, &dir).unwrap();
    s.write(gate, "");
    s.run("solo").assert().code(0);
    assert!(std::fs::symlink_metadata(&dir).unwrap().is_dir());
    assert!(dir.join("mine").exists());
    assert_eq!(read(&outside.join("precious")), "keep");
    assert!(!outside.join("mine").exists());
}

/// A directory that cannot be made fails that job, saying why; the run goes on.
#[test]
fn a_directory_that_cannot_be_made_fails_only_that_job() {
    // The first job to run replaces `jobs/` with a file, so no later job's directory can be made.
    let job = r#"if mkdir "$JOBSPLIT_LAUNCH_DIR/first" 2>/dev/null; then jobs=$(dirname "$JOBSPLIT_OUT"); cd / && rm -rf "$jobs" && echo x > "$jobs"; fi"#;
    let s = Study::with(
        &[job.to_owned(), job.to_owned()],
        ONE,
        "[run]\nworkdir = \"job\"\n",
    );
    let out = s.run("solo").args(["--threads", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = s.results("solo");
    assert_eq!(r.rows.len(), 2);
    let failed: Vec<_> = r.rows.iter().filter(|r| r.status() == "failed").collect();
    assert_eq!(failed.len(), 1, "{:?}", r.rows);
    assert!(
        failed[0]
            .get("error")
            .starts_with("cannot make its directory"),
        "{:?}",
        failed[0]
    );
    assert!(
        failed[0].get("command").contains("mkdir"),
        "the command it would have run"
    );
    assert_eq!(s.manifest("solo")["state"], "finished");
}

#[test]
fn a_worker_cannot_run_in_job_directories_and_nothing_is_written() {
    let s = Study::new();
    s.write("jobs.jsonl", "{\"x\": 1}\n");
    s.write("machines.json", ONE);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[run]\nworkdir = \"job\"\n[jobs]\nfile = \"jobs.jsonl\"\nworker = \"python3 -u w.py\"\n",
    );
    let before = crate::harness::files_under(s.path());
    let o = s.output(&["run", "--machine", "solo", "--yes"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("jobsplit.toml"), "{}", o.stderr);
    assert!(o.stderr.contains("workdir"), "{}", o.stderr);
    assert_eq!(crate::harness::files_under(s.path()), before);
    let o = s.output(&["run", "--machine", "solo", "--yes", "--workdir", "launch"]);
    assert_ne!(o.code, 2, "--workdir launch overrides it: {}", o.stderr);
}

/// Where a job runs is how it runs, not what it is: the plan is the same.
#[test]
fn workdir_does_not_change_the_plan() {
    let s = Study::with(&["true".to_owned(), "false".to_owned()], ONE, "");
    let plain = s.digest(&[]);
    s.write(
        "jobsplit.toml",
        "machines = \"machines.json\"\n[run]\nworkdir = \"job\"\n[jobs]\nfile = \"jobs.txt\"\n",
    );
    assert_eq!(s.digest(&[]), plain);
}
