//! A launched study whose job list grows: the epochs recorded here, shipped, and run by a
//! follower on the host.

use std::process::Command;
use std::time::Duration;

use super::{append_jobs, each_job_once, exits, finished, says, text, Lab};
use crate::harness::{bin, clean_env};

/// The laptop never runs the study: `launch` records the list's epochs here with `run`'s rule
/// (epoch 0 at the first launch, each append since the next epoch) and refuses an edited list
/// in one line, writing nothing.
#[test]
fn launch_records_the_epochs_of_a_grown_list_here() {
    let lab = Lab::new();
    let epochs = lab.study().join("jobs.txt.epochs");
    let first = lab.here(&["launch"]);
    says(
        &first,
        "note: the job list is epoch 0 (jobs 0 to 5) recorded in",
    );
    let lines = |n: usize| {
        let t = std::fs::read_to_string(&epochs).unwrap();
        assert_eq!(t.lines().count(), n + 1, "{t}");
        t
    };
    let once = lines(1);
    assert!(once.contains("\n0 0 6 "), "{once}");
    let again = lab.here(&["launch"]);
    assert!(!text(&again).contains("recorded in"), "{}", text(&again));
    assert_eq!(lines(1), once);

    append_jobs(&lab.study(), "6\n7\nhalf");
    let grown = lab.here(&["launch"]);
    says(
        &grown,
        "note: the job list grew: epoch 1 (jobs 6 to 7) recorded in",
    );
    let two = lines(2);
    assert!(two.starts_with(&once) && two.contains("\n1 6 2 "), "{two}");
    let plan = lab.here(&["plan", "--json"]);
    says(&plan, "\"epochs\"");

    let list = std::fs::read_to_string(lab.study().join("jobs.txt")).unwrap();
    std::fs::write(lab.study().join("jobs.txt"), list.replacen("3\n", "x\n", 1)).unwrap();
    let edited = lab.here(&["launch"]);
    exits(&edited, 2);
    assert!(
        text(&edited).contains("is not what") && text(&edited).lines().count() == 1,
        "{}",
        text(&edited)
    );
    assert_eq!(lines(2), two);
}

/// `launch` ships a grown list's epochs file first and the list a moment later: a run
/// following the list on the host waits for the list, then runs the new epoch; nothing twice.
#[test]
fn a_follower_waits_for_the_list_shipped_after_its_epochs_file() {
    let lab = Lab::new();
    let _ = lab.here(&["launch"]); // records epoch 0 here
    let host = lab.host_study();
    std::fs::copy(
        lab.study().join("jobs.txt.epochs"),
        host.join("jobs.txt.epochs"),
    )
    .unwrap();
    let mut cmd = Command::new(bin());
    clean_env(&mut cmd);
    let mut follower = cmd
        .current_dir(&host)
        .args(["run", "--machine", "a b", "--yes", "--quiet", "--follow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let manifest = |jobs: u64| finished(&host, jobs);
    let wait = Duration::from_secs(30);
    assert!(crate::harness::wait_until(wait, || manifest(6)));

    append_jobs(&lab.study(), "6\n7\n");
    let _ = lab.here(&["launch"]); // records epoch 1 here
    std::fs::copy(
        lab.study().join("jobs.txt.epochs"),
        host.join("jobs.txt.epochs"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        follower.try_wait().unwrap().is_none(),
        "the follower ended on an epochs file ahead of its list"
    );
    std::fs::copy(lab.study().join("jobs.txt"), host.join("jobs.txt")).unwrap();
    assert!(crate::harness::wait_until(wait, || manifest(8)));
    crate::harness::signal(follower.id(), libc::SIGTERM);
    let out = follower.wait_with_output().unwrap();
    exits(&out, 0);
    each_job_once(&host.join("out/a b/log.gz"), 8);
}

/// A launched study that grows: `launch -- --follow` starts a follower; an append and a second
/// launch record the new epoch here and ship it; the running follower is reported, not started
/// twice, and runs the new jobs; collect --merge: every job ok, none twice.
#[test]
fn a_launched_follower_runs_the_epoch_a_second_launch_ships() {
    let lab = Lab::new();
    let host = lab.host_dir();
    let first = lab.here(&["launch", "--", "--follow"]);
    exits(&first, 0);
    says(&first, "a b (h1): started (pid");
    let wait = Duration::from_secs(60);
    assert!(crate::harness::wait_until(wait, || finished(&host, 6)));

    append_jobs(&lab.study(), "6\n7\n");
    let second = lab.here(&["launch", "--", "--follow"]);
    exits(&second, 0);
    says(
        &second,
        "a b (h1): running already: nothing started; sent 2 files",
    );
    assert_eq!(
        std::fs::read(host.join("jobs.txt.epochs")).unwrap(),
        std::fs::read(lab.study().join("jobs.txt.epochs")).unwrap()
    );
    assert!(crate::harness::wait_until(wait, || finished(&host, 8)));
    let stop = lab.here(&["stop"]);
    assert_eq!(text(&stop), "a b (h1): stopping\n");
    let lock = host.join("out/a b/.lock");
    assert!(crate::harness::wait_until(wait, || {
        std::fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_ok())
    }));
    let merged = lab.here(&["collect", "--merge"]);
    exits(&merged, 0);
    each_job_once(&lab.study().join("out/a b/log.gz"), 8);
}
