//! `status --remote`, `log --remote` and `report --remote` on a launched study before any
//! collect (issue 20, docs/remote.md), through the ssh stand-in of remote_fake.rs: only the
//! small files needed come here, a host that cannot be reached is named in one line and the
//! others are shown (exit 5).

use crate::remote_fake::{text, Lab};

/// A lab whose plan has a second machine on a host that refuses connections; the first
/// machine's share run on its host.
fn ran() -> Lab {
    let lab = Lab::new();
    std::fs::write(
        lab.study().join("machines.json"),
        r#"{"a b": {"weight": 1, "cores": 2, "ssh": "h1", "dir": "st it's"},
 "gone": {"weight": 1, "cores": 2, "ssh": "down1", "dir": "st it's"}}"#,
    )
    .unwrap();
    lab.host_ran();
    lab
}

#[test]
fn status_remote_brings_only_the_manifest_and_status_and_names_an_unreachable_host() {
    let lab = ran();
    let out = lab.jobsplit(&lab.study(), &["status", "--remote"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(5), "{said}");
    let unreachable: Vec<&str> = said.lines().filter(|l| l.contains("down1")).collect();
    assert_eq!(unreachable.len(), 1, "{said}");
    assert!(
        unreachable[0].starts_with("gone (down1): unreachable: ssh: connect to host down1"),
        "{said}"
    );
    let row = said.lines().find(|l| l.starts_with("a b ")).unwrap_or("");
    assert!(row.contains("finished"), "{said}");
    let local = lab.study().join("out/a b");
    let mut held: Vec<String> = std::fs::read_dir(&local)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    held.sort();
    assert_eq!(held, [".collected", "manifest.json", "status.json"]);

    // Only the one machine: exit 0; a later collect takes what status brought as unchanged.
    let one = lab.jobsplit(&lab.study(), &["status", "--remote", "out/a b"]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one));
    let collect = lab.jobsplit(&lab.study(), &["collect", "--machine", "a b"]);
    assert!(
        text(&collect).contains(": 5 new, 0 appended, 2 unchanged;"),
        "{}",
        text(&collect)
    );
}

