//! Remote studies (issue 20, docs/remote.md) without root: the ssh command line is a stand-in
//! that runs the remote command with `sh` in a directory standing for the host's home, so the
//! host side (`remote-serve`) and the laptop side run as real processes over real pipes. The
//! real multi-host suite is tests/remote/run.sh.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::{bin, clean_env};

/// A laptop study and one host's home, with `ssh` standing in.
pub(crate) struct Lab {
    pub(crate) dir: tempfile::TempDir,
}

const FAKE_SSH: &str = r#"#!/bin/sh
# ssh stand-in: skips options up to `--`, runs the command in HOMES/DEST
homes=$(dirname "$0")/homes
while [ $# -gt 0 ]; do
  case $1 in -O) exit 0 ;; --) shift; break ;; *) shift ;; esac
done
dest=$1; shift
printf '%s\n' "$1" >>"$(dirname "$0")/calls"
case $dest in down*) echo "ssh: connect to host $dest port 22: Connection refused" >&2; exit 255 ;; esac
mkdir -p "$homes/$dest" && cd "$homes/$dest" && exec sh -c "$1"
"#;

impl Lab {
    pub(crate) fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
        };
        let ssh = lab.dir.path().join("fakessh");
        std::fs::write(&ssh, FAKE_SSH).unwrap();
        std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let study = lab.study();
        std::fs::create_dir_all(&study).unwrap();
        let jobs: String = (0..6).map(|i| format!("{i}\n")).collect();
        std::fs::write(study.join("jobs.txt"), jobs).unwrap();
        std::fs::write(
            study.join("machines.json"),
            r#"{"a b": {"weight": 1, "cores": 2, "ssh": "h1", "dir": "st it's"}}"#,
        )
        .unwrap();
        std::fs::write(
            study.join("jobsplit.toml"),
            "[jobs]\nfile = \"jobs.txt\"\ncommand = \"mkdir -p \\\"$JOBSPLIT_OUT\\\" && echo {} > \\\"$JOBSPLIT_OUT/f.txt\\\" && echo hi {}\"\n",
        )
        .unwrap();
        lab
    }

    pub(crate) fn study(&self) -> PathBuf {
        self.dir.path().join("study")
    }

    /// The host's copy of the study (as `launch` would leave it), its binary put there by hand
    /// (the debug build is dynamically linked, which launch refuses to ship).
    pub(crate) fn host_study(&self) -> PathBuf {
        let host = self.dir.path().join("homes/h1/st it's");
        let state = host.join(".jobsplit-remote");
        std::fs::create_dir_all(&state).unwrap();
        for f in ["jobs.txt", "machines.json", "jobsplit.toml"] {
            std::fs::copy(self.study().join(f), host.join(f)).unwrap();
        }
        let arch = std::env::consts::ARCH;
        std::fs::copy(bin(), state.join(format!("jobsplit-{arch}"))).unwrap();
        host
    }

    pub(crate) fn jobsplit(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(bin());
        clean_env(&mut cmd);
        cmd.current_dir(dir)
            .env("JOBSPLIT_SSH", self.dir.path().join("fakessh"))
            .args(args)
            .output()
            .unwrap()
    }
}

