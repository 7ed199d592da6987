//! Honest exit codes: 2 means nothing was run or written, so every refusal comes before the
//! first byte; a failure after the run wrote says so (exit 3) and never leaves a manifest
//! `running` behind.

use std::path::Path;

use crate::harness::{files_under, text, Study};

const ONE: &str = r#"{"ws1": [1, 2]}"#;

fn study() -> Study {
    let jobs: Vec<String> = (0..6).map(|i| format!("echo {i}")).collect();
    Study::with(&jobs, ONE, "")
}

/// Runs `jobsplit run --machine ws1 ARGS` and asserts exit 2, one error line containing every
/// needle, and not a byte written or changed under the study.
fn refused_writing_nothing(s: &Study, args: &[&str], needles: &[&str]) {
    let before = files_under(s.path());
    let out = s.run("ws1").args(args).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("jobsplit: error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {err}");
    }
    let after = files_under(s.path());
    let changed: Vec<_> = after
        .iter()
        .filter(|(p, b)| before.get(*p) != Some(*b))
        .map(|(p, _)| p.strip_prefix(s.path()).unwrap().display().to_string())
        .chain(
            before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| format!("removed {}", p.display())),
        )
        .collect();
    assert!(changed.is_empty(), "{args:?} wrote {changed:?}: {err}");
}

/// A finished run of ws1, to damage.
fn finished() -> Study {
    let s = study();
    let out = s.run("ws1").arg("--quiet").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Jobs to do again, so a rerun would write.
    let jobs: Vec<String> = (0..9).map(|i| format!("echo {i}")).collect();
    s.jobs(&jobs);
    s
}

#[test]
fn a_log_that_is_not_gzip_is_refused_before_anything_is_written() {
    let s = finished();
    s.write("out/ws1/log.gz", "plain text, not gzip\n");
    refused_writing_nothing(&s, &["--keep-done"], &["log.gz", "gzip"]);
}

#[test]
fn a_foreign_results_file_is_refused_before_anything_is_written() {
    let s = study();
    s.write("out/ws1/results.csv", "a,b,c\n1,2,3\n");
    refused_writing_nothing(&s, &[], &["results.csv", "not a jobsplit results file"]);
}

#[test]
fn a_corrupt_manifest_is_refused_before_anything_is_written() {
    let s = finished();
    std::fs::remove_file(s.join("out/ws1/.lock")).unwrap();
    s.write(
        "out/ws1/manifest.json",
        "{\"algorithm\": \"split-v1\", \"work_di",
    );
    refused_writing_nothing(&s, &[], &["manifest.json"]);
}

#[test]
fn a_file_where_the_run_needs_a_directory_is_refused_before_anything_is_written() {
    for sub in ["tmp", "jobs"] {
        let s = study();
        s.write(format!("out/ws1/{sub}"), "a file\n");
        refused_writing_nothing(&s, &[], &[sub, "not a directory"]);
    }
    let s = study();
    s.write("out/ws1/logs", "a file\n");
    refused_writing_nothing(&s, &["--job-logs"], &["logs", "not a directory"]);
}

#[test]
fn a_machine_name_too_long_for_a_directory_is_refused_before_anything_is_written() {
    let name = "m".repeat(300);
    let s = study();
    s.write("machines.json", format!(r#"{{"{name}": [1, 1]}}"#));
    let before = files_under(s.path());
    let out = s
        .cmd()
        .args(["run", "--machine", &name, "--yes"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("255"), "{err}");
    assert_eq!(files_under(s.path()), before, "{err}");
}

/// Runs `script` (a shell command that ends by exec'ing jobsplit) inside a fresh cgroup whose
/// `pids.max` is `max`; `None` when this machine has no writable pids controller.
fn in_pids_cgroup(s: &Study, max: u32, args: &[&str]) -> Option<std::process::Output> {
    let group = Path::new("/sys/fs/cgroup/pids").join(format!(
        "jobsplit-test-{}",
        std::process::id() ^ (s.path().as_os_str().len() as u32) << 20
    ));
    std::fs::create_dir(&group).ok()?;
    let cleanup = scopeguard(&group);
    std::fs::write(group.join("pids.max"), max.to_string()).ok()?;
    let cmd = s.std_cmd();
    let program = cmd.get_program().to_owned();
    let quoted: Vec<String> = std::iter::once(program.to_string_lossy().into_owned())
        .chain(args.iter().map(|a| (*a).to_owned()))
        .map(|a| crate::harness::sh_quote(&a))
        .collect();
    let script = format!(
        "echo $$ > {} && exec {}",
        crate::harness::sh_quote(&group.join("cgroup.procs").display().to_string()),
        quoted.join(" ")
    );
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .current_dir(s.path())
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .output()
        .ok();
    drop(cleanup);
    out
}

/// Removes a cgroup when dropped (after its processes are gone).
struct CgroupGuard(std::path::PathBuf);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

fn scopeguard(group: &Path) -> CgroupGuard {
    CgroupGuard(group.to_path_buf())
}

#[test]
fn more_threads_than_the_process_limit_is_refused_before_anything_is_written() {
    // More jobs than threads, so the run wants all 64.
    let jobs: Vec<String> = (0..100).map(|i| format!("echo {i}")).collect();
    let s = Study::with(&jobs, ONE, "");
    let before = files_under(s.path());
    let args = ["run", "--machine", "ws1", "--yes", "--threads", "64"];
    let Some(out) = in_pids_cgroup(&s, 24, &args) else {
        eprintln!("note: no writable pids cgroup here; skipping the thread-limit test");
        return;
    };
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("threads"), "{err}");
    assert_eq!(files_under(s.path()), before, "{err}");
}

/// `--threads` far above the share's size starts no more threads than there are jobs: 4096
/// threads for 2 jobs used to spin for minutes.
#[test]
fn many_more_threads_than_jobs_cost_nothing() {
    let s = Study::with(&["echo a".to_owned(), "echo b".to_owned()], ONE, "");
    let start = std::time::Instant::now();
    let out = s
        .run("ws1")
        .args(["--threads", "4096", "--quiet"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(s.results("ws1").rows.len(), 2);
}
