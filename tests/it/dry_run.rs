//! `run --dry-run` and `plan --commands MACHINE` (issue 14): the commands a machine would run, in
//! order, one per line, exactly as `/bin/sh -c` gets them, and nothing written.

use crate::harness::{text, Study};

const TWO: &str = r#"{"ws1": [2, 1], "ws2": [1, 1]}"#;

fn lines(bytes: &[u8]) -> Vec<String> {
    text(bytes).lines().map(str::to_owned).collect()
}

#[test]
fn dry_run_prints_the_share_in_order_and_writes_nothing() {
    let jobs: Vec<String> = ["a/b.txt", "it's here", "x y/z.tar.gz", "d/", "e", "f.c"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let s = Study::with(&jobs, TWO, "");
    let template = "echo {/.} {#} {}";
    let before = s.files();
    let out = s
        .run("ws1")
        .args(["--threads", "1", "--dry-run", "--cmd", template])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.files(), before, "a dry run writes nothing");
    let printed = lines(&out.stdout);
    // In the plan's order for ws1.
    let plan = s.plan_json(&["--cmd", template]);
    let share: Vec<u64> = plan["machines"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(printed.len(), share.len(), "{printed:?}");
    // `plan --commands` says the same (ws1 has one core, as --threads 1).
    let planned = s.output(&["plan", "--commands", "ws1", "--cmd", template]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert_eq!(lines(planned.stdout.as_bytes()), printed);
    // Exactly as they run: each printed line through /bin/sh gives what the run's job printed.
    s.run("ws1")
        .args([
            "--threads",
            "1",
            "--capture",
            "last-line",
            "--cmd",
            template,
        ])
        .assert()
        .code(0);
    let r = s.results("ws1");
    for (line, index) in printed.iter().zip(&share) {
        let sh = std::process::Command::new("/bin/sh")
            .args(["-c", line])
            .output()
            .unwrap();
        let row = r.rows.iter().find(|row| row.index() == *index).unwrap();
        assert_eq!(text(&sh.stdout).trim_end(), row.get("result"), "{line}");
        assert!(line.contains(&format!(" {index} ")), "{line}");
    }
}

#[test]
fn dry_run_leaves_out_jobs_already_done() {
    // Job 2 fails; a rerun would run only it.
    let jobs: Vec<String> = ["true", "true", "exit 3", "true"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let s = Study::with(&jobs, r#"{"solo": [1, 1]}"#, "");
    s.run("solo").assert().code(1);
    let before = s.files();
    let out = s.run("solo").arg("--dry-run").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(lines(&out.stdout), ["exit 3"]);
    assert_eq!(s.files(), before);
    // --fresh would run them all.
    let out = s
        .run("solo")
        .args(["--dry-run", "--fresh"])
        .output()
        .unwrap();
    assert_eq!(lines(&out.stdout).len(), 4);
    assert_eq!(s.files(), before);
}

#[test]
fn plan_commands_names_an_unknown_machine() {
    let s = Study::with(&["true".to_owned()], TWO, "");
    let out = s.output(&["plan", "--commands", "nope"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("ws1, ws2"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