pub(crate) fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn collect_is_incremental_verified_and_never_writes_through_a_link() {
    let lab = Lab::new();
    let host = lab.host_study();
    let run = lab.jobsplit(&host, &["run", "--machine", "a b", "--yes", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));

    let first = lab.jobsplit(&lab.study(), &["collect"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
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

    let again = lab.jobsplit(&lab.study(), &["collect"]);
    assert!(
        text(&again).contains(": 0 new, 0 appended, 10 unchanged;"),
        "{}",
        text(&again)
    );

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
    assert!(rerun.status.success(), "{}", text(&rerun));
    let grown = lab.jobsplit(&lab.study(), &["collect"]);
    assert!(text(&grown).contains(" 2 appended,"), "{}", text(&grown));
    assert_eq!(
        std::fs::read(local.join("results.csv")).unwrap(),
        std::fs::read(host.join("out/a b/results.csv")).unwrap()
    );

    // A copy changed here since is newer: kept.
    std::fs::write(local.join("jobs/2/f.txt"), "mine\n").unwrap();
    let kept = lab.jobsplit(&lab.study(), &["collect"]);
    assert!(
        text(&kept).contains("kept the newer copy here of jobs/2/f.txt"),
        "{}",
        text(&kept)
    );
    assert_eq!(
        std::fs::read_to_string(local.join("jobs/2/f.txt")).unwrap(),
        "mine\n"
    );

    // A link in the way: refused, its target untouched.
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(local.join("jobs/4")).unwrap();
    symlink(&elsewhere, local.join("jobs/4")).unwrap();
    let refused = lab.jobsplit(&lab.study(), &["collect"]);
    assert_eq!(refused.status.code(), Some(5), "{}", text(&refused));
    assert!(
        text(&refused).contains("refused here: jobs/4/f.txt: jobs/4 is a symbolic link"),
        "{}",
        text(&refused)
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn status_and_stop_over_ssh_and_a_dynamic_binary_refused() {
    let lab = Lab::new();
    lab.host_study();
    let watch = lab.jobsplit(&lab.study(), &["watch", "--count", "1"]);
    assert_eq!(watch.status.code(), Some(0), "{}", text(&watch));
    assert!(
        text(&watch).contains("a b (h1): 0/0 not started"),
        "{}",
        text(&watch)
    );
    let stop = lab.jobsplit(&lab.study(), &["stop"]);
    assert_eq!(text(&stop), "a b (h1): not running\n");
    // jobsplit's own builds are static (.cargo/config.toml): the system's `true` stands for a
    // dynamically linked binary.
    let dynamic = std::path::Path::new("/bin/true");
    let launch = lab.jobsplit(
        &lab.study(),
        &["launch", "--binary", dynamic.to_str().unwrap()],
    );
    assert_eq!(launch.status.code(), Some(5), "{}", text(&launch));
    assert!(
        text(&launch).contains("dynamically linked") && text(&launch).contains("make static"),
        "{}",
        text(&launch)
    );
}

#[test]
fn a_machine_without_a_destination_is_bad_input_and_nothing_is_sent() {
    let lab = Lab::new();
    std::fs::write(lab.study().join("machines.json"), r#"{"a": [1, 1]}"#).unwrap();
    let out = lab.jobsplit(&lab.study(), &["launch"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "jobsplit: error: machine a has no ssh destination: add \"ssh\": \"user@host\" to it in the machines file, or pass --host a=HOST\n"
    );
    assert!(!lab.dir.path().join("homes").exists());
}

/// True when the host's run of machine `a b` finished a plan of `jobs` jobs.
fn finished(host: &Path, jobs: u64) -> bool {
    let m: serde_json::Value = std::fs::read(host.join("out/a b/manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    m["state"] == "finished" && m["jobs_total"] == jobs
}

fn append_jobs(study: &Path, text: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(study.join("jobs.txt"))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The laptop never runs the study: `launch` records the list's epochs here with `run`'s rule
/// (epoch 0 at the first launch, each append since the next epoch) and refuses an edited list
/// in one line, writing nothing.
#[test]
fn launch_records_the_epochs_of_a_grown_list_here() {
    let lab = Lab::new();
    let epochs = lab.study().join("jobs.txt.epochs");
    let first = lab.jobsplit(&lab.study(), &["launch"]);
    assert!(
        text(&first).contains("note: the job list is epoch 0 (jobs 0 to 5) recorded in"),
        "{}",
        text(&first)
    );
    let lines = |n: usize| {
        let t = std::fs::read_to_string(&epochs).unwrap();
        assert_eq!(t.lines().count(), n + 1, "{t}");
        t
    };
    let once = lines(1);
    assert!(once.contains("\n0 0 6 "), "{once}");
    let again = lab.jobsplit(&lab.study(), &["launch"]);
    assert!(!text(&again).contains("recorded in"), "{}", text(&again));
    assert_eq!(lines(1), once);

    append_jobs(&lab.study(), "6\n7\nhalf");
    let grown = lab.jobsplit(&lab.study(), &["launch"]);
    assert!(
        text(&grown).contains("note: the job list grew: epoch 1 (jobs 6 to 7) recorded in"),
        "{}",
        text(&grown)
    );
    let two = lines(2);
    assert!(two.starts_with(&once) && two.contains("\n1 6 2 "), "{two}");
    let plan = lab.jobsplit(&lab.study(), &["plan", "--json"]);
    assert!(text(&plan).contains("\"epochs\""), "{}", text(&plan));

    let list = std::fs::read_to_string(lab.study().join("jobs.txt")).unwrap();
    std::fs::write(lab.study().join("jobs.txt"), list.replacen("3\n", "x\n", 1)).unwrap();
    let edited = lab.jobsplit(&lab.study(), &["launch"]);
    assert_eq!(edited.status.code(), Some(2), "{}", text(&edited));
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
    let _ = lab.jobsplit(&lab.study(), &["launch"]); // records epoch 0 here
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
    let _ = lab.jobsplit(&lab.study(), &["launch"]); // records epoch 1 here
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
    assert!(out.status.success(), "{}", text(&out));
    let log = crate::harness::gunzip(&host.join("out/a b/log.gz"));
    for i in 0..8 {
        assert_eq!(
            log.matches(&format!("hi {i}\n")).count(),
            1,
            "job {i}: {log}"
        );
    }
}

/// A launched study that grows: `launch -- --follow` starts a follower; an append and a second
/// launch record the new epoch here and ship it; the running follower is reported, not started
/// twice, and runs the new jobs; collect --merge: every job ok, none twice.
#[test]
fn a_launched_follower_runs_the_epoch_a_second_launch_ships() {
    let lab = Lab::new();
    let host = lab.dir.path().join("homes/h1/st it's");
    let first = lab.jobsplit(&lab.study(), &["launch", "--", "--follow"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        text(&first).contains("a b (h1): started (pid"),
        "{}",
        text(&first)
    );
    let wait = Duration::from_secs(60);
    assert!(crate::harness::wait_until(wait, || finished(&host, 6)));

    append_jobs(&lab.study(), "6\n7\n");
    let second = lab.jobsplit(&lab.study(), &["launch", "--", "--follow"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        text(&second).contains("a b (h1): running already: nothing started; sent 2 files"),
        "{}",
        text(&second)
    );
    assert_eq!(
        std::fs::read(host.join("jobs.txt.epochs")).unwrap(),
        std::fs::read(lab.study().join("jobs.txt.epochs")).unwrap()
    );
    assert!(crate::harness::wait_until(wait, || finished(&host, 8)));
    let stop = lab.jobsplit(&lab.study(), &["stop"]);
    assert_eq!(text(&stop), "a b (h1): stopping\n");
    let lock = host.join("out/a b/.lock");
    assert!(crate::harness::wait_until(wait, || {
        std::fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_ok())
    }));
    let merged = lab.jobsplit(&lab.study(), &["collect", "--merge"]);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged));
    let log = crate::harness::gunzip(&lab.study().join("out/a b/log.gz"));
    for i in 0..8 {
        assert_eq!(
            log.matches(&format!("hi {i}\n")).count(),
            1,
            "job {i}: {log}"
        );
    }
}

#[test]
fn a_dead_host_is_rescued_onto_the_hosts_left_from_here() {
    let lab = Lab::new();
    std::fs::write(
        lab.study().join("machines.json"),
        r#"{"a b": {"weight": 1, "cores": 2, "ssh": "h1", "dir": "st it's"},
           "dead": {"weight": 1, "cores": 2, "ssh": "h2", "dir": "st"}}"#,
    )
    .unwrap();
    let host = lab.host_study();
    let run = lab.jobsplit(&host, &["run", "--machine", "a b", "--yes", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    // h2 never comes back: collect what a b did, merge, its jobs are missing.
    let merged = lab.jobsplit(
        &lab.study(),
        &["collect", "--machine", "a b", "--merge", "--out", "merged"],
    );
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));

    let unknown = lab.jobsplit(
        &lab.study(),
        &["launch", "--rescue", "merged", "--dead", "nosuch"],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("--dead nosuch: no such machine in machines.json"),
        "{}",
        text(&unknown)
    );

    // One command from here: the rescue plan (the machines file without the dead one, the
    // jobs not ok), its files shipped, its run started on the host left.
    let launch = lab.jobsplit(
        &lab.study(),
        &["launch", "--rescue", "merged", "--dead", "dead"],
    );
    assert_eq!(launch.status.code(), Some(0), "{}", text(&launch));
    let survivors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(host.join("merged/rescue-machines.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        survivors.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["a b"]
    );
    let plan = lab.jobsplit(
        &lab.study(),
        &[
            "plan",
            "--rescue",
            "merged",
            "--machines",
            "merged/rescue-machines.json",
            "--json",
        ],
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let digest = plan["plan_digest"].as_str().unwrap();
    assert!(
        text(&launch).starts_with(&format!("plan {}", &digest[..8])),
        "{}",
        text(&launch)
    );
    // The run there ends quickly; collect --rescue brings OUT-rescue back, and the merge of
    // both has every job exactly once.
    let watch = lab.jobsplit(
        &lab.study(),
        &[
            "watch",
            "--rescue",
            "merged",
            "--dead",
            "dead",
            "--interval",
            "0.2s",
        ],
    );
    assert_eq!(watch.status.code(), Some(0), "{}", text(&watch));
    let collect = lab.jobsplit(
        &lab.study(),
        &["collect", "--rescue", "merged", "--dead", "dead"],
    );
    assert_eq!(collect.status.code(), Some(0), "{}", text(&collect));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.study().join("out-rescue/a b/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["plan_digest"].as_str(), Some(digest));
    let m2 = lab.jobsplit(&lab.study(), &["merge", "out", "out-rescue", "--out", "m2"]);
    assert_eq!(m2.status.code(), Some(0), "{}", text(&m2));
    assert!(!text(&m2).contains("payload"), "{}", text(&m2));
    let rows = std::fs::read_to_string(lab.study().join("m2/results.csv")).unwrap();
    let mut indices: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, ["0", "1", "2", "3", "4", "5"], "{rows}");
}

#[test]
fn an_unchanged_file_is_known_by_its_size_and_time_and_not_read_again() {
    let lab = Lab::new();
    let host = lab.host_study();
    let run = lab.jobsplit(&host, &["run", "--machine", "a b", "--yes", "--quiet"]);
    assert!(run.status.success(), "{}", text(&run));
    let first = lab.jobsplit(&lab.study(), &["collect"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
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
    let again = lab.jobsplit(&lab.study(), &["collect"]);
    assert!(
        text(&again).contains(": 0 new, 0 appended, 10 unchanged;"),
        "{}",
        text(&again)
    );
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
    let changed = lab.jobsplit(&lab.study(), &["collect"]);
    assert!(text(&changed).contains(": 1 new,"), "{}", text(&changed));
    assert_eq!(
        std::fs::read_to_string(local.join("jobs/3/f.txt")).unwrap(),
        "X\n"
    );
    assert!(!host.join("out/a b/.collected").exists());
}