#[test]
fn log_remote_prints_the_lines_read_on_the_host() {
    let lab = ran();
    let host = lab.host_study();
    let there = lab.jobsplit(&host, &["log", "--tsv", "out/a b"]);
    assert!(there.status.success(), "{}", text(&there));
    let tsv = lab.jobsplit(&lab.study(), &["log", "--remote", "out/a b", "--tsv"]);
    assert_eq!(tsv.status.code(), Some(0), "{}", text(&tsv));
    assert_eq!(
        String::from_utf8_lossy(&tsv.stdout),
        String::from_utf8_lossy(&there.stdout)
    );

    // One job, asked of every host: its line; the host that cannot be reached named once.
    let job = String::from_utf8_lossy(&there.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.split('\t').nth(1).map(str::to_owned))
        .unwrap();
    let out = lab.jobsplit(
        &lab.study(),
        &["log", "--remote", "out", &job, "--stream", "out"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 1, "{said}");
    assert!(
        lines[0].ends_with(&format!("  job {job}  attempt 1  out  hi {job}")),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("gone (down1): unreachable: ssh: connect to host down1"),
        "{err}"
    );
    assert!(!lab.study().join("out").exists(), "log --remote wrote here");
}

#[test]
fn an_unchanged_launch_is_two_round_trips_and_a_changed_file_rides_with_the_start() {
    let lab = Lab::new();
    let calls = lab.dir.path().join("calls");
    let first = lab.jobsplit(&lab.study(), &["launch"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let watch = lab.jobsplit(&lab.study(), &["watch", "--interval", "0.2s"]);
    assert_eq!(watch.status.code(), Some(0), "{}", text(&watch));

    // One probe (which asks the binary there what it lacks), then the start.
    std::fs::remove_file(&calls).unwrap();
    let again = lab.jobsplit(&lab.study(), &["launch"]);
    assert!(
        text(&again).contains("a b (h1): done: nothing started; nothing sent ("),
        "{}",
        text(&again)
    );
    let made = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(made.lines().count(), 2, "{made}");

    // A changed file: sent with the start, still two round trips.
    std::fs::remove_file(&calls).unwrap();
    let jobs = lab.study().join("jobsplit.toml");
    let config = std::fs::read_to_string(&jobs).unwrap();
    std::fs::write(&jobs, format!("{config}# changed\n")).unwrap();
    let changed = lab.jobsplit(&lab.study(), &["launch", "--fresh"]);
    assert!(
        text(&changed).contains("a b (h1): started"),
        "{}",
        text(&changed)
    );
    assert!(
        text(&changed).contains("; sent 1 file ("),
        "{}",
        text(&changed)
    );
    let made = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(made.lines().count(), 2, "{made}");
}

/// A config named by its absolute path: the hosts still write below their study directory
/// (they were told the laptop's absolute OUT), and collect finds their output.
#[test]
fn a_config_named_absolute_keeps_out_relative_on_the_hosts() {
    let lab = Lab::new();
    let config = lab.study().join("jobsplit.toml");
    let machines = lab.study().join("machines.json");
    let (config, machines) = (config.to_str().unwrap(), machines.to_str().unwrap());
    let study = ["--config", config, "--machines", machines];
    let launch = lab.jobsplit(lab.dir.path(), &[&["launch"], &study[..]].concat());
    assert_eq!(launch.status.code(), Some(0), "{}", text(&launch));
    let host = lab.dir.path().join("homes/h1/st it's/out/a b");
    assert!(
        crate::harness::wait_until(std::time::Duration::from_secs(60), || host
            .join("manifest.json")
            .is_file()),
        "no output in the host's study directory"
    );
    let watch = lab.jobsplit(
        lab.dir.path(),
        &[&["watch", "--interval", "0.2s"], &study[..]].concat(),
    );
    assert_eq!(watch.status.code(), Some(0), "{}", text(&watch));
    let collect = lab.jobsplit(lab.dir.path(), &[&["collect"], &study[..]].concat());
    assert!(text(&collect).contains(": 10 new, "), "{}", text(&collect));
}

/// A follower waiting for its list to grow holds no lock: watch and status --remote still
/// see it running.
#[test]
fn a_waiting_follower_is_running_to_watch() {
    let lab = Lab::new();
    let host = lab.dir.path().join("homes/h1/st it's/out/a b");
    let launch = lab.jobsplit(&lab.study(), &["launch", "--", "--follow"]);
    assert_eq!(launch.status.code(), Some(0), "{}", text(&launch));
    assert!(crate::harness::wait_until(
        std::time::Duration::from_secs(60),
        || std::fs::read_to_string(host.join("results.csv")).is_ok_and(|t| t.lines().count() == 7)
    ));
    let look = lab.jobsplit(&lab.study(), &["watch", "--count", "1"]);
    assert!(
        text(&look).contains("a b (h1): 6/6 running"),
        "{}",
        text(&look)
    );
    let stop = lab.jobsplit(&lab.study(), &["stop"]);
    assert_eq!(text(&stop), "a b (h1): stopping\n");
}

#[test]
fn report_remote_brings_the_results_and_a_wrong_dir_is_refused() {
    let lab = ran();
    let out = lab.jobsplit(
        &lab.study(),
        &[
            "report",
            "--remote",
            "out",
            "--markdown",
            "--machine",
            "a b",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a b"));
    let local = lab.study().join("out/a b");
    assert!(local.join("results.csv").is_file());
    assert!(!local.join("log.gz").exists() && !local.join("jobs").exists());

    let wrong = lab.jobsplit(
        &lab.study(),
        &["report", "--remote", "elsewhere", "--markdown"],
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("is not the launched study's OUT here"),
        "{}",
        text(&wrong)
    );
}
