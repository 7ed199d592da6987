//! `collect` and the looks over ssh: what comes and what is kept, a link in the way, the quick
//! check of an unchanged file, status and stop, and bad input.

use std::os::unix::fs::symlink;

use super::{exits, says, text, Lab};

#[test]
fn collect_is_incremental_verified_and_never_writes_through_a_link() {
    let lab = Lab::new();
    let host = lab.host_ran();

    let first = lab.here(&["collect"]);
    exits(&first, 0);
    let local = lab.study().join("out/a b");
    for f in [
        "results.csv",
        "log.gz",
        "manifest.json",
        "status.json",
        "jobs/3/f.txt",
    ] {
        assert_eq!(
            std::fs::read(local.join(f)).unwrap(),
            std::fs::read(host.join("out/a b").join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(!local.join(".lock").exists());

    let again = lab.here(&["collect"]);
    says(&again, ": 0 new, 0 appended, 10 unchanged;");

    // New rows and log members on the host: only they come, appended.
    let rerun = lab.jobsplit(
        &host,
        &[
            "run",
            "--machine",
            "a b",
            "--yes",
            "--quiet",
            "--rerun",
            "1",
        ],
    );
    exits(&rerun, 0);
    let grown = lab.here(&["collect"]);
    says(&grown, " 2 appended,");
    assert_eq!(
        std::fs::read(local.join("results.csv")).unwrap(),
        std::fs::read(host.join("out/a b/results.csv")).unwrap()
    );

    // A copy changed here since is newer: kept.
    std::fs::write(local.join("jobs/2/f.txt"), "mine\n").unwrap();
    let kept = lab.here(&["collect"]);
    says(&kept, "kept the newer copy here of jobs/2/f.txt");
    assert_eq!(
        std::fs::read_to_string(local.join("jobs/2/f.txt")).unwrap(),
        "mine\n"
    );

    // A link in the way: refused, its target untouched.
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(local.join("jobs/4")).unwrap();
    symlink(&elsewhere, local.join("jobs/4")).unwrap();
    let refused = lab.here(&["collect"]);
    exits(&refused, 5);
    says(
        &refused,
        "refused here: jobs/4/f.txt: jobs/4 is a symbolic link",
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn status_and_stop_over_ssh_and_a_dynamic_binary_refused() {
    let lab = Lab::new();
    lab.host_study();
    let watch = lab.here(&["watch", "--count", "1"]);
    exits(&watch, 0);
    says(&watch, "a b (h1): 0/0 not started");
    let stop = lab.here(&["stop"]);
    assert_eq!(text(&stop), "a b (h1): not running\n");
    // jobsplit's own builds are static (.cargo/config.toml): the system's `true` stands for a
    // dynamically linked binary.
    let dynamic = std::path::Path::new("/bin/true");
    let launch = lab.jobsplit(
        &lab.study(),
        &["launch", "--binary", dynamic.to_str().unwrap()],
    );
    exits(&launch, 5);
    says(&launch, "dynamically linked");
    says(&launch, "make static");
}

#[test]
fn a_machine_without_a_destination_is_bad_input_and_nothing_is_sent() {
    let lab = Lab::new();
    std::fs::write(lab.study().join("machines.json"), r#"{"a": [1, 1]}"#).unwrap();
    let out = lab.here(&["launch"]);
    exits(&out, 2);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "jobsplit: error: machine a has no ssh destination: add \"ssh\": \"user@host\" to it in the machines file, or pass --host a=HOST\n"
    );
    assert!(!lab.dir.path().join("homes").exists());
}

#[test]
fn an_unchanged_file_is_known_by_its_size_and_time_and_not_read_again() {
    let lab = Lab::new();
    let host = lab.host_ran();
    let first = lab.here(&["collect"]);
    exits(&first, 0);
    let local = lab.study().join("out/a b");
    assert!(local.join(".collected").is_file());
    // Same size, same time, other bytes on the host: taken as unchanged (rsync's quick check),
    // so neither side read it. (Before: both sides hashed every file, and it came again.)
    let theirs = host.join("out/a b/jobs/3/f.txt");
    let when = std::fs::metadata(&theirs).unwrap().modified().unwrap();
    std::fs::write(&theirs, "X\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&theirs)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let again = lab.here(&["collect"]);
    says(&again, ": 0 new, 0 appended, 10 unchanged;");
    assert_eq!(
        std::fs::read_to_string(local.join("jobs/3/f.txt")).unwrap(),
        "3\n"
    );
    // Its time changed there: hashed again, sent, verified.
    std::fs::File::options()
        .write(true)
        .open(&theirs)
        .unwrap()
        .set_modified(when + std::time::Duration::from_secs(1))
        .unwrap();
    let changed = lab.here(&["collect"]);
    says(&changed, ": 1 new,");
    assert_eq!(
        std::fs::read_to_string(local.join("jobs/3/f.txt")).unwrap(),
        "X\n"
    );
    assert!(!host.join("out/a b/.collected").exists());
}
