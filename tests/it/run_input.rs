//! Bad input and safety of `jobsplit run`: choosing the machine, checking the digest, refusing
//! another plan's output, `--fresh` and `--keep-done`, an unwritable output dir, a full disk.

use crate::harness::{hostname, text, Results, Study, THREE_MACHINES};

fn jobs(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("echo job {i}")).collect()
}

fn three() -> Study {
    Study::with(&jobs(6), THREE_MACHINES, "seed = \"a\"\n")
}

/// Runs `cmd` expecting exit 2; returns stderr.
fn bad(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn an_unknown_machine_is_refused_with_the_names_and_the_closest() {
    let s = three();
    let err = bad(&mut s.run("ws"));
    assert!(err.contains("unknown machine `ws`"), "{err}");
    assert!(err.contains("did you mean `ws"), "{err}");
    assert!(err.contains("ws1, ws2, server"), "{err}");
    let err = bad(&mut s.run("zzzzzz"));
    assert!(!err.contains("did you mean"), "{err}");
    assert!(!s.out().exists(), "nothing may be written");
}

#[test]
fn no_machine_and_no_terminal_and_no_host_match_is_refused() {
    let s = three();
    let err = bad(s.cmd().args(["run", "--yes"]));
    assert!(err.contains("--machine"), "{err}");
    assert!(err.contains("JOBSPLIT_MACHINE"), "{err}");
    assert!(err.contains("ws1, ws2, server"), "{err}");
    assert!(err.contains(&hostname()), "{err}");
    assert!(!s.out().exists());
}

#[test]
fn the_machine_comes_from_jobsplit_machine_or_the_host_name() {
    let s = three();
    s.cmd()
        .args(["run", "--yes", "--quiet"])
        .env("JOBSPLIT_MACHINE", "ws2")
        .assert()
        .code(0);
    assert_eq!(s.manifest("ws2")["machine"], "ws2");
    assert!(!s.machine_dir("ws1").exists());

    let host = hostname();
    let m = Study::with(
        &jobs(4),
        &format!(
            r#"{{"alpha": {{"weight": 1, "cores": 1, "hosts": ["not-this-one", "{host}"]}}, "beta": [1, 1]}}"#
        ),
        "",
    );
    m.cmd().args(["run", "--yes", "--quiet"]).assert().code(0);
    assert_eq!(m.manifest("alpha")["machine"], "alpha");
    assert_eq!(m.manifest("alpha")["hostname"], host.as_str());
    assert!(!m.machine_dir("beta").exists());
}

#[test]
fn expect_digest_must_match_the_plan() {
    let s = three();
    let digest = s.plan_json(&[])["plan_digest"].as_str().unwrap().to_owned();
    let wrong = if digest.starts_with('0') {
        "1234abcd"
    } else {
        "0000abcd"
    };
    let err = bad(s.run("ws1").args(["--expect-digest", wrong]));
    assert!(err.contains(&digest[..8]) && err.contains(wrong), "{err}");
    assert!(!s.out().exists());
    s.run("ws1")
        .args(["--expect-digest", &digest[..8].to_uppercase(), "--quiet"])
        .assert()
        .code(0);
    s.run("ws2")
        .args(["--expect-digest", &digest, "--quiet"])
        .assert()
        .code(0);
}

#[test]
fn another_plan_in_the_same_dir_is_refused_then_fresh_moves_it_aside() {
    let s = three();
    let plan_a = s.plan_json(&[])["plan_digest"].as_str().unwrap().to_owned();
    let plan_b = s.plan_json(&["--seed", "b"])["plan_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    s.run("ws1").arg("--quiet").assert().code(0);
    let old_results = std::fs::read(s.machine_dir("ws1").join("results.csv")).unwrap();

    let err = bad(s.run("ws1").args(["--seed", "b"]));
    assert!(
        err.contains(&plan_a[..8]) && err.contains(&plan_b[..8]),
        "{err}"
    );
    assert!(
        err.contains("--fresh") && err.contains("--keep-done"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(s.machine_dir("ws1").join("results.csv")).unwrap(),
        old_results,
        "the refused run touched the old output"
    );

    let out = s
        .run("ws1")
        .args(["--seed", "b", "--fresh"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(s.manifest("ws1")["plan_digest"], plan_b.as_str());
    // The old output is kept, renamed, beside the new one, and the message says where.
    let moved: Vec<_> = std::fs::read_dir(s.out())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ws1."))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let moved_name = moved[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.contains(&format!("moved to out/{moved_name}")), "{err}");
    assert_eq!(
        crate::harness::read_json(&moved[0].join("manifest.json"))["plan_digest"],
        plan_a.as_str()
    );
    assert_eq!(
        std::fs::read(moved[0].join("results.csv")).unwrap(),
        old_results
    );
    // The new run started over: every row is a first attempt of the new plan.
    let r = s.results("ws1");
    assert!(r.rows.iter().all(|row| row.attempt() == 1));

    // The other hosts run the new plan too; merging OUT takes the new plan only, not the
    // output moved aside beside it.
    for m in ["ws2", "server"] {
        s.run(m).args(["--seed", "b", "--quiet"]).assert().code(0);
    }
    let out = s
        .cmd()
        .args(["merge", "out", "--out", "merged", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = crate::harness::read_json(&s.join("merged/summary.json"));
    assert_eq!(summary["plan_digests"], serde_json::json!([plan_b]));
    assert_eq!(Results::read(&s.join("merged/results.csv")).rows.len(), 6);
}

#[test]
fn appending_jobs_needs_no_flag_and_skips_the_earlier_ones() {
    let s = Study::with(&jobs(5), r#"{"solo": [1, 2]}"#, "");
    s.run("solo").arg("--quiet").assert().code(0);
    let before = s.results("solo");

    // A list that grew by appending is a new epoch of the same study (issue 22), not another
    // plan: no --keep-done needed.
    s.jobs(&jobs(8));
    let out = s.run("solo").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = s.results("solo");
    assert_eq!(after.rows.len(), 8, "{:?}", after.rows);
    assert_eq!(after.rows[..5], before.rows[..]);
    let new: Vec<u64> = {
        let mut v: Vec<u64> = after.rows[5..].iter().map(|r| r.index()).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(new, [5, 6, 7]);
    assert!(after.ok_per_key().values().all(|&n| n == 1));
    let m = s.manifest("solo");
    assert_eq!(
        (m["counts"]["skipped"].as_u64(), m["counts"]["ok"].as_u64()),
        (Some(5), Some(3))
    );
    // Resuming the new plan needs no flag either, and --keep-done still takes it.
    s.run("solo").arg("--quiet").assert().code(0);
    s.run("solo")
        .args(["--quiet", "--keep-done"])
        .assert()
        .code(0);
}

#[test]
fn an_unwritable_output_dir_is_one_clear_line() {
    let s = three();
    let file = s.write("a-file", "not a directory\n");
    let target = file.join("out");
    let err = bad(s
        .run("ws1")
        .args(["--quiet", "--out", target.to_str().unwrap()]));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("jobsplit: error: "), "{err}");
    assert!(lines[0].contains(&file.display().to_string()), "{err}");
}

#[test]
fn a_full_disk_stops_the_run_with_a_clear_message_and_a_valid_results_file() {
    let s = Study::with(
        &(0..40)
            .map(|i| format!("head -c 200000 /dev/urandom | od -An -tx1 | head -n 400; echo {i}"))
            .collect::<Vec<_>>(),
        r#"{"solo": [1, 1]}"#,
        "",
    );
    let fs = match crate::harness::Tmpfs::mount("200k") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("note: cannot mount a tmpfs here ({why}); skipping");
            return;
        }
    };
    let mnt = fs.path();
    let out = s
        .run("solo")
        .args(["--quiet", "--out", mnt.to_str().unwrap()])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    // Not 2 ("nothing written"): the run wrote, and says so.
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no space left"), "{err}");
    assert!(err.contains("stopped after it began writing"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let results = mnt.join("solo/results.csv");
    let r = Results::read(&results);
    assert!(r.rows.len() < 40, "the disk never filled up");
    // The manifest never stays `running` after the process ended.
    let m = crate::harness::read_json(&mnt.join("solo/manifest.json"));
    assert_eq!(m["state"], "interrupted", "{m}");
    assert!(m["ended_at"].is_string(), "{m}");
}
